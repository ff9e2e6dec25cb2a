using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Discovery;
using PromiseGrid.Mesh.Discovery.Bootstrap;
using PromiseGrid.Mesh.Discovery.Mdns;
using PromiseGrid.Mesh.Discovery.PeerExchange;
using PromiseGrid.Mesh.Host;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Node.Mesh;
using PromiseGrid.Mesh.Node.Ports;

namespace PromiseGrid.Mesh.Node;

/// <summary>
/// A PromiseGrid node on the mesh: the libp2p host plus the policies that form the mesh — mDNS,
/// bootstrap peers (redialled with backoff), peer exchange, the persisted peer store and the
/// connection manager. Every peer learned from any source is recorded and dialled; every
/// connection event is forwarded on <see cref="Events"/>.
/// </summary>
public sealed partial class MeshNode : IAsyncDisposable
{
    private readonly MeshNodeOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<MeshNodeEvent> _events = Channel.CreateBounded<MeshNodeEvent>(
        new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly Channel<bool> _storeDirty = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Dictionary<PeerId, Task> _dials = [];
    private readonly Lock _dialsGate = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly HostConnectionView _view;
    private readonly MeshMaintenance _maintenance;
    private readonly BootstrapDialer? _bootstrap;
    private readonly PeerExchangeService? _exchange;
    private MdnsDiscovery? _mdns;
    private Task _hostPump = Task.CompletedTask;
    private Task _mdnsPump = Task.CompletedTask;
    private Task _storeWriter = Task.CompletedTask;
    private int _disposed;

    private MeshNode(MeshNodeOptions options, PeerStore store)
    {
        _options = options;
        _logger = options.LoggerFactory.CreateLogger<MeshNode>();
        PeerStore = store;
        Host = new Libp2pHost(new Libp2pHostOptions
        {
            Identity = options.Identity,
            ListenAddresses = options.ListenAddresses,
            EnablePing = true,
            EnablePerf = options.EnableDiagnostics,
            EnableEcho = options.EnableDiagnostics,
            TimeProvider = options.TimeProvider,
            LoggerFactory = options.LoggerFactory,
        });

        var manager = new ConnectionManager(options.ConnectionManager);
        _view = new HostConnectionView(Host, options.TimeProvider);
        var trimmer = new ConnectionTrimmer(manager, _view);
        if (options.BootstrapPeers.Count > 0)
        {
            _bootstrap = new BootstrapDialer(
                new BootstrapOptions { Peers = options.BootstrapPeers, TimeProvider = options.TimeProvider, LoggerFactory = options.LoggerFactory },
                new HostPeerDialer(Host));
        }

        if (options.EnablePeerExchange)
        {
            var pexOptions = new PeerExchangeOptions { TimeProvider = options.TimeProvider, LoggerFactory = options.LoggerFactory };
            _exchange = new PeerExchangeService(Host.PeerId, new HostPexStreamOpener(Host), new DiscoverySink(this), pexOptions);
            var source = new HostPexPeerSource(Host, () => PeerStorePexCandidates.Recent(PeerStore, options.TimeProvider, PeerStorePexCandidates.DefaultWindow));
            Host.HandlePeerExchange(new PeerExchangeHandler(source, pexOptions));
        }

        _maintenance = new MeshMaintenance(manager, _bootstrap, _exchange, trimmer);
        Kernel = new PortKernel(Host.PeerId, options.Kernel, options.TimeProvider);
        Ports = new RemotePorts(Kernel, Host, store, options.Ports, options.TimeProvider, options.LoggerFactory);
    }

    /// <summary>The libp2p host (listen addresses, streams, handlers).</summary>
    public Libp2pHost Host { get; }

    /// <summary>The node's port kernel: create tasks here (<see cref="PortKernel.CreateTask"/>).</summary>
    public PortKernel Kernel { get; }

    /// <summary>Ports across the mesh: publish and look up ports, counters.</summary>
    public RemotePorts Ports { get; }

    /// <summary>Known peers and their addresses, persisted in the data directory.</summary>
    public PeerStore PeerStore { get; }

    public PeerId PeerId => Host.PeerId;

    /// <summary>Discovery and connection events. Bounded: the oldest is dropped when nobody reads.</summary>
    public ChannelReader<MeshNodeEvent> Events => _events.Reader;

    /// <summary>Creates the node, listens, and starts discovery, bootstrap and peer exchange.</summary>
    public static async Task<MeshNode> StartAsync(MeshNodeOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var store = await PeerStore.LoadAsync(
            new PeerStoreOptions { DataDirectory = options.DataDirectory, LoggerFactory = options.LoggerFactory }, cancellationToken).ConfigureAwait(false);
        var node = new MeshNode(options, store);
        try
        {
            await node.StartCoreAsync(cancellationToken).ConfigureAwait(false);
            return node;
        }
        catch
        {
            await node.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        Ports.Start();
        await Host.StartAsync(cancellationToken).ConfigureAwait(false);
        _hostPump = PumpHostEventsAsync(_stopping.Token);
        _storeWriter = WriteStoreAsync(_stopping.Token);
        foreach (var peer in _options.BootstrapPeers)
        {
            Publish(new MeshPeerDiscovered(peer.PeerId!, [peer.WithoutPeerId()], "bootstrap"));
        }

        // Starts the bootstrap dialer, peer exchange and the trimmer.
        _maintenance.Start();

        if (_options.DialStoredPeers)
        {
            foreach (var record in PeerStore.GetAll())
            {
                if (record.PeerId != PeerId && record.Addresses.Count > 0)
                {
                    OnDiscovered(record.PeerId, record.Addresses.Select(a => a.Address).ToList(), "peerstore", record: false);
                }
            }
        }

        if (_options.EnableMdns)
        {
            _mdns = new MdnsDiscovery(PeerId, () => Host.ListenAddresses, new MdnsOptions
            {
                Interfaces = _options.MdnsInterfaces,
                TimeProvider = _options.TimeProvider,
                LoggerFactory = _options.LoggerFactory,
            });
            await _mdns.StartAsync(cancellationToken).ConfigureAwait(false);
            _mdnsPump = PumpMdnsAsync(_mdns, _stopping.Token);
        }
    }

    /// <summary>Records a peer learned from <paramref name="source"/>, announces it and dials it unless connected.</summary>
    internal void OnDiscovered(PeerId peer, IReadOnlyList<Multiaddr> addresses, string source, bool record = true)
    {
        if (peer == PeerId || addresses.Count == 0 || Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        if (record)
        {
            PeerStore.AddAddresses(peer, addresses, source);
            _storeDirty.Writer.TryWrite(true);
        }

        Publish(new MeshPeerDiscovered(peer, addresses, source));
        if (Host.GetConnections(peer).Count > 0)
        {
            return;
        }

        // Both ends of a LAN hear each other's mDNS answers at once; if both dialled, every pair
        // would hold two connections. The end with the smaller peer id dials at once, the other
        // waits a little and dials only if no connection has appeared by then.
        var delay = source == MdnsDiscovery.Source && PeerId.CompareTo(peer) > 0 ? _options.SimultaneousDialDelay : TimeSpan.Zero;
        lock (_dialsGate)
        {
            // One owned dial per peer (ConcurrentDictionary.GetOrAdd could start a second, untracked one).
            if (!_dials.ContainsKey(peer))
            {
                _dials[peer] = DialAnyAsync(peer, addresses, delay);
            }
        }
    }

    /// <summary>
    /// Dials <paramref name="peer"/> at each of its addresses in turn; if every address fails, tries
    /// again after a growing, jittered delay (<see cref="MeshNodeOptions.DialRetryDelays"/>), so a
    /// peer that was busy or not yet listening when it was discovered is still reached.
    /// </summary>
    private async Task DialAnyAsync(PeerId peer, IReadOnlyList<Multiaddr> addresses, TimeSpan initialDelay)
    {
        await Task.Yield();
        try
        {
            if (initialDelay > TimeSpan.Zero)
            {
                await Task.Delay(initialDelay, _options.TimeProvider, _stopping.Token).ConfigureAwait(false);
            }

            for (var attempt = 0; ; attempt++)
            {
                foreach (var address in addresses)
                {
                    if (_stopping.IsCancellationRequested || Host.GetConnections(peer).Count > 0)
                    {
                        return;
                    }

                    try
                    {
                        await Host.DialAsync(address.WithoutPeerId().WithPeerId(peer), _stopping.Token).ConfigureAwait(false);
                        return;
                    }
                    catch (Exception e) when (e is MeshException or OperationCanceledException or ObjectDisposedException)
                    {
                        Log.DialFailed(_logger, peer.ToString(), address.ToString(), e.Message);
                    }
                }

                if (attempt >= _options.DialRetryDelays.Count)
                {
                    return;
                }

                var delay = _options.DialRetryDelays[attempt] * (0.8 + (0.4 * Random.Shared.NextDouble()));
                await Task.Delay(delay, _options.TimeProvider, _stopping.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        finally
        {
            lock (_dialsGate)
            {
                _dials.Remove(peer);
            }
        }
    }

    private async Task PumpHostEventsAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var e in Host.Events.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                switch (e)
                {
                    case PeerConnected c:
                        _view.OnConnected(c.Connection);
                        _maintenance.OnConnectionOpened(c.Peer, c.Connection.RemoteAddress);
                        break;
                    case PeerDisconnected d:
                        _maintenance.OnConnectionClosed(d.Peer);
                        break;
                    case PeerIdentified i:
                        RecordIdentifiedAddresses(i.Peer, i.Info.ListenAddrs);

                        PeerStore.SetProtocols(i.Peer, i.Info.Protocols);
                        PeerStore.SetAgentVersion(i.Peer, i.Info.AgentVersion);
                        _storeDirty.Writer.TryWrite(true);
                        break;
                }

                Publish(new MeshHostEvent(e));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Stores the listen addresses a peer announced about itself. The remote writes them, so an
    /// address naming another peer (<c>/p2p/</c> of someone else) is dropped with a log line,
    /// never passed on where it would throw inside the event loop.
    /// </summary>
    private void RecordIdentifiedAddresses(PeerId peer, IReadOnlyList<Multiaddr> announced)
    {
        var own = announced.Where(a => BelongsTo(peer, a)).ToList();
        if (own.Count < announced.Count)
        {
            Log.ForeignAddressesDropped(_logger, peer.ToString(), announced.Count - own.Count);
        }

        if (own.Count > 0)
        {
            PeerStore.AddAddresses(peer, own, "identify");
        }
    }

    internal static bool BelongsTo(PeerId peer, Multiaddr address) =>
        address.Components.Count > 0 && (address.Components[^1].Protocol != MultiaddrProtocol.P2p || address.PeerId == peer);

    private async Task PumpMdnsAsync(MdnsDiscovery mdns, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var found in mdns.Discovered.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!found.IsGone)
                {
                    OnDiscovered(found.PeerId, found.Multiaddrs, MdnsDiscovery.Source);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Writes the peer store shortly after it changed (coalescing bursts), and once more at shutdown.</summary>
    private async Task WriteStoreAsync(CancellationToken cancellationToken)
    {
        if (PeerStore.FilePath is null)
        {
            return;
        }

        try
        {
            while (await _storeDirty.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                await Task.Delay(_options.PeerStoreSaveDelay, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
                _storeDirty.Reader.TryRead(out _);
                await SaveStoreAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task SaveStoreAsync(CancellationToken cancellationToken)
    {
        try
        {
            await PeerStore.SaveAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            Log.PeerStoreSaveFailed(_logger, e.Message);
        }
    }

    private void Publish(MeshNodeEvent e) => _events.Writer.TryWrite(e);

    /// <summary>Stops discovery and dialling, closes every connection, writes the peer store. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await Ports.DisposeAsync().ConfigureAwait(false);
        await Kernel.DisposeAsync().ConfigureAwait(false);
        if (_mdns is not null)
        {
            await _mdns.DisposeAsync().ConfigureAwait(false);
        }

        await _maintenance.DisposeAsync().ConfigureAwait(false);
        Task[] dials;
        lock (_dialsGate)
        {
            dials = [.. _dials.Values];
        }

        await Task.WhenAll(dials).ConfigureAwait(false);
        await Host.DisposeAsync().ConfigureAwait(false);
        await Task.WhenAll(_hostPump, _mdnsPump, _storeWriter).ConfigureAwait(false);
        if (PeerStore.FilePath is not null)
        {
            await SaveStoreAsync(CancellationToken.None).ConfigureAwait(false);
        }

        _events.Writer.TryComplete();
        _stopping.Dispose();
    }

    private sealed class DiscoverySink(MeshNode node) : IDiscoveredPeerSink
    {
        public void AddPeer(PeerId peer, IReadOnlyList<Multiaddr> addresses, string source) => node.OnDiscovered(peer, addresses, source);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4100, EventName = "MeshDialFailed", Level = LogLevel.Debug, Message = "dial of {PeerId} at {Address} failed: {Reason}")]
        public static partial void DialFailed(ILogger logger, string peerId, string address, string reason);

        [LoggerMessage(EventId = 4101, EventName = "PeerStoreSaveFailed", Level = LogLevel.Warning, Message = "could not write the peer store: {Reason}")]
        public static partial void PeerStoreSaveFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 4102, EventName = "ForeignAddressesDropped", Level = LogLevel.Warning, Message = "{PeerId} announced {Count} listen address(es) naming another peer; dropped")]
        public static partial void ForeignAddressesDropped(ILogger logger, string peerId, int count);
    }
}
