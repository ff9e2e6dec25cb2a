using System.IO.Pipelines;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Identity;

namespace PromiseGrid.Mesh.Yamux;

/// <summary>
/// A yamux session (<c>/yamux/1.0.0</c>, libp2p-wire.md §6) over an authenticated connection: many
/// flow-controlled streams on one byte pipe. One read loop and one write loop run from creation
/// until the session ends; optional keep-alive pings run beside them.
/// <list type="bullet">
/// <item>The client (the connection's dialer) opens odd stream ids, the server even ones.</item>
/// <item>A protocol violation by the remote sends GoAway (protocol error), ends the session with
/// <see cref="ProtocolViolationException"/> (<see cref="Completion"/> faults with it) and fails every
/// stream with it. Frames for streams that were recently closed or reset are dropped quietly.</item>
/// <item>After a GoAway from the remote no new streams can be opened; existing ones finish.</item>
/// <item><see cref="DisposeAsync"/> sends GoAway (normal), closes the connection and awaits the loops.</item>
/// </list>
/// </summary>
public sealed partial class YamuxSession : IMuxedSession
{
    /// <summary>Protocol id negotiated with multistream-select (§6.1).</summary>
    public const string ProtocolId = "/yamux/1.0.0";

    private readonly IDuplexPipe _connection;
    private readonly ILogger _logger;
    private readonly string _peer;
    private readonly bool _isClient;

    private readonly object _streamsLock = new();
    private readonly Dictionary<uint, YamuxStream> _streams = [];
    private readonly Channel<YamuxStream> _acceptQueue;
    private uint _nextStreamId;
    private uint _lastRemoteStreamId;

    private readonly CancellationTokenSource _shutdown = new();
    private readonly Task _readLoop;
    private readonly Task _writeLoop;
    private readonly Task _keepAliveLoop;
    private readonly PeriodicTimer? _keepAliveTimer;
    private readonly Task _completion;
    private bool _ended;                   // guarded by _streamsLock
    private Exception? _endReason;         // what streams and callers see once ended
    private Exception? _fault;             // set when the session failed
    private volatile bool _goAwaySent;
    private volatile bool _goAwayReceived;
    private int _disposed;

    private YamuxSession(IDuplexPipe connection, PeerId remotePeer, bool isClient, YamuxOptions? options)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(remotePeer);
        options ??= YamuxOptions.Default;
        options.Validate();

        _connection = connection;
        RemotePeer = remotePeer;
        Options = options;
        _isClient = isClient;
        _nextStreamId = isClient ? 1u : 2u;
        _peer = remotePeer.ToString();
        _logger = options.LoggerFactory.CreateLogger<YamuxSession>();
        _acceptQueue = Channel.CreateBounded<YamuxStream>(new BoundedChannelOptions(options.AcceptBacklog)
        {
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });

        YamuxLog.SessionStarted(_logger, _peer, isClient ? "client" : "server");
        if (options.AutoTuneWindows)
        {
            // Window auto-tuning needs an RTT; go-yamux measures it the same way at start.
            StartPing();
        }

        _readLoop = Task.Run(ReadLoopAsync);
        _writeLoop = Task.Run(WriteLoopAsync);
        if (options.KeepAliveInterval > TimeSpan.Zero)
        {
            // Created here, not in the loop, so the first interval starts with the session.
            _keepAliveTimer = new PeriodicTimer(options.KeepAliveInterval, options.TimeProvider);
            _keepAliveLoop = Task.Run(KeepAliveLoopAsync);
        }
        else
        {
            _keepAliveLoop = Task.CompletedTask;
        }

        _completion = CompleteAsync();
    }

    /// <summary>Starts a session as the connection's dialer (odd stream ids).</summary>
    public static YamuxSession CreateClient(IDuplexPipe connection, PeerId remotePeer, YamuxOptions? options = null) =>
        new(connection, remotePeer, isClient: true, options);

    /// <summary>Starts a session as the connection's listener (even stream ids).</summary>
    public static YamuxSession CreateServer(IDuplexPipe connection, PeerId remotePeer, YamuxOptions? options = null) =>
        new(connection, remotePeer, isClient: false, options);

    /// <inheritdoc/>
    public PeerId RemotePeer { get; }

    /// <summary>The session's settings.</summary>
    public YamuxOptions Options { get; }

    /// <summary>Whether this side dialled the connection (opens odd stream ids).</summary>
    public bool IsClient => _isClient;

    /// <summary>Streams currently open (either direction, including ones waiting to be accepted).</summary>
    public int StreamCount
    {
        get { lock (_streamsLock) { return _streams.Count; } }
    }

    /// <summary>Whether the remote sent GoAway (no new streams can be opened).</summary>
    public bool IsGoAwayReceived => _goAwayReceived;

    /// <summary>Whether the session has ended (the loops may still be finishing).</summary>
    public bool IsEnded
    {
        get { lock (_streamsLock) { return _ended; } }
    }

    /// <inheritdoc/>
    public Task Completion => _completion;

    internal TimeProvider TimeProvider => Options.TimeProvider;

    /// <summary>Opens a stream; data may be written at once (the SYN goes first).</summary>
    /// <exception cref="ConnectionClosedException">The session ended, or either side sent GoAway.</exception>
    /// <exception cref="LimitExceededException">Already <see cref="YamuxOptions.MaxStreams"/> streams are open.</exception>
    public ValueTask<YamuxStream> OpenStreamAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        YamuxStream stream;
        lock (_streamsLock)
        {
            if (_ended)
            {
                throw new ConnectionClosedException("the yamux session has ended", isRemote: false, _endReason);
            }

            if (_goAwayReceived || _goAwaySent)
            {
                throw new ConnectionClosedException("the yamux session is going away", isRemote: _goAwayReceived);
            }

            if (_streams.Count >= Options.MaxStreams)
            {
                throw new LimitExceededException("yamux streams per session", _streams.Count + 1, Options.MaxStreams);
            }

            if (_nextStreamId > uint.MaxValue - 2)
            {
                throw new LimitExceededException("yamux stream id", _nextStreamId, uint.MaxValue - 2);
            }

            stream = new YamuxStream(this, _nextStreamId, isInbound: false, Options);
            _nextStreamId += 2;
            _streams.Add(stream.Id, stream);

            // Queued under the same lock as the id is taken, so SYNs leave in id order.
            stream.RequestOpen();
            ScheduleSend(stream);
        }

        return new ValueTask<YamuxStream>(stream);
    }

    /// <summary>Waits for the next inbound stream and accepts it (sends ACK).</summary>
    /// <exception cref="ConnectionClosedException">The session ended.</exception>
    public async ValueTask<YamuxStream> AcceptStreamAsync(CancellationToken cancellationToken = default)
    {
        YamuxStream stream;
        try
        {
            stream = await _acceptQueue.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw e.InnerException as ConnectionClosedException
                ?? new ConnectionClosedException("the yamux session has ended", isRemote: false, e.InnerException);
        }

        stream.RequestAccept();
        return stream;
    }

    async ValueTask<IMuxedStream> IMuxedSession.OpenStreamAsync(CancellationToken cancellationToken) =>
        await OpenStreamAsync(cancellationToken).ConfigureAwait(false);

    async ValueTask<IMuxedStream> IMuxedSession.AcceptStreamAsync(CancellationToken cancellationToken) =>
        await AcceptStreamAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>Sends GoAway: the remote may open no new streams and this side accepts none; existing streams go on.</summary>
    /// <returns>Completes once the frame was handed to the connection.</returns>
    public async ValueTask GoAwayAsync(YamuxGoAwayCode code = YamuxGoAwayCode.Normal, CancellationToken cancellationToken = default)
    {
        var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _goAwaySent = true;
        EnqueueControl(YamuxFrameHeader.GoAway(code), written);
        await written.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Hard close: best-effort GoAway, then the connection is dropped and every stream fails.</summary>
    public void Abort(Exception? reason = null)
    {
        var error = reason ?? new ConnectionClosedException("the yamux session was aborted");
        EndSession(error, reason is null ? YamuxGoAwayCode.Normal : YamuxGoAwayCode.InternalError, fault: reason is not null);
    }

    /// <summary>Sends GoAway (normal), closes the connection, fails open streams and awaits the loops. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            EndSession(new ConnectionClosedException("the yamux session was closed locally"), YamuxGoAwayCode.Normal, fault: false);
        }

        await _completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <inheritdoc/>
    public override string ToString() => $"yamux {(_isClient ? "client" : "server")} session with {_peer}";

    /// <summary>
    /// Ends the session once: records the reason, queues GoAway if given, fails streams, accept and
    /// pings, and stops the loops (the write loop sends what is queued, then closes the connection).
    /// </summary>
    internal void EndSession(Exception reason, YamuxGoAwayCode? goAway, bool fault)
    {
        YamuxStream[] streams;
        lock (_streamsLock)
        {
            if (_ended)
            {
                return;
            }

            _ended = true;
            _endReason = reason;
            if (fault)
            {
                _fault = reason;
            }

            streams = [.. _streams.Values];
        }

        YamuxLog.SessionEnded(_logger, _peer, reason.Message);
        StopWriting(goAway is { } code && !_goAwaySent ? YamuxFrameHeader.GoAway(code) : null);

        var closed = reason as ConnectionClosedException
            ?? new ConnectionClosedException("the yamux session has ended", isRemote: false, reason);
        _acceptQueue.Writer.TryComplete(closed);
        while (_acceptQueue.Reader.TryRead(out var pending))
        {
            pending.OnSessionEnded(reason);
        }

        foreach (var stream in streams)
        {
            stream.OnSessionEnded(reason);
        }

        FailPings(closed);
        _shutdown.Cancel();
        _connection.Input.CancelPendingRead();
    }

    /// <summary>Removes a finished stream from the session.</summary>
    internal void Retire(YamuxStream stream)
    {
        lock (_streamsLock)
        {
            _streams.Remove(stream.Id);
        }
    }

    internal void OnWindowGrown(YamuxStream stream, int window) => YamuxLog.WindowGrown(_logger, stream.Id, _peer, window);

    /// <summary>Ids of the open streams, for tests and diagnostics.</summary>
    internal uint[] GetStreamIds()
    {
        lock (_streamsLock)
        {
            return [.. _streams.Keys];
        }
    }

    private async Task CompleteAsync()
    {
        await Task.WhenAll(_readLoop, _writeLoop, _keepAliveLoop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        var fault = Volatile.Read(ref _fault);
        if (fault is not null)
        {
            throw fault;
        }
    }
}
