using System.Threading.Channels;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Mdns;

public sealed partial class MdnsDiscovery
{
    private async Task ReceiveLoopAsync(IMdnsTransport transport, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            MdnsDatagram datagram;
            try
            {
                datagram = await transport.ReceiveAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ChannelClosedException)
            {
                return;
            }

            try
            {
                await HandleAsync(datagram, cancellationToken).ConfigureAwait(false);
            }
            catch (MeshException e)
            {
                Log.PacketDropped(_logger, datagram.Data.Length, datagram.Remote, datagram.Interface.Name, e.Message);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Handles one datagram: answers queries for our service or instance, learns peers from responses.</summary>
    internal async ValueTask HandleAsync(MdnsDatagram datagram, CancellationToken cancellationToken)
    {
        var message = MdnsCodec.Decode(datagram.Data.Span);
        if (message.IsQuery)
        {
            var service = MdnsCodec.IsServiceQuery(message, _options.ServiceName, out var unicast);
            if (service || MdnsCodec.IsInstanceQuery(message, InstanceName))
            {
                await SendResponseAsync(datagram.Interface, unicast ? datagram.Remote : null, _options.RecordTtl, force: false, cancellationToken)
                    .ConfigureAwait(false);
            }

            if (MdnsCodec.IsServiceEnumerationQuery(message, out var unicastEnumeration))
            {
                await SendSafelyAsync(_transport!, MdnsCodec.EncodeServiceEnumeration(_options.ServiceName, _options.RecordTtl),
                    datagram.Interface, unicastEnumeration ? datagram.Remote : null, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        var response = MdnsCodec.ReadResponse(message, _options.ServiceName);
        foreach (var reason in response.Rejected)
        {
            Log.RecordRejected(_logger, datagram.Remote, reason);
        }

        foreach (var peer in response.Peers)
        {
            if (peer.PeerId == LocalPeerId)
            {
                continue; // our own answer, looped back
            }

            Learn(peer);
        }
    }

    private void Learn(MdnsPeerRecord record)
    {
        var now = _time.GetUtcNow();
        PeerDiscovered? evt = null;
        lock (_gate)
        {
            if (record.Ttl == TimeSpan.Zero)
            {
                if (_peers.Remove(record.PeerId))
                {
                    evt = new PeerDiscovered(record.PeerId, [], Source, TimeSpan.Zero);
                    Log.PeerGone(_logger, record.PeerId.ToString(), "goodbye");
                }
            }
            else
            {
                if (!_peers.TryGetValue(record.PeerId, out var addresses))
                {
                    if (_peers.Count >= _options.MaxPeers)
                    {
                        Log.PeerLimit(_logger, record.PeerId.ToString(), _options.MaxPeers);
                        return;
                    }

                    addresses = [];
                    _peers[record.PeerId] = addresses;
                }

                var changed = false;
                var expires = now + record.Ttl;
                foreach (var address in record.Addresses)
                {
                    changed |= !addresses.ContainsKey(address);
                    if (addresses.Count < MdnsCodec.MaxAddressesPerPeer || addresses.ContainsKey(address))
                    {
                        addresses[address] = expires;
                    }
                }

                if (changed)
                {
                    evt = new PeerDiscovered(record.PeerId, [.. addresses.Keys], Source, record.Ttl);
                    Log.PeerDiscovered(_logger, record.PeerId.ToString(), addresses.Count, record.Ttl);
                }
            }
        }

        if (evt is not null)
        {
            _events.Writer.TryWrite(evt);
        }
    }

    private void SweepExpired(DateTimeOffset now)
    {
        List<PeerDiscovered>? events = null;
        lock (_gate)
        {
            List<PeerId>? gone = null;
            foreach (var (peerId, addresses) in _peers)
            {
                List<Multiaddr>? expired = null;
                foreach (var (address, expires) in addresses)
                {
                    if (expires <= now)
                    {
                        (expired ??= []).Add(address);
                    }
                }

                if (expired is null)
                {
                    continue;
                }

                foreach (var address in expired)
                {
                    addresses.Remove(address);
                }

                if (addresses.Count == 0)
                {
                    (gone ??= []).Add(peerId);
                }
            }

            foreach (var peerId in gone ?? [])
            {
                _peers.Remove(peerId);
                Log.PeerGone(_logger, peerId.ToString(), "expired");
                (events ??= []).Add(new PeerDiscovered(peerId, [], Source, TimeSpan.Zero));
            }
        }

        foreach (var evt in events ?? [])
        {
            _events.Writer.TryWrite(evt);
        }
    }
}
