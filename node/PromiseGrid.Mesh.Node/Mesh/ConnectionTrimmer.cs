using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace PromiseGrid.Mesh.Node.Mesh;

/// <summary>
/// Runs the <see cref="ConnectionManager"/> policy: one loop that, every
/// <see cref="ConnectionManagerOptions.TrimInterval"/> and whenever <see cref="RequestTrim"/> is
/// called (the node calls it when a connection opens), asks the <see cref="IConnectionView"/> for
/// the open connections and closes those the manager selects. Requests made while a pass runs
/// coalesce into one more pass. <see cref="DisposeAsync"/> stops the timer and awaits the loop.
/// </summary>
public sealed class ConnectionTrimmer : IAsyncDisposable
{
    private static readonly Meter Meter = new("PromiseGrid.Mesh");
    private static readonly Counter<long> Trimmed = Meter.CreateCounter<long>(
        "promisegrid.mesh.connections.trimmed", unit: "{connection}", description: "Connections closed by the connection manager");

    private readonly ConnectionManager _manager;
    private readonly IConnectionView _view;
    private readonly ILogger _logger;
    private readonly Channel<bool> _requests = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private ITimer? _timer;
    private Task _loop = Task.CompletedTask;
    private bool _started;
    private bool _disposed;

    public ConnectionTrimmer(ConnectionManager manager, IConnectionView view)
    {
        ArgumentNullException.ThrowIfNull(manager);
        ArgumentNullException.ThrowIfNull(view);
        _manager = manager;
        _view = view;
        _logger = manager.Options.LoggerFactory.CreateLogger<ConnectionTrimmer>();
    }

    /// <summary>Raised after each pass with the number of connections closed (tests and diagnostics).</summary>
    internal event Action<int>? TrimCompleted;

    /// <summary>Starts the loop and its interval timer. Later calls do nothing.</summary>
    /// <exception cref="ObjectDisposedException">The trimmer was disposed.</exception>
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
            _loop = Task.Run(() => RunAsync(token), CancellationToken.None);
            var interval = _manager.Options.TrimInterval;
            _timer = _manager.Options.TimeProvider.CreateTimer(static state => ((ConnectionTrimmer)state!).RequestTrim(), this, interval, interval);
        }
    }

    /// <summary>Asks for a pass soon (coalesced with any pending request).</summary>
    public void RequestTrim() => _requests.Writer.TryWrite(true);

    /// <summary>Stops the timer and the loop (a pass in progress is cancelled) and awaits it. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        ITimer? timer;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            timer = _timer;
        }

        if (timer is not null)
        {
            await timer.DisposeAsync().ConfigureAwait(false);
        }

        _requests.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    /// <summary>One pass: selects and closes; returns how many connections were closed.</summary>
    internal async ValueTask<int> TrimOnceAsync(CancellationToken cancellationToken = default)
    {
        var connections = _view.GetConnections();
        var victims = _manager.SelectForTrim(connections, _manager.Options.TimeProvider.GetUtcNow());
        if (victims.Count == 0)
        {
            return 0;
        }

        Log.Trimming(_logger, connections.Count, victims.Count);
        var closed = 0;
        foreach (var connection in victims)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Log.Closing(_logger, connection.ConnectionId, connection.Peer, connection.StreamCount);
            try
            {
                await _view.CloseAsync(connection, cancellationToken).ConfigureAwait(false);
                closed++;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Log.CloseFailed(_logger, connection.ConnectionId, connection.Peer, e);
            }
        }

        Trimmed.Add(closed);
        return closed;
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (await _requests.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                _requests.Reader.TryRead(out _);
                int closed;
                try
                {
                    closed = await TrimOnceAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    Log.TrimFailed(_logger, e);
                    closed = 0;
                }

                TrimCompleted?.Invoke(closed);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
