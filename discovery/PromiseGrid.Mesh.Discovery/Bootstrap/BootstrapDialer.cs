using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Bootstrap;

/// <summary>
/// Keeps the node connected to its bootstrap peers: one loop per peer dials it at start, retries
/// with capped, jittered exponential backoff while it is unreachable, and redials after the
/// connection drops (the node reports drops through <see cref="NotifyDisconnected"/>).
/// <para>
/// Lifecycle: construct (validates the options), <see cref="Start"/> once, and
/// <see cref="DisposeAsync"/> to cancel every loop and wait for it to end.
/// </para>
/// </summary>
public sealed class BootstrapDialer : IAsyncDisposable
{
    private readonly BootstrapOptions _options;
    private readonly IPeerDialer _dialer;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<PeerId, PeerLoop> _peers = [];
    private readonly Lock _randomLock = new();
    private readonly Lock _lifecycleLock = new();
    private Task _loops = Task.CompletedTask;
    private bool _started;
    private bool _disposed;

    /// <exception cref="ArgumentException">The options are invalid (see <see cref="BootstrapOptions.Validate"/>).</exception>
    public BootstrapDialer(BootstrapOptions options, IPeerDialer dialer)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(dialer);
        options.Validate();
        _options = options;
        _dialer = dialer;
        _logger = options.LoggerFactory.CreateLogger<BootstrapDialer>();
        foreach (var address in options.Peers)
        {
            _peers.Add(address.PeerId!, new PeerLoop(address));
        }
    }

    /// <summary>Raised on the loop's thread after a peer's state changes (tests and diagnostics).</summary>
    internal event Action<PeerId, BootstrapPeerState>? StateChanged;

    /// <summary>The ids of the bootstrap peers (for the connection manager to protect).</summary>
    public IReadOnlyCollection<PeerId> PeerIds => _peers.Keys;

    /// <summary>Whether <paramref name="peerId"/> is one of the bootstrap peers.</summary>
    public bool IsBootstrapPeer(PeerId peerId) => _peers.ContainsKey(peerId);

    /// <summary>The loop state of a bootstrap peer.</summary>
    /// <exception cref="KeyNotFoundException">Not a bootstrap peer.</exception>
    public BootstrapPeerState GetState(PeerId peerId) => _peers[peerId].State;

    /// <summary>Starts one dial loop per bootstrap peer. Later calls do nothing.</summary>
    /// <exception cref="ObjectDisposedException">The dialer was disposed.</exception>
    public void Start()
    {
        lock (_lifecycleLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_started)
            {
                return;
            }

            _started = true;
            var token = _stop.Token;
            var tasks = new List<Task>(_peers.Count);
            foreach (var loop in _peers.Values)
            {
                loop.Task = Task.Run(() => RunAsync(loop, token), CancellationToken.None);
                tasks.Add(loop.Task);
            }

            _loops = Task.WhenAll(tasks);
        }
    }

    /// <summary>
    /// Reports that the connection to <paramref name="peerId"/> closed; a bootstrap peer's loop
    /// then redials it after a backoff. Other peers are ignored.
    /// </summary>
    public void NotifyDisconnected(PeerId peerId)
    {
        ArgumentNullException.ThrowIfNull(peerId);
        if (_peers.TryGetValue(peerId, out var loop))
        {
            // Capacity 1, DropWrite: drops coalesce into the one pending signal.
            loop.Dropped.Writer.TryWrite(true);
        }
    }

    /// <summary>Cancels every loop and waits for all of them to end. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_lifecycleLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _loops.ConfigureAwait(false);
        foreach (var loop in _peers.Values)
        {
            SetState(loop, BootstrapPeerState.Stopped);
        }

        _stop.Dispose();
    }

    private async Task RunAsync(PeerLoop loop, CancellationToken cancellationToken)
    {
        var peerId = loop.Address.PeerId!;
        var attempt = 0;
        try
        {
            while (true)
            {
                while (loop.Dropped.Reader.TryRead(out _))
                {
                    // A drop reported before this dial belongs to an earlier connection.
                }

                SetState(loop, BootstrapPeerState.Dialing);
                Log.Dialing(_logger, peerId, loop.Address, attempt + 1);
                try
                {
                    await DialOnceAsync(loop.Address, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    BootstrapMetrics.DialFailed();
                    var retry = NextDelay(attempt++);
                    SetState(loop, BootstrapPeerState.BackingOff);
                    Log.DialFailed(_logger, peerId, retry, e);
                    await Task.Delay(retry, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                BootstrapMetrics.DialSucceeded();
                var connectedAt = _options.TimeProvider.GetTimestamp();
                SetState(loop, BootstrapPeerState.Connected);
                Log.Connected(_logger, peerId);
                await loop.Dropped.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                if (_options.TimeProvider.GetElapsedTime(connectedAt) >= _options.StableConnection)
                {
                    attempt = 0;
                }

                var delay = NextDelay(attempt++);
                SetState(loop, BootstrapPeerState.BackingOff);
                Log.Dropped(_logger, peerId, delay);
                await Task.Delay(delay, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            SetState(loop, BootstrapPeerState.Stopped);
        }
    }

    private async ValueTask DialOnceAsync(Multiaddr address, CancellationToken cancellationToken)
    {
        if (_options.DialTimeout == Timeout.InfiniteTimeSpan)
        {
            await _dialer.DialAsync(address, cancellationToken).ConfigureAwait(false);
            return;
        }

        using var timeout = new CancellationTokenSource(_options.DialTimeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await _dialer.DialAsync(address, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new MeshTimeoutException($"dial to {address} did not complete within {_options.DialTimeout}", e);
        }
    }

    private void SetState(PeerLoop loop, BootstrapPeerState state)
    {
        loop.State = state;
        StateChanged?.Invoke(loop.Address.PeerId!, state);
    }

    private TimeSpan NextDelay(int attempt)
    {
        double uniform;
        lock (_randomLock)
        {
            uniform = _options.Random.NextDouble();
        }

        return Backoff.Delay(attempt, _options.InitialBackoff, _options.MaxBackoff, _options.Multiplier, _options.Jitter, uniform);
    }

    private sealed class PeerLoop(Multiaddr address)
    {
        public Multiaddr Address { get; } = address;

        public Channel<bool> Dropped { get; } = Channel.CreateBounded<bool>(
            new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

        public volatile BootstrapPeerState State = BootstrapPeerState.Dialing;

        public Task Task { get; set; } = Task.CompletedTask;
    }
}
