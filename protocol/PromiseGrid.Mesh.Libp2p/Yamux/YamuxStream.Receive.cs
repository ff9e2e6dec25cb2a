using System.Buffers;
using System.Diagnostics;

namespace PromiseGrid.Mesh.Yamux;

/// <summary>Receive direction: the read loop's entry points and the receive window (libp2p-wire.md §6.4).</summary>
public sealed partial class YamuxStream
{
    // Guarded by _sync.
    private long _recvCredit;      // bytes the remote may still send
    private long _buffered;        // received, not yet consumed by the application
    private int _recvWindowMax;    // current receive window (auto-tuned up to MaxStreamWindow)
    private long _lastGrantTimestamp;
    private bool _finReceived;
    private bool _inboundDone;     // _inbound.Writer completed
    private bool _readClosed;      // the application completed Input
    private bool _inboundUnflushed;
    private int _resetState;
    private Exception? _terminalError;

    /// <summary>Bytes the remote may still send before it needs a window update.</summary>
    internal long ReceiveCredit
    {
        get { lock (_sync) { return _recvCredit; } }
    }

    /// <summary>Current receive window size (grows when auto-tuning).</summary>
    internal int ReceiveWindowSize
    {
        get { lock (_sync) { return _recvWindowMax; } }
    }

    /// <summary>Bytes received and not yet consumed by the application.</summary>
    internal long BufferedReceiveBytes
    {
        get { lock (_sync) { return _buffered; } }
    }

    private void InitializeFlowControl(YamuxOptions options)
    {
        _sendWindow = YamuxCodec.InitialWindow;
        _recvWindowMax = options.InitialStreamWindow;
        _recvCredit = options.InitialStreamWindow;

        // A window larger than the spec's default is advertised on the SYN or ACK frame.
        _pendingCredit = options.InitialStreamWindow - YamuxCodec.InitialWindow;
    }

    /// <summary>A data frame of <paramref name="length"/> bytes starts; checks it fits the window.</summary>
    /// <exception cref="ProtocolViolationException">Data after FIN or beyond the receive window.</exception>
    internal void OnDataHeader(uint length)
    {
        lock (_sync)
        {
            if (_resetState != ResetNone || _terminalError is not null)
            {
                return;
            }

            if (_finReceived)
            {
                throw new ProtocolViolationException($"yamux data on stream {Id} after the remote's FIN");
            }

            if (length > _recvCredit)
            {
                throw new ProtocolViolationException(
                    $"yamux data frame of {length} bytes on stream {Id} exceeds the receive window of {_recvCredit} bytes");
            }

            _recvCredit -= length;
        }
    }

    /// <summary>Copies received payload bytes into <see cref="Input"/> (not yet flushed).</summary>
    internal void WriteReceived(in ReadOnlySequence<byte> data)
    {
        bool schedule = false;
        lock (_sync)
        {
            if (_inboundDone)
            {
                if (_readClosed && !_finReceived && _resetState == ResetNone)
                {
                    // The application stopped reading: act as a sink and keep the remote going.
                    _recvCredit += data.Length;
                    Interlocked.Add(ref _pendingCredit, data.Length);
                    schedule = true;
                }
            }
            else
            {
                var writer = _inbound.Writer;
                foreach (var segment in data)
                {
                    writer.Write(segment.Span);
                }

                _buffered += data.Length;
                _inboundUnflushed = true;
            }
        }

        if (schedule)
        {
            _session.ScheduleSend(this);
        }
    }

    /// <summary>
    /// Makes the bytes written by <see cref="WriteReceived"/> visible to the application. A reader
    /// that asked to resume inline runs here, on the read loop, after the stream's lock is released.
    /// </summary>
    internal void FlushReceived()
    {
        ReadScheduler.Continuation resume;
        lock (_sync)
        {
            if (_inboundDone)
            {
                return;
            }

            _readScheduler.Defer = true;
            try
            {
                FlushInboundLocked();
            }
            finally
            {
                _readScheduler.Defer = false;
            }

            resume = _readScheduler.TakeDeferred();
        }

        resume.Run();
    }

    private void FlushInboundLocked()
    {
        if (!_inboundUnflushed)
        {
            return;
        }

        _inboundUnflushed = false;

        // The inbound pipe never pauses (the receive window bounds it), so this completes at once.
        var flush = _inbound.Writer.FlushAsync(CancellationToken.None);
        Debug.Assert(flush.IsCompleted, "the inbound pipe must not pause");
        if (flush.IsCompleted)
        {
            flush.GetAwaiter().GetResult();
        }
    }

    /// <summary>The remote half-closed: <see cref="Input"/> completes after the received bytes.</summary>
    internal void OnRemoteFin()
    {
        lock (_sync)
        {
            if (_finReceived || _resetState != ResetNone)
            {
                return;
            }

            _finReceived = true;
            CompleteInboundLocked(null);
        }

        TryRetire();
    }

    /// <summary>The remote reset the stream.</summary>
    internal void OnRemoteReset(uint errorCode)
    {
        lock (_sync)
        {
            if (_resetState != ResetNone || _terminalError is not null || (_finSent && _finReceived))
            {
                return;
            }

            _resetState = ResetRemote;
            CompleteInboundLocked(new StreamResetException(Id, isRemote: true, errorCode));
        }

        _outbound.Writer.CancelPendingFlush();
        _session.ScheduleSend(this);
        TryRetire();
    }

    /// <summary>The application consumed <paramref name="count"/> bytes: return window credit when due.</summary>
    internal void OnConsumed(long count)
    {
        bool schedule;
        lock (_sync)
        {
            _buffered -= count;
            schedule = GrantCreditLocked();
        }

        if (schedule)
        {
            _session.ScheduleSend(this);
        }
    }

    /// <summary>The application completed <see cref="Input"/>: later data is discarded and credited back.</summary>
    internal void OnInputCompleted()
    {
        bool schedule = false;
        lock (_sync)
        {
            if (_readClosed)
            {
                return;
            }

            _readClosed = true;
            if (!_inboundDone)
            {
                // Releases the buffered segments; the reader is gone, so nobody observes this.
                _inboundDone = true;
                _inbound.Writer.Complete();
            }
            if (!_finReceived && _resetState == ResetNone && _terminalError is null)
            {
                // Everything still buffered was dropped with the reader: give that credit back.
                var returned = _buffered;
                _buffered = 0;
                if (returned > 0)
                {
                    _recvCredit += returned;
                    Interlocked.Add(ref _pendingCredit, returned);
                    schedule = true;
                }
            }
        }

        if (schedule)
        {
            _session.ScheduleSend(this);
        }
    }

    /// <summary>
    /// go-yamux's rule: send <c>maxWindow − buffered − credit</c> once it is at least half the window;
    /// when auto-tuning, double the window if the previous grant was less than 4 RTTs ago.
    /// </summary>
    private bool GrantCreditLocked()
    {
        if (_finReceived || _inboundDone || _resetState != ResetNone)
        {
            return false;
        }

        var delta = _recvWindowMax - _buffered - _recvCredit;
        if (delta < _recvWindowMax / 2)
        {
            return false;
        }

        var time = _session.TimeProvider;
        var now = time.GetTimestamp();
        var maxWindow = _session.Options.MaxStreamWindow;
        if (_recvWindowMax < maxWindow && _lastGrantTimestamp != 0)
        {
            var rtt = _session.Rtt;
            if (rtt > TimeSpan.Zero && time.GetElapsedTime(_lastGrantTimestamp, now) < rtt * 4)
            {
                var grown = (int)Math.Min((long)_recvWindowMax * 2, maxWindow);
                delta += grown - _recvWindowMax;
                _recvWindowMax = grown;
                _session.OnWindowGrown(this, grown);
            }
        }

        _lastGrantTimestamp = now;
        _recvCredit += delta;
        Interlocked.Add(ref _pendingCredit, delta);
        return true;
    }
}
