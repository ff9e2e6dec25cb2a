using System.IO.Pipelines;
using PromiseGrid.Mesh.Abstractions;

namespace PromiseGrid.Mesh.Yamux;

/// <summary>
/// One yamux stream (libp2p-wire.md §6.3–6.4), a duplex byte pipe multiplexed on a
/// <see cref="YamuxSession"/>.
/// <list type="bullet">
/// <item><see cref="Input"/> holds the received bytes. It completes at the remote's FIN (graceful
/// half-close); after a reset (either side) reads throw <see cref="StreamResetException"/>; when the
/// session ends first, reads throw the session's error (<see cref="ConnectionClosedException"/>,
/// <see cref="ProtocolViolationException"/>, <see cref="MeshTimeoutException"/>). Consuming bytes
/// (<c>AdvanceTo</c>) returns window credit to the remote.</item>
/// <item><see cref="Output"/> sends. <c>FlushAsync</c> hands the bytes to the session and waits while
/// more than <see cref="YamuxOptions.StreamWriteBufferSize"/> bytes are still unsent, which happens
/// when the remote grants no window: a slow reader slows the writer, nothing buffers without bound.
/// Completing <see cref="Output"/> (or <see cref="CloseWriteAsync"/>) sends FIN after the buffered
/// bytes; writing afterwards throws <see cref="InvalidOperationException"/>. Completing it with an
/// exception resets the stream.</item>
/// <item><see cref="Reset"/> is a hard close: RST is sent, buffered bytes are dropped, and pending and
/// later reads and writes on both sides fail with <see cref="StreamResetException"/>.</item>
/// <item><see cref="DisposeAsync"/> half-closes if not done and stops reading; a stream disposed before
/// the remote's FIN is reset instead.</item>
/// </list>
/// Close does not wait for any acknowledgement: to be sure the remote got everything, close the
/// write side, then read until the remote's end of stream.
/// </summary>
public sealed partial class YamuxStream : IMuxedStream
{
    private const int ResetNone = 0;
    private const int ResetLocal = 1;
    private const int ResetRemote = 2;

    private readonly YamuxSession _session;
    private readonly object _sync = new();
    private readonly Pipe _inbound;
    private readonly Pipe _outbound;
    private readonly YamuxStreamReader _input;
    private readonly YamuxStreamWriter _output;
    private readonly ReadScheduler _readScheduler;
    private int _disposed;
    private int _retired;

    internal YamuxStream(YamuxSession session, uint id, bool isInbound, YamuxOptions options)
    {
        _session = session;
        Id = id;
        IsInbound = isInbound;
        _readScheduler = new ReadScheduler();
        _inbound = new Pipe(new PipeOptions(
            pool: YamuxBufferPool.Instance,
            readerScheduler: _readScheduler,
            pauseWriterThreshold: 0,
            resumeWriterThreshold: 0,
            minimumSegmentSize: SegmentSize,
            useSynchronizationContext: false));
        _outbound = new Pipe(new PipeOptions(
            pool: YamuxBufferPool.Instance,
            readerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: options.StreamWriteBufferSize,
            resumeWriterThreshold: Math.Max(1, options.StreamWriteBufferSize / 2),
            minimumSegmentSize: SegmentSize,
            useSynchronizationContext: false));
        _input = new YamuxStreamReader(this, _inbound.Reader);
        _output = new YamuxStreamWriter(this, _outbound.Writer);
        InitializeFlowControl(options);
    }

    /// <summary>Pipe segment size of the stream buffers.</summary>
    private const int SegmentSize = YamuxBufferPool.BlockSize;

    /// <inheritdoc/>
    public uint Id { get; }

    /// <inheritdoc/>
    public string? Protocol { get; set; }

    /// <summary>Whether the remote opened this stream.</summary>
    public bool IsInbound { get; }

    /// <inheritdoc/>
    public PipeReader Input => _input;

    /// <inheritdoc/>
    public PipeWriter Output => _output;

    /// <inheritdoc/>
    public void ResumeReadsInline() => _readScheduler.ResumeInline = true;

    /// <summary>Sends FIN after the buffered bytes (completes <see cref="Output"/>); reading goes on.</summary>
    public ValueTask CloseWriteAsync(CancellationToken cancellationToken = default)
    {
        _output.Complete();
        return default;
    }

    /// <summary>Hard close: sends RST; pending and later reads and writes fail with <see cref="StreamResetException"/>.</summary>
    public void Reset()
    {
        lock (_sync)
        {
            if (_resetState != ResetNone || _terminalError is not null || (_finSent && _finReceived))
            {
                return;
            }

            _resetState = ResetLocal;
            CompleteInboundLocked(new StreamResetException(Id, isRemote: false));
        }

        Interlocked.Or(ref _pendingFlags, (int)YamuxFlags.Rst);
        _outbound.Writer.CancelPendingFlush();
        _session.ScheduleSend(this);
        TryRetire();
    }

    /// <summary>Half-closes if not done and stops reading; resets the stream if the remote has not finished sending.</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return default;
        }

        bool remoteFinished;
        lock (_sync)
        {
            remoteFinished = _finReceived;
        }

        if (remoteFinished)
        {
            _output.Complete();
        }
        else
        {
            Reset();
        }

        _input.Complete();
        return default;
    }

    /// <summary>State flags for diagnostics.</summary>
    internal string DebugState
    {
        get
        {
            lock (_sync)
            {
                return $"syn={_synSent} finSent={_finSent} outDone={_outboundDone} writeClosed={_writeClosed} finRecv={_finReceived} inDone={_inboundDone} reset={_resetState} flags={_pendingFlags} credit={_pendingCredit}";
            }
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"yamux stream {Id} ({(IsInbound ? "inbound" : "outbound")})";

    /// <summary>Removes the stream from the session once both directions are done or it was reset.</summary>
    private void TryRetire()
    {
        lock (_sync)
        {
            if (!(_resetState != ResetNone || (_finSent && _finReceived)))
            {
                return;
            }
        }

        if (Interlocked.Exchange(ref _retired, 1) == 0)
        {
            _session.Retire(this);
        }
    }

    /// <summary>The session ended: pending and later I/O fails with <paramref name="error"/>.</summary>
    internal void OnSessionEnded(Exception error)
    {
        lock (_sync)
        {
            _terminalError ??= error;
            CompleteInboundLocked(error);
        }

        _outbound.Writer.CancelPendingFlush();
    }

    private void CompleteInboundLocked(Exception? error)
    {
        if (_inboundDone)
        {
            return;
        }

        _inboundDone = true;
        if (error is null)
        {
            FlushInboundLocked();
        }

        _inbound.Writer.Complete(error);
    }
}
