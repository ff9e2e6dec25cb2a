using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Discovery;
using PromiseGrid.Mesh.Host;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Ports;
using PromiseGrid.Mesh.Ports.Wire;

namespace PromiseGrid.Mesh.Node.Ports;

/// <summary>
/// Ports across the mesh (docs/ports-protocol.md): carries messages for ports whose home is
/// another node over <c>/promisegrid/ports/1.0.0</c>, with acknowledgements, retries and
/// exactly-once enqueueing, and keeps the rights other nodes hold to this node's ports.
/// A task uses a remote port exactly like a local one once it holds a send right to it; the
/// first right comes from <see cref="LookupAsync(PortTask, PortRef, TimeSpan?, CancellationToken)"/>
/// of a published port, or inside a message.
/// </summary>
public sealed partial class RemotePorts : IAsyncDisposable
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan DefaultLookupTimeout = TimeSpan.FromSeconds(30);

    private readonly PortKernel _kernel;
    private readonly Libp2pHost _host;
    private readonly PeerStore _peerStore;
    private readonly ILogger _logger;
    private readonly Lock _linksGate = new();
    private readonly Dictionary<PeerId, OutboundLink> _links = [];
    private readonly Dictionary<PeerId, InboundLink> _inbound = [];
    private readonly Dictionary<PeerId, ulong> _epochs = [];
    private readonly Dictionary<PeerId, List<Multiaddr>> _preferred = [];
    private readonly Dictionary<PeerId, long> _holderAbsentSince = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly RequestPool _requests = new();
    private readonly ParkedDeliverPool _parked = new();
    private OutboundLink? _lastLink;
    private ITimer? _sweep;
    private long _lastLeaseCheck;
    private long _sent;
    private long _acked;
    private long _nacked;
    private long _resent;
    private long _reconnects;
    private int _disposed;

    internal RemotePorts(PortKernel kernel, Libp2pHost host, PeerStore peerStore, RemotePortOptions options, TimeProvider time, ILoggerFactory loggerFactory)
    {
        _kernel = kernel;
        _host = host;
        _peerStore = peerStore;
        Options = options.Validate();
        Time = time;
        LoggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<RemotePorts>();
        Span<byte> epoch = stackalloc byte[8];
        RandomNumberGenerator.Fill(epoch);
        Epoch = BitConverter.ToUInt64(epoch) | 1;
    }

    /// <summary>This run of the node: a new random value at every start, so peers can tell a restart.</summary>
    public ulong Epoch { get; }

    internal RemotePortOptions Options { get; }

    internal TimeProvider Time { get; }

    internal ILoggerFactory LoggerFactory { get; }

    internal PortKernel Kernel => _kernel;

    /// <summary>Reused requests of the links (the steady path of a deliver allocates none).</summary>
    internal RequestPool Requests => _requests;

    /// <summary>Reused waits of delivers to full ports (the serving side).</summary>
    internal ParkedDeliverPool ParkedDelivers => _parked;

    internal CancellationToken Stopping => _stopping.Token;

    /// <summary>Serves the protocol and attaches to the kernel as its router.</summary>
    internal void Start()
    {
        _host.Handle(PortsFrameCodec.ProtocolId, HandleInboundAsync);
        _kernel.Router = this;
        _sweep = Time.CreateTimer(static s => ((RemotePorts)s!).OnSweep(), this, SweepInterval, SweepInterval);
    }

    /// <summary>
    /// Publishes the port whose receive right <paramref name="task"/> holds under
    /// <paramref name="receiveRight"/>: any peer may then obtain a send right to it with
    /// <see cref="LookupAsync(PortTask, PortRef, TimeSpan?, CancellationToken)"/> (Mach's
    /// <c>netname_check_in</c>). Unpublished ports are reachable only by peers that were given a right.
    /// </summary>
    /// <exception cref="InvalidRightException">The name is not a receive right.</exception>
    /// <exception cref="InvalidOperationException">Another port is published under that name.</exception>
    public void Publish(PortTask task, PortName receiveRight, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentException.ThrowIfNullOrEmpty(serviceName);
        if (System.Text.Encoding.UTF8.GetByteCount(serviceName) > PortsFrameCodec.MaxNameLength)
        {
            throw new ArgumentException($"a published name is at most {PortsFrameCodec.MaxNameLength} bytes", nameof(serviceName));
        }

        using (_kernel.Sync.EnterScope())
        {
            _kernel.PublishLocked(task, receiveRight, serviceName);
        }
    }

    /// <summary>Withdraws a published name; rights already handed out stay valid.</summary>
    public bool Unpublish(string serviceName)
    {
        using (_kernel.Sync.EnterScope())
        {
            return _kernel.UnpublishLocked(serviceName);
        }
    }

    /// <summary>
    /// A send right in <paramref name="task"/>'s space to the published port <paramref name="port"/>,
    /// asked of its home node (dialled if need be, at the addresses the peer store knows).
    /// </summary>
    /// <exception cref="NoRightException">The port exists but is not published.</exception>
    /// <exception cref="PortDeadException">No such port at its home.</exception>
    /// <exception cref="NodeUnreachableException">The home node could not be reached in time (default 30 s).</exception>
    public ValueTask<PortName> LookupAsync(PortTask task, PortRef port, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(port);
        return LookupCoreAsync(task, port.Home, port.Id, null, timeout, cancellationToken);
    }

    /// <summary>A send right to the port published as <paramref name="serviceName"/> on <paramref name="home"/>.</summary>
    /// <exception cref="PortDeadException">Nothing is published under that name.</exception>
    /// <exception cref="NodeUnreachableException">The home node could not be reached in time (default 30 s).</exception>
    public ValueTask<PortName> LookupAsync(PortTask task, PeerId home, string serviceName, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(home);
        ArgumentException.ThrowIfNullOrEmpty(serviceName);
        return LookupCoreAsync(task, home, null, serviceName, timeout, cancellationToken);
    }

    private async ValueTask<PortName> LookupCoreAsync(PortTask task, PeerId home, PortId? id, string? service, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        PortId granted;
        if (home == _kernel.LocalPeer)
        {
            using (_kernel.Sync.EnterScope())
            {
                // A lookup of our own port: a plain send right, no holder entry.
                return _kernel.InsertGrantedSendRightLocked(task, _kernel.FindPublishedLocked(id, service));
            }
        }

        var request = new PendingRequest(PortsFrameType.Lookup);
        var link = GetLink(home);
        var result = request.AsValueTask();
        link.Submit(request, PortsFrameCodec.Encode(new LookupFrame(0, id, service)), timeout ?? DefaultLookupTimeout, cancellationToken);
        granted = await result.ConfigureAwait(false);
        using (_kernel.Sync.EnterScope())
        {
            try
            {
                return _kernel.InsertGrantedSendRightLocked(task, new PortRef(home, granted));
            }
            catch (ObjectDisposedException)
            {
                // The task died meanwhile: give the right back.
                ReleaseRemote(new PortRef(home, granted), 1, 0);
                throw;
            }
        }
    }

    /// <summary>The global reference of the port <paramref name="name"/> denotes (to print or hand to an operator; it is not a capability).</summary>
    public PortRef GetPortRef(PortTask task, PortName name)
    {
        ArgumentNullException.ThrowIfNull(task);
        return _kernel.GetPortRef(task, name);
    }

    /// <summary>
    /// Addresses to try first, in this order, when (re)connecting to the peer the address names
    /// (<c>/p2p/</c> required), before those the peer store knows.
    /// </summary>
    public void PreferAddress(Multiaddr address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var peer = address.PeerId ?? throw new ArgumentException("the address must end in /p2p/<peer id>", nameof(address));
        lock (_linksGate)
        {
            if (!_preferred.TryGetValue(peer, out var list))
            {
                _preferred.Add(peer, list = []);
            }

            if (!list.Contains(address))
            {
                list.Add(address);
            }
        }
    }

    /// <summary>Counters since start: requests sent, acknowledged, refused, resent after a reconnect, and reconnects.</summary>
    public RemotePortCounters Counters => new(
        Interlocked.Read(ref _sent), Interlocked.Read(ref _acked), Interlocked.Read(ref _nacked), Interlocked.Read(ref _resent), Interlocked.Read(ref _reconnects));

    internal void CountSent() => Interlocked.Increment(ref _sent);

    internal void CountResent() => Interlocked.Increment(ref _resent);

    internal void CountReconnect() => Interlocked.Increment(ref _reconnects);

    internal OutboundLink GetLink(PeerId peer)
    {
        // Most sends go to the node the previous one went to: no lock for those.
        if (Volatile.Read(ref _lastLink) is { } last && last.Peer == peer)
        {
            return last;
        }

        lock (_linksGate)
        {
            if (!_links.TryGetValue(peer, out var link))
            {
                _links.Add(peer, link = new OutboundLink(this, peer));
            }

            Volatile.Write(ref _lastLink, link);
            return link;
        }
    }

    /// <summary>An open connection to <paramref name="peer"/> (dialled at the preferred, then the stored addresses) and a new ports stream on it.</summary>
    internal async Task<IMuxedStream> OpenStreamAsync(PeerId peer, CancellationToken cancellationToken)
    {
        var connection = _host.GetConnections(peer).FirstOrDefault(c => !c.IsClosed);
        if (connection is null)
        {
            List<Multiaddr> candidates;
            lock (_linksGate)
            {
                candidates = _preferred.TryGetValue(peer, out var preferred) ? [.. preferred] : [];
            }

            if (_peerStore.TryGet(peer, out var record))
            {
                candidates.AddRange(record.Addresses.OrderByDescending(a => a.LastSeen).Select(a => a.Address.WithPeerId(peer)));
            }

            Exception? last = null;
            foreach (var address in candidates.Distinct())
            {
                try
                {
                    connection = await _host.DialAsync(address, cancellationToken).ConfigureAwait(false);
                    break;
                }
                catch (MeshException e)
                {
                    last = e;
                }
            }

            if (connection is null)
            {
                throw last ?? new PeerUnreachableException($"no known address for {peer}");
            }
        }

        return await connection.NewStreamAsync(PortsFrameCodec.ProtocolId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Records the epoch a peer announced; a change means it restarted: its ports are dead and its rights to ours gone.</summary>
    internal void ObserveEpoch(PeerId peer, ulong epoch)
    {
        lock (_linksGate)
        {
            if (_epochs.TryGetValue(peer, out var known) && known == epoch)
            {
                return;
            }

            var restarted = _epochs.ContainsKey(peer);
            _epochs[peer] = epoch;
            if (!restarted)
            {
                return;
            }
        }

        PeerRestarted(peer);
    }

    /// <summary>The peer came back as a new run: ports homed there are dead, rights it held are released.</summary>
    internal void PeerRestarted(PeerId peer)
    {
        Log.PeerRestarted(_logger, peer.ToString());
        using (_kernel.Sync.EnterScope())
        {
            _kernel.MarkHomeDeadLocked(peer);
            _kernel.ReleaseHoldingsLocked(peer);
        }
    }

    private void OnSweep()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        var now = Time.GetTimestamp();
        OutboundLink[] links;
        lock (_linksGate)
        {
            links = [.. _links.Values];
        }

        foreach (var link in links)
        {
            link.Sweep(now);
        }

        if (Time.GetElapsedTime(_lastLeaseCheck, now) >= TimeSpan.FromSeconds(1))
        {
            _lastLeaseCheck = now;
            CheckHolderLeases(now);
        }
    }

    /// <summary>A holder node disconnected for longer than the lease counts as gone: its rights are released.</summary>
    private void CheckHolderLeases(long now)
    {
        IReadOnlyList<PeerId> holders;
        using (_kernel.Sync.EnterScope())
        {
            holders = _kernel.HolderPeersLocked();
        }

        List<PeerId>? expired = null;
        lock (_linksGate)
        {
            foreach (var peer in _holderAbsentSince.Keys.Where(p => !holders.Contains(p)).ToList())
            {
                _holderAbsentSince.Remove(peer);
            }

            foreach (var peer in holders)
            {
                if (_host.GetConnections(peer).Any(c => !c.IsClosed))
                {
                    _holderAbsentSince.Remove(peer);
                }
                else if (!_holderAbsentSince.TryGetValue(peer, out var since))
                {
                    _holderAbsentSince[peer] = now;
                }
                else if (Time.GetElapsedTime(since, now) >= Options.HolderLease)
                {
                    _holderAbsentSince.Remove(peer);
                    (expired ??= []).Add(peer);
                }
            }
        }

        foreach (var peer in expired ?? [])
        {
            int ports;
            using (_kernel.Sync.EnterScope())
            {
                ports = _kernel.ReleaseHoldingsLocked(peer);
            }

            Log.LeaseExpired(_logger, peer.ToString(), ports);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _host.RemoveHandler(PortsFrameCodec.ProtocolId);
        if (_sweep is not null)
        {
            await _sweep.DisposeAsync().ConfigureAwait(false);
        }

        using (_kernel.Sync.EnterScope())
        {
            if (_kernel.Router == this)
            {
                _kernel.Router = null;
            }
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        OutboundLink[] links;
        lock (_linksGate)
        {
            links = [.. _links.Values];
            _links.Clear();
        }

        foreach (var link in links)
        {
            await link.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4210, EventName = "PortsPeerRestarted", Level = LogLevel.Information, Message = "{PeerId} restarted: its ports are dead and the rights it held are released")]
        public static partial void PeerRestarted(ILogger logger, string peerId);

        [LoggerMessage(EventId = 4211, EventName = "PortsHolderLeaseExpired", Level = LogLevel.Information, Message = "{PeerId} stayed away longer than the holder lease: its rights to {Ports} port(s) are released")]
        public static partial void LeaseExpired(ILogger logger, string peerId, int ports);

        [LoggerMessage(EventId = 4212, EventName = "PortsRequestRefused", Level = LogLevel.Warning, Message = "refused a {FrameType} from {PeerId}: {Code} {Reason}")]
        public static partial void Refused(ILogger logger, string frameType, string peerId, string code, string reason);

        [LoggerMessage(EventId = 4213, EventName = "PortsSessionFailed", Level = LogLevel.Debug, Message = "ports session from {PeerId} ended: {Reason}")]
        public static partial void SessionFailed(ILogger logger, string peerId, string reason);

        [LoggerMessage(EventId = 4214, EventName = "PortsReceiveRightMoved", Level = LogLevel.Debug, Message = "the receive right of port {PortId} moves to {PeerId}; {Backlog} queued message(s) follow it")]
        public static partial void ReceiveRightMoved(ILogger logger, string portId, string peerId, int backlog);
    }
}

/// <summary>A snapshot of <see cref="RemotePorts"/> counters.</summary>
public readonly record struct RemotePortCounters(long Sent, long Acked, long Nacked, long Resent, long Reconnects);
