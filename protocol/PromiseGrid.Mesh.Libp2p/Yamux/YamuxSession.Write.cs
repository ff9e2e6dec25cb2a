using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.ExceptionServices;

namespace PromiseGrid.Mesh.Yamux;

/// <summary>
/// Writing to the connection. Session frames (ping, GoAway, RST of rejected streams) come from a
/// queue of headers; stream frames are produced by visiting streams from a ready queue (each stream
/// orders its own SYN/ACK, data and FIN). Many frames are written per flush.
/// <para>
/// One writer at a time owns the connection's output (<see cref="_writer"/>). When nobody does, the
/// thread that queued the work writes and flushes it itself (an application's flush, the read loop
/// answering a ping or granting window), so a small message reaches the socket without waking the
/// write loop: on a small machine that wake-up costs more than the work it hands over. When the
/// output is owned, or a flush cannot complete at once (the layer below applies backpressure), the
/// write loop takes over; only the write loop ends the output.
/// </para>
/// </summary>
public sealed partial class YamuxSession
{
    /// <summary>Bytes written before the write loop flushes the connection.</summary>
    private const int FlushThreshold = 512 * 1024;

    /// <summary>Data bytes one stream may send per visit before the next ready stream's turn.</summary>
    private const int StreamQuantum = 256 * 1024;

    /// <summary>Session frames (ping replies, RSTs) allowed to wait for the write loop; a remote flooding more is a violation.</summary>
    internal const int MaxQueuedControlFrames = 4096;

    private readonly object _sendLock = new();
    private readonly Queue<ControlFrame> _controlFrames = new();
    private readonly Queue<YamuxStream> _readyStreams = new();
    private readonly AsyncSignal _writeSignal = new();
    private bool _stopWriting; // guarded by _sendLock

    // Ownership of the connection's output.
    private const int WriterFree = 0;
    private const int WriterBusy = 1;      // the write loop or an inline writer is writing
    private const int WriterHandedOff = 2; // an inline writer left a pending flush (or a failure) to the write loop

    /// <summary>Passes an inline writer makes at most before it leaves the rest to the write loop.</summary>
    private const int MaxInlinePasses = 4;

    private int _writer;
    private ValueTask<FlushResult> _handedOffFlush; // with WriterHandedOff
    private bool _handedOffStop;                    // with WriterHandedOff
    private Exception? _handedOffFailure;           // with WriterHandedOff

    /// <summary>Control frames written but not yet flushed; used only by the output's owner.</summary>
    private readonly List<TaskCompletionSource> _written = [];

    private readonly record struct ControlFrame(YamuxFrameHeader Header, TaskCompletionSource? Written);

    /// <summary>Puts a stream in the ready queue (once) and wakes the write loop.</summary>
    internal void ScheduleSend(YamuxStream stream)
    {
        if (Interlocked.Exchange(ref stream.Scheduled, 1) != 0)
        {
            return;
        }

        lock (_sendLock)
        {
            _readyStreams.Enqueue(stream);
        }

        WakeWriter();
    }

    /// <summary>Queues a session frame; false if the queue is full (the caller decides the consequence).</summary>
    private bool EnqueueControl(YamuxFrameHeader header, TaskCompletionSource? written = null)
    {
        lock (_sendLock)
        {
            if (_stopWriting)
            {
                written?.TrySetException(new ConnectionClosedException("the yamux session has ended"));
                return true;
            }

            if (_controlFrames.Count >= MaxQueuedControlFrames)
            {
                written?.TrySetException(new LimitExceededException("queued yamux session frames", _controlFrames.Count + 1, MaxQueuedControlFrames));
                return false;
            }

            _controlFrames.Enqueue(new ControlFrame(header, written));
        }

        WakeWriter();
        return true;
    }

    /// <summary>Queues a last frame (GoAway) and tells the write loop to finish after it.</summary>
    private void StopWriting(YamuxFrameHeader? last)
    {
        lock (_sendLock)
        {
            if (last is { } header)
            {
                _controlFrames.Enqueue(new ControlFrame(header, null));
            }

            _stopWriting = true;
        }

        _writeSignal.Set();
        _connection.Output.CancelPendingFlush();
    }

    /// <summary>Writes data frames of at most <paramref name="maxFramePayload"/> bytes each.</summary>
    internal static void WriteDataFrames(PipeWriter output, uint streamId, in ReadOnlySequence<byte> data, int maxFramePayload)
    {
        var rest = data;
        while (!rest.IsEmpty)
        {
            var size = (int)Math.Min(rest.Length, maxFramePayload);
            YamuxCodec.Write(output, YamuxFrameHeader.Data(streamId, (uint)size));
            var chunk = rest.Slice(0, size);
            foreach (var segment in chunk)
            {
                output.Write(segment.Span);
            }

            rest = rest.Slice(chunk.End);
        }
    }

    /// <summary>The session whose read loop is processing a read on this thread: its writes wait until the read is done.</summary>
    [ThreadStatic]
    private static YamuxSession? t_corked;

    /// <summary>Work was queued while the read loop held writes back (read loop only).</summary>
    private bool _corkedWrites;

    /// <summary>
    /// Writes the queued frames on this thread if the output is free, else wakes the write loop.
    /// On the read loop, in the middle of a read, only notes that there is work: the read loop
    /// writes it all when the read is processed.
    /// </summary>
    private void WakeWriter()
    {
        if (ReferenceEquals(t_corked, this))
        {
            _corkedWrites = true;
            return;
        }

        if (!TryWriteInline())
        {
            _writeSignal.Set();
        }
    }

    /// <summary>
    /// Takes the output if it is free and writes what is queued, flushing after each pass. Returns
    /// false if another writer owns the output (the caller wakes the write loop instead). A flush that
    /// does not complete at once, the session's last frames and any failure are handed to the write
    /// loop, which keeps the output from then on.
    /// </summary>
    private bool TryWriteInline()
    {
        if (Interlocked.CompareExchange(ref _writer, WriterBusy, WriterFree) != WriterFree)
        {
            return false;
        }

        var output = _connection.Output;
        try
        {
            for (var pass = 0; pass < MaxInlinePasses; pass++)
            {
                var bytes = WriteControlFrames(output, _written, out var stop);
                if (!stop)
                {
                    bytes += WriteStreamFrames(output);
                }

                if (bytes == 0 && !stop)
                {
                    break;
                }

                var flush = output.FlushAsync();
                if (stop || !flush.IsCompletedSuccessfully)
                {
                    HandOff(flush, stop, failure: null);
                    return true;
                }

                if (AfterFlush(flush.Result))
                {
                    HandOff(default, stop: true, failure: null);
                    return true;
                }
            }
        }
        catch (Exception e)
        {
            HandOff(default, stop: true, failure: e);
            return true;
        }

        ReleaseWriter();
        return true;
    }

    private void HandOff(ValueTask<FlushResult> flush, bool stop, Exception? failure)
    {
        _handedOffFlush = flush;
        _handedOffStop = stop;
        _handedOffFailure = failure;
        Volatile.Write(ref _writer, WriterHandedOff);
        _writeSignal.Set();
    }

    /// <summary>Frees the output; wakes the write loop if work was queued while it was owned.</summary>
    private void ReleaseWriter()
    {
        Volatile.Write(ref _writer, WriterFree);
        bool queued;
        lock (_sendLock)
        {
            queued = _controlFrames.Count > 0 || _readyStreams.Count > 0 || _stopWriting;
        }

        if (queued)
        {
            _writeSignal.Set();
        }
    }

    /// <summary>A flush finished: reports the control frames it carried as written. True if the session must stop writing.</summary>
    private bool AfterFlush(FlushResult flush)
    {
        foreach (var done in _written)
        {
            done.TrySetResult();
        }

        _written.Clear();
        if (flush.IsCompleted)
        {
            EndSession(new ConnectionClosedException("the remote stopped reading the yamux connection", isRemote: true), goAway: null, fault: false);
            return true;
        }

        return false;
    }

    private async Task WriteLoopAsync()
    {
        var output = _connection.Output;
        Exception? failure = null;
        try
        {
            var stop = false;
            while (!stop)
            {
                await _writeSignal.WaitAsync().ConfigureAwait(false);
                var state = Interlocked.CompareExchange(ref _writer, WriterBusy, WriterFree);
                if (state == WriterBusy)
                {
                    continue; // an inline writer is at work; it wakes this loop if it leaves anything
                }

                if (state == WriterHandedOff)
                {
                    Volatile.Write(ref _writer, WriterBusy);
                    if (_handedOffFailure is { } handedOff)
                    {
                        _handedOffFailure = null;
                        ExceptionDispatchInfo.Throw(handedOff);
                    }

                    var pending = _handedOffFlush;
                    _handedOffFlush = default;
                    stop = _handedOffStop;
                    stop |= AfterFlush(await pending.ConfigureAwait(false));
                }

                while (!stop)
                {
                    var bytes = WriteControlFrames(output, _written, out stop);
                    if (!stop)
                    {
                        bytes += WriteStreamFrames(output);
                    }

                    if (bytes == 0)
                    {
                        break;
                    }

                    stop |= AfterFlush(await output.FlushAsync().ConfigureAwait(false));
                }

                if (!stop)
                {
                    ReleaseWriter();
                }
            }
        }
        catch (Exception e)
        {
            failure = e;
        }
        finally
        {
            // The output stays owned by this loop: nobody writes to it after this point.
            var error = failure is null
                ? null
                : new ConnectionClosedException("writing to the yamux connection failed", isRemote: false, failure);
            if (error is not null)
            {
                EndSession(error, goAway: null, fault: true);
            }

            foreach (var done in _written)
            {
                done.TrySetException(error ?? new ConnectionClosedException("the yamux session has ended"));
            }

            _written.Clear();
            AbandonAllOutbound(Volatile.Read(ref _endReason) ?? error ?? new ConnectionClosedException("the yamux session has ended"));
            await output.CompleteAsync(failure).ConfigureAwait(false);
        }
    }

    private int WriteControlFrames(PipeWriter output, List<TaskCompletionSource> written, out bool stop)
    {
        var bytes = 0;
        lock (_sendLock)
        {
            while (_controlFrames.TryDequeue(out var frame))
            {
                YamuxCodec.Write(output, frame.Header);
                bytes += YamuxCodec.HeaderSize;
                if (frame.Written is not null)
                {
                    written.Add(frame.Written);
                }
            }

            stop = _stopWriting;
        }

        return bytes;
    }

    private int WriteStreamFrames(PipeWriter output)
    {
        var bytes = 0;
        var maxFrame = Options.MaxOutboundFrameSize;
        while (bytes < FlushThreshold)
        {
            YamuxStream? stream;
            lock (_sendLock)
            {
                if (!_readyStreams.TryDequeue(out stream))
                {
                    break;
                }
            }

            bytes += stream.WriteFrames(output, maxFrame, StreamQuantum, out var more);
            if (more)
            {
                ScheduleSend(stream);
            }
        }

        return bytes;
    }

    /// <summary>Releases the outbound buffers of every stream the write loop can still reach.</summary>
    private void AbandonAllOutbound(Exception error)
    {
        YamuxStream[] streams;
        lock (_streamsLock)
        {
            streams = [.. _streams.Values];
        }

        lock (_sendLock)
        {
            _stopWriting = true;
            while (_controlFrames.TryDequeue(out var frame))
            {
                frame.Written?.TrySetException(new ConnectionClosedException("the yamux session has ended"));
            }

            streams = [.. streams, .. _readyStreams];
            _readyStreams.Clear();
        }

        foreach (var stream in streams)
        {
            stream.AbandonOutbound(error);
        }
    }
}
