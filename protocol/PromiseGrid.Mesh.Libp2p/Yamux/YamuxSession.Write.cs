using System.Buffers;
using System.IO.Pipelines;

namespace PromiseGrid.Mesh.Yamux;

/// <summary>
/// The write loop: the only code that writes to the connection. Session frames (ping, GoAway, RST of
/// rejected streams) come from a queue of headers; stream frames are produced by visiting streams
/// from a ready queue (each stream orders its own SYN/ACK, data and FIN). Many frames are written
/// per flush.
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

        _writeSignal.Set();
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

        _writeSignal.Set();
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

    private async Task WriteLoopAsync()
    {
        var output = _connection.Output;
        var written = new List<TaskCompletionSource>();
        Exception? failure = null;
        try
        {
            var stop = false;
            while (!stop)
            {
                await _writeSignal.WaitAsync().ConfigureAwait(false);
                while (true)
                {
                    var bytes = WriteControlFrames(output, written, out stop);
                    if (!stop)
                    {
                        bytes += WriteStreamFrames(output);
                    }

                    if (bytes == 0)
                    {
                        break;
                    }

                    var flush = await output.FlushAsync().ConfigureAwait(false);
                    foreach (var done in written)
                    {
                        done.TrySetResult();
                    }

                    written.Clear();
                    if (flush.IsCompleted)
                    {
                        EndSession(new ConnectionClosedException("the remote stopped reading the yamux connection", isRemote: true), goAway: null, fault: false);
                        stop = true;
                    }

                    if (stop)
                    {
                        break;
                    }
                }
            }
        }
        catch (Exception e)
        {
            failure = e;
        }
        finally
        {
            var error = failure is null
                ? null
                : new ConnectionClosedException("writing to the yamux connection failed", isRemote: false, failure);
            if (error is not null)
            {
                EndSession(error, goAway: null, fault: true);
            }

            foreach (var done in written)
            {
                done.TrySetException(error ?? new ConnectionClosedException("the yamux session has ended"));
            }

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
