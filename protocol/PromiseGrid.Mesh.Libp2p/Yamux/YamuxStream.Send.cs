using System.IO.Pipelines;

namespace PromiseGrid.Mesh.Yamux;

/// <summary>Send direction: the write loop's side of the stream and the send window (libp2p-wire.md §6.3–6.4).</summary>
public sealed partial class YamuxStream
{
    /// <summary>1 while the stream sits in the session's ready queue.</summary>
    internal int Scheduled;

    private long _sendWindow;          // Interlocked: read loop adds, write loop subtracts
    private long _pendingCredit;       // Interlocked: window delta the write loop must send
    private int _pendingFlags;         // Interlocked: SYN, ACK, RST the write loop must send
    private volatile bool _writeClosed; // the application completed Output

    // Write loop only (_finSent also read under _sync).
    private bool _synSent;
    private bool _finSent;
    private bool _outboundDone;

    /// <summary>Bytes this side may still send.</summary>
    internal long SendWindow => Interlocked.Read(ref _sendWindow);

    /// <summary>Opens an outbound stream: its first frame carries SYN.</summary>
    internal void RequestOpen() => Interlocked.Or(ref _pendingFlags, (int)YamuxFlags.Syn);

    /// <summary>Accepts an inbound stream: its first frame carries ACK.</summary>
    internal void RequestAccept()
    {
        Interlocked.Or(ref _pendingFlags, (int)YamuxFlags.Ack);
        _session.ScheduleSend(this);
    }

    /// <summary>The remote granted <paramref name="delta"/> more bytes.</summary>
    internal void OnWindowUpdate(uint delta)
    {
        if (delta == 0)
        {
            return;
        }

        Interlocked.Add(ref _sendWindow, delta);
        _session.ScheduleSend(this);
    }

    /// <summary>The application flushed or completed <see cref="Output"/>.</summary>
    internal void OnOutputFlushed() => _session.ScheduleSend(this);

    /// <summary>Marks the write side closed; false if it already was.</summary>
    internal bool MarkWriteClosed()
    {
        if (_writeClosed)
        {
            return false;
        }

        _writeClosed = true;
        return true;
    }

    /// <summary>Throws if the application may not write: reset, session ended, or write side closed.</summary>
    internal void ThrowIfCannotWrite()
    {
        ThrowIfFailed();
        if (_writeClosed)
        {
            throw new InvalidOperationException($"the write side of yamux stream {Id} is closed");
        }
    }

    /// <summary>Throws the stream's failure, if any (reset or session end).</summary>
    internal void ThrowIfFailed()
    {
        lock (_sync)
        {
            if (_resetState != ResetNone)
            {
                throw new StreamResetException(Id, _resetState == ResetRemote);
            }

            if (_terminalError is not null)
            {
                throw _terminalError;
            }
        }
    }

    /// <summary>
    /// Write loop: emits this stream's pending control frame (SYN/ACK with window delta, window update,
    /// RST), then up to <paramref name="budget"/> data bytes within the send window, then FIN once the
    /// application completed <see cref="Output"/> and everything was sent. Returns the bytes written.
    /// </summary>
    internal int WriteFrames(PipeWriter output, int maxFramePayload, int budget, out bool more)
    {
        more = false;
        Volatile.Write(ref Scheduled, 0);
        var flags = (YamuxFlags)Interlocked.Exchange(ref _pendingFlags, 0);
        var written = 0;

        if ((flags & YamuxFlags.Rst) != 0)
        {
            if (!_outboundDone || _finSent)
            {
                // Nothing to reset on the wire if the remote never heard of the stream.
                if (IsInbound || _synSent)
                {
                    YamuxCodec.Write(output, YamuxFrameHeader.WindowUpdate(Id, 0, YamuxFlags.Rst));
                    written += YamuxCodec.HeaderSize;
                }

                FinishOutbound(new StreamResetException(Id, isRemote: false));
            }

            return written;
        }

        if (Volatile.Read(ref _resetState) != ResetNone || Volatile.Read(ref _terminalError) is not null)
        {
            if (!_outboundDone)
            {
                FinishOutbound(Volatile.Read(ref _terminalError) ?? new StreamResetException(Id, isRemote: true));
            }

            return 0;
        }

        var openFlags = flags & (YamuxFlags.Syn | YamuxFlags.Ack);
        var credit = Interlocked.Exchange(ref _pendingCredit, 0);
        if (openFlags != 0 || credit > 0)
        {
            YamuxCodec.Write(output, YamuxFrameHeader.WindowUpdate(Id, (uint)credit, openFlags));
            written += YamuxCodec.HeaderSize;
            _synSent |= (openFlags & YamuxFlags.Syn) != 0;
        }

        if (_outboundDone)
        {
            // Our FIN went out; window updates for the receive direction still do.
            return written;
        }

        var reader = _outbound.Reader;
        if (!reader.TryRead(out var result))
        {
            return written;
        }

        var buffer = result.Buffer;
        var length = buffer.Length; // read before AdvanceTo recycles the segments
        var window = Interlocked.Read(ref _sendWindow);
        var count = Math.Min(Math.Min(length, window), budget);
        if (count > 0)
        {
            YamuxSession.WriteDataFrames(output, Id, buffer.Slice(0, count), maxFramePayload);
            written += (int)count + (int)((count + maxFramePayload - 1) / maxFramePayload) * YamuxCodec.HeaderSize;
            Interlocked.Add(ref _sendWindow, -count);
        }

        var consumed = buffer.GetPosition(count);
        reader.AdvanceTo(consumed);

        if (count == length && result.IsCompleted)
        {
            YamuxCodec.Write(output, YamuxFrameHeader.WindowUpdate(Id, 0, YamuxFlags.Fin));
            written += YamuxCodec.HeaderSize;
            lock (_sync)
            {
                _finSent = true;
            }

            FinishOutbound(null);
            TryRetire();
        }
        else if (count < length && count < window)
        {
            // Budget used up while data and window remain: go to the back of the queue.
            more = true;
        }

        return written;
    }

    /// <summary>Write loop: the session ended; releases the outbound buffer.</summary>
    internal void AbandonOutbound(Exception error)
    {
        if (!_outboundDone)
        {
            FinishOutbound(error);
        }
    }

    private void FinishOutbound(Exception? error)
    {
        _outboundDone = true;
        _outbound.Reader.Complete(error);
    }
}
