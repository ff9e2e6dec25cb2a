using System.Collections.Concurrent;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Discovery.Bootstrap;
using PromiseGrid.Mesh.Discovery.PeerExchange;
using PromiseGrid.Mesh.Host;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Node.Mesh;

/// <summary>Adapts <see cref="Libp2pHost.DialAsync"/> to the bootstrap dialer (an open connection is reused).</summary>
public sealed class HostPeerDialer(Libp2pHost host) : IPeerDialer
{
    public async ValueTask DialAsync(Multiaddr address, CancellationToken cancellationToken = default) =>
        await host.DialAsync(address, cancellationToken).ConfigureAwait(false);
}

/// <summary>Opens <see cref="PeerExchangeProtocol.ProtocolId"/> streams over the host's open connections.</summary>
public sealed class HostPexStreamOpener(Libp2pHost host) : IPexStreamOpener
{
    public ValueTask<IMuxedStream> OpenStreamAsync(PeerId peer, CancellationToken cancellationToken = default) =>
        host.NewStreamAsync(peer, PeerExchangeProtocol.ProtocolId, cancellationToken);
}

/// <summary>
/// Offers the host's connected peers for exchange, each with the addresses it announced in identify
/// (or, before identify, the address this node dialled it at; an inbound peer without identify is
/// left out), followed by <paramref name="recent"/>
/// (for example the peer store's recently seen peers).
/// </summary>
public sealed class HostPexPeerSource(Libp2pHost host, Func<IReadOnlyList<PexPeerInfo>>? recent = null) : IPexPeerSource
{
    public IReadOnlyList<PexPeerInfo> GetPeers()
    {
        var result = new List<PexPeerInfo>();
        var seen = new HashSet<PeerId> { host.PeerId };
        foreach (var connection in host.Connections)
        {
            var announced = connection.RemoteInfo?.ListenAddrs;
            IReadOnlyList<Multiaddr>? addresses = announced is { Count: > 0 } ? announced
                : connection.Direction == ConnectionDirection.Outbound ? [connection.RemoteAddress]
                : null; // an inbound connection's source port is not a listen address
            if (addresses is not null && seen.Add(connection.RemotePeer))
            {
                result.Add(new PexPeerInfo(connection.RemotePeer, addresses));
            }
        }

        foreach (var peer in recent?.Invoke() ?? [])
        {
            if (seen.Add(peer.PeerId))
            {
                result.Add(peer);
            }
        }

        return result;
    }
}

/// <summary>
/// The host's connections as the connection manager sees them. The host does not count streams or
/// activity yet, so every connection reports 0 streams and its first-seen time as last activity:
/// trimming then goes oldest first among unprotected connections past their grace period.
/// </summary>
public sealed class HostConnectionView(Libp2pHost host, TimeProvider? timeProvider = null) : IConnectionView
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly ConcurrentDictionary<long, DateTimeOffset> _firstSeen = new();

    /// <summary>Records when a connection opened (call on <c>PeerConnected</c>); otherwise it dates from the first snapshot that sees it.</summary>
    public void OnConnected(PeerConnection connection) => _firstSeen.TryAdd(connection.Id, _time.GetUtcNow());

    public IReadOnlyList<ConnectionSnapshot> GetConnections()
    {
        var now = _time.GetUtcNow();
        var connections = host.Connections;
        var open = new HashSet<long>();
        var result = new List<ConnectionSnapshot>(connections.Count);
        foreach (var c in connections)
        {
            open.Add(c.Id);
            var opened = _firstSeen.GetOrAdd(c.Id, now);
            result.Add(new ConnectionSnapshot(c.Id, c.RemotePeer, opened, opened, 0));
        }

        foreach (var id in _firstSeen.Keys)
        {
            if (!open.Contains(id))
            {
                _firstSeen.TryRemove(id, out _);
            }
        }

        return result;
    }

    public async ValueTask CloseAsync(ConnectionSnapshot connection, CancellationToken cancellationToken = default)
    {
        foreach (var c in host.GetConnections(connection.Peer))
        {
            if (c.Id == connection.ConnectionId)
            {
                await c.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}

/// <summary>Registration of the peer-exchange handler on a host.</summary>
public static class PeerExchangeHostExtensions
{
    /// <summary>Serves <see cref="PeerExchangeProtocol.ProtocolId"/> on <paramref name="host"/> with <paramref name="handler"/>.</summary>
    public static void HandlePeerExchange(this Libp2pHost host, PeerExchangeHandler handler)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(handler);
        host.Handle(PeerExchangeProtocol.ProtocolId, (stream, connection, cancellationToken) =>
            handler.HandleAsync(connection.RemotePeer, connection.RemoteAddress, stream, cancellationToken).AsTask());
    }
}
