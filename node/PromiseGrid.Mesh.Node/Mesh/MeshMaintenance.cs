using PromiseGrid.Mesh.Discovery.Bootstrap;
using PromiseGrid.Mesh.Discovery.PeerExchange;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Node.Mesh;

/// <summary>
/// Glue between the host's connection events and the mesh policies: the node calls
/// <see cref="OnConnectionOpened"/> and <see cref="OnConnectionClosed"/> for every connection
/// (from <c>PeerConnected</c>/<c>PeerDisconnected</c>), and this type fans them out per peer:
/// <list type="bullet">
/// <item>first connection to a peer → peer exchange asks it (<see cref="PeerExchangeService.NotifyConnected"/>);</item>
/// <item>last connection to a peer gone → peer exchange forgets it, the bootstrap dialer redials it if it is a bootstrap peer;</item>
/// <item>every new connection → the trimmer checks the water marks.</item>
/// </list>
/// <see cref="Start"/> protects the bootstrap peers in the <see cref="ConnectionManager"/> and starts
/// the parts; <see cref="DisposeAsync"/> disposes them (each part is optional). Thread-safe.
/// </summary>
public sealed class MeshMaintenance : IAsyncDisposable
{
    private readonly ConnectionManager _manager;
    private readonly BootstrapDialer? _bootstrap;
    private readonly PeerExchangeService? _exchange;
    private readonly ConnectionTrimmer? _trimmer;
    private readonly Dictionary<PeerId, int> _connections = [];
    private readonly Lock _lock = new();
    private bool _disposed;

    public MeshMaintenance(ConnectionManager manager, BootstrapDialer? bootstrap, PeerExchangeService? exchange, ConnectionTrimmer? trimmer)
    {
        ArgumentNullException.ThrowIfNull(manager);
        _manager = manager;
        _bootstrap = bootstrap;
        _exchange = exchange;
        _trimmer = trimmer;
    }

    /// <summary>Open connections to <paramref name="peer"/> as reported.</summary>
    public int ConnectionCount(PeerId peer)
    {
        lock (_lock)
        {
            return _connections.GetValueOrDefault(peer);
        }
    }

    /// <summary>Protects the bootstrap peers and starts the bootstrap dialer, peer exchange and trimmer.</summary>
    public void Start()
    {
        if (_bootstrap is not null)
        {
            foreach (var peer in _bootstrap.PeerIds)
            {
                _manager.Protect(peer, ConnectionManager.BootstrapTag);
            }
        }

        _exchange?.Start();
        _trimmer?.Start();
        _bootstrap?.Start();
    }

    /// <summary>A connection to <paramref name="peer"/> opened; <paramref name="remoteAddress"/> is where the peer was seen.</summary>
    public void OnConnectionOpened(PeerId peer, Multiaddr? remoteAddress)
    {
        ArgumentNullException.ThrowIfNull(peer);
        bool first;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            var count = _connections.GetValueOrDefault(peer) + 1;
            _connections[peer] = count;
            first = count == 1;
        }

        if (first)
        {
            _exchange?.NotifyConnected(peer, remoteAddress);
        }

        _trimmer?.RequestTrim();
    }

    /// <summary>A connection to <paramref name="peer"/> closed. Unbalanced calls are ignored.</summary>
    public void OnConnectionClosed(PeerId peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        lock (_lock)
        {
            if (_disposed || !_connections.TryGetValue(peer, out var count))
            {
                return;
            }

            if (count > 1)
            {
                _connections[peer] = count - 1;
                return;
            }

            _connections.Remove(peer);
        }

        _exchange?.NotifyDisconnected(peer);
        _bootstrap?.NotifyDisconnected(peer);
    }

    /// <summary>Disposes the bootstrap dialer, peer exchange and trimmer. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _connections.Clear();
        }

        if (_bootstrap is not null)
        {
            await _bootstrap.DisposeAsync().ConfigureAwait(false);
        }

        if (_exchange is not null)
        {
            await _exchange.DisposeAsync().ConfigureAwait(false);
        }

        if (_trimmer is not null)
        {
            await _trimmer.DisposeAsync().ConfigureAwait(false);
        }
    }
}
