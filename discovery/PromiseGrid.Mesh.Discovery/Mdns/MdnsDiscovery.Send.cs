using System.Net;
using System.Net.Sockets;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Mdns;

public sealed partial class MdnsDiscovery
{
    /// <summary>Query schedule (burst then interval) and the expiry sweep, in one loop.</summary>
    private async Task TimerLoopAsync(CancellationToken cancellationToken)
    {
        var start = _time.GetUtcNow();
        var burst = _options.InitialQueryDelays.Order().ToArray();
        var next = 0;
        var nextQuery = burst.Length > 0 ? start + burst[0] : start;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var now = _time.GetUtcNow();
                if (now >= nextQuery)
                {
                    await QueryNowAsync(cancellationToken).ConfigureAwait(false);
                    next++;
                    nextQuery = next < burst.Length ? start + burst[next] : now + _options.QueryInterval;
                    continue;
                }

                SweepExpired(now);
                var wait = nextQuery - now;
                if (wait > ExpirySweepInterval)
                {
                    wait = ExpirySweepInterval;
                }

                await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // disposal
        }
    }

    /// <summary>
    /// Our response for <paramref name="iface"/>: multicast unless <paramref name="unicastTo"/> is
    /// set; multicast answers are rate-limited per interface unless <paramref name="force"/>.
    /// </summary>
    private async ValueTask SendResponseAsync(MdnsInterface iface, IPEndPoint? unicastTo, TimeSpan ttl, bool force, CancellationToken cancellationToken)
    {
        var transport = _transport;
        if (transport is null)
        {
            return;
        }

        if (unicastTo is null && !force)
        {
            var now = _time.GetUtcNow();
            lock (_gate)
            {
                if (_lastMulticastResponse.TryGetValue(iface.Index, out var last) && now - last < _options.MinResponseInterval)
                {
                    return;
                }

                _lastMulticastResponse[iface.Index] = now;
            }
        }

        byte[] packet;
        try
        {
            packet = MdnsCodec.EncodeResponse(_options.ServiceName, PeerName, AddressesFor(iface), ttl);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.SendFailed(_logger, iface.Name, "cannot read or encode our addresses: " + e.Message);
            return;
        }

        await SendSafelyAsync(transport, packet, iface, unicastTo, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Addresses to announce on <paramref name="iface"/>, each ending in <c>/p2p/&lt;our id&gt;</c>:
    /// loopback addresses only on a loopback interface; addresses carrying another peer id skipped.
    /// </summary>
    internal IReadOnlyList<Multiaddr> AddressesFor(MdnsInterface iface)
    {
        var result = new List<Multiaddr>();
        foreach (var address in _addresses())
        {
            if (address.Components.Count == 0 || (!iface.IsLoopback && IsLoopback(address)))
            {
                continue;
            }

            var last = address.Components[^1];
            if (last.Protocol == MultiaddrProtocol.P2p)
            {
                if (address.PeerId == LocalPeerId)
                {
                    result.Add(address);
                }

                continue;
            }

            result.Add(address.WithPeerId(LocalPeerId));
        }

        return result;
    }

    private static bool IsLoopback(Multiaddr address)
    {
        var first = address.Components[0];
        if (first.Protocol == MultiaddrProtocol.Ip4 || first.Protocol == MultiaddrProtocol.Ip6)
        {
            return IPAddress.IsLoopback(new IPAddress(first.Value.Span));
        }

        return first.Protocol == MultiaddrProtocol.Dns || first.Protocol == MultiaddrProtocol.Dns4 || first.Protocol == MultiaddrProtocol.Dns6
            ? string.Equals(first.ValueText, "localhost", StringComparison.OrdinalIgnoreCase)
            : false;
    }

    private async ValueTask SendSafelyAsync(IMdnsTransport transport, byte[] packet, MdnsInterface iface, IPEndPoint? unicastTo, CancellationToken cancellationToken)
    {
        try
        {
            await transport.SendAsync(packet, iface, unicastTo, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            Log.SendFailed(_logger, iface.Name, e.Message);
        }
        catch (ObjectDisposedException e)
        {
            Log.SendFailed(_logger, iface.Name, e.Message);
        }
    }
}
