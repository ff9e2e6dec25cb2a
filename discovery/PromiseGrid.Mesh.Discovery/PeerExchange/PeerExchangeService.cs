using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.PeerExchange;

/// <summary>
/// Peer-exchange policy (docs/peer-exchange.md §7): asks every newly connected peer for its peers
/// once, then again every <see cref="PeerExchangeOptions.Interval"/> while it stays connected (unless
/// it does not speak the protocol: then not until it reconnects), with
/// at most <see cref="PeerExchangeOptions.MaxConcurrentRequests"/> exchanges in progress, and feeds
/// what it learns into discovery with source <see cref="DiscoverySource"/>.
/// <para>
/// The node reports connections with <see cref="NotifyConnected"/> (first connection to a peer) and
/// <see cref="NotifyDisconnected"/> (last connection gone). <see cref="Start"/> starts the K worker
/// loops; <see cref="DisposeAsync"/> cancels them, stops the timers and awaits the loops.
/// </para>
/// </summary>
public sealed class PeerExchangeService : IAsyncDisposable
{
    /// <summary>The discovery source name given to peers learned by exchange.</summary>
    public const string DiscoverySource = "exchange";

    private readonly PeerId _localPeer;
    private readonly IPexStreamOpener _opener;
    private readonly IDiscoveredPeerSink _sink;
    private readonly PeerExchangeOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<PeerId> _queue;
    private readonly Dictionary<PeerId, PeerEntry> _peers = [];
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _workers = Task.CompletedTask;
    private bool _started;
    private bool _disposed;

    /// <exception cref="ArgumentOutOfRangeException">Invalid options.</exception>
    public PeerExchangeService(PeerId localPeer, IPexStreamOpener opener, IDiscoveredPeerSink sink, PeerExchangeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(localPeer);
        ArgumentNullException.ThrowIfNull(opener);
        ArgumentNullException.ThrowIfNull(sink);
        options ??= PeerExchangeOptions.Default;
        options.Validate();
        _localPeer = localPeer;
        _opener = opener;
        _sink = sink;
        _options = options;
        _logger = options.LoggerFactory.CreateLogger<PeerExchangeService>();
        _queue = Channel.CreateBounded<PeerId>(new BoundedChannelOptions(options.MaxQueuedPeers)
        {
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full; the caller reschedules
            SingleWriter = false,
            SingleReader = false,
        });
    }

    /// <summary>Raised after each outbound exchange with the peer and the failure, if any (tests and diagnostics).</summary>
    internal event Action<PeerId, Exception?>? ExchangeCompleted;

    /// <summary>Starts the worker loops. Later calls do nothing.</summary>
    /// <exception cref="ObjectDisposedException">The service was disposed.</exception>
    public void Start()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_started)
            {
                return;
            }

            _started = true;
            var token = _stop.Token;
            _workers = Task.WhenAll(Enumerable.Range(0, _options.MaxConcurrentRequests)
                .Select(_ => Task.Run(() => WorkAsync(token), CancellationToken.None)));
        }
    }

    /// <summary>
    /// Reports a connection to <paramref name="peer"/>, seen at <paramref name="remoteAddress"/>. The
    /// first report for a peer queues an exchange; further reports only update the address.
    /// </summary>
    public void NotifyConnected(PeerId peer, Multiaddr? remoteAddress)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (peer == _localPeer)
        {
            return;
        }

        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            if (_peers.TryGetValue(peer, out var existing))
            {
                existing.RemoteAddress = remoteAddress;
                return;
            }

            var entry = new PeerEntry(remoteAddress);
            _peers.Add(peer, entry);
            EnqueueLocked(peer, entry);
        }
    }

    /// <summary>Reports that the last connection to <paramref name="peer"/> closed: no further exchanges with it.</summary>
    public void NotifyDisconnected(PeerId peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        lock (_lock)
        {
            if (_peers.Remove(peer, out var entry))
            {
                entry.Timer?.Dispose();
            }
        }
    }

    /// <summary>Stops the timers, cancels in-flight exchanges and awaits the workers. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var entry in _peers.Values)
            {
                entry.Timer?.Dispose();
            }

            _peers.Clear();
            _queue.Writer.TryComplete();
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _workers.ConfigureAwait(false);
        _stop.Dispose();
    }

    private void EnqueueLocked(PeerId peer, PeerEntry entry)
    {
        entry.Queued = true;
        if (!_queue.Writer.TryWrite(peer))
        {
            entry.Queued = false;
            Log.QueueFull(_logger, peer);
            ScheduleLocked(peer, entry);
        }
    }

    private void ScheduleLocked(PeerId peer, PeerEntry entry)
    {
        entry.Timer?.Dispose();
        entry.Timer = _options.TimeProvider.CreateTimer(OnDue, peer, _options.Interval, Timeout.InfiniteTimeSpan);
    }

    private void OnDue(object? state)
    {
        var peer = (PeerId)state!;
        lock (_lock)
        {
            if (!_disposed && _peers.TryGetValue(peer, out var entry) && !entry.Queued)
            {
                EnqueueLocked(peer, entry);
            }
        }
    }

    private async Task WorkAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (await _queue.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!_queue.Reader.TryRead(out var peer))
                {
                    continue;
                }

                PeerEntry? entry;
                lock (_lock)
                {
                    if (!_peers.TryGetValue(peer, out entry))
                    {
                        continue;
                    }

                    entry.Queued = false;
                }

                var failure = await ExchangeAsync(peer, entry.RemoteAddress, cancellationToken).ConfigureAwait(false);
                lock (_lock)
                {
                    // A peer that does not speak the protocol (a plain libp2p peer) is not asked
                    // again until it reconnects.
                    if (!_disposed && _peers.TryGetValue(peer, out var current) && ReferenceEquals(current, entry) && !entry.Queued
                        && failure is not ProtocolNegotiationException)
                    {
                        ScheduleLocked(peer, entry);
                    }
                }

                ExchangeCompleted?.Invoke(peer, failure);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One exchange; returns the failure (already logged) or <c>null</c>.</summary>
    private async ValueTask<Exception?> ExchangeAsync(PeerId peer, Multiaddr? remoteAddress, CancellationToken cancellationToken)
    {
        using var timeout = _options.RequestTimeout == Timeout.InfiniteTimeSpan
            ? new CancellationTokenSource()
            : new CancellationTokenSource(_options.RequestTimeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        IMuxedStream? stream = null;
        try
        {
            stream = await _opener.OpenStreamAsync(peer, linked.Token).ConfigureAwait(false);
            var peers = await PeerExchangeClient.RequestPeersAsync(stream, linked.Token).ConfigureAwait(false);
            var usable = 0;
            foreach (var learned in peers)
            {
                if (learned.PeerId == _localPeer || learned.PeerId == peer)
                {
                    continue;
                }

                var addresses = PexResponseBuilder.FilterAddresses(learned.Addresses, remoteAddress);
                if (addresses.Count == 0)
                {
                    continue;
                }

                _sink.AddPeer(learned.PeerId, addresses, DiscoverySource);
                usable++;
            }

            Log.Received(_logger, peer, peers.Count, usable);
            PexMetrics.Request("success");
            PexMetrics.PeersLearned.Add(usable);
            return null;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            var failure = e is OperationCanceledException && timeout.IsCancellationRequested
                ? new MeshTimeoutException($"peer exchange with {peer} not done within {_options.RequestTimeout}", e)
                : e;
            if (failure is ProtocolNegotiationException)
            {
                Log.Unsupported(_logger, peer);
                PexMetrics.Request("unsupported");
            }
            else
            {
                Log.RequestFailed(_logger, peer, failure);
                PexMetrics.Request("failure");
            }

            stream?.Reset();
            return failure;
        }
        finally
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private sealed class PeerEntry(Multiaddr? remoteAddress)
    {
        public Multiaddr? RemoteAddress { get; set; } = remoteAddress;

        public bool Queued { get; set; }

        public ITimer? Timer { get; set; }
    }
}
