using System.Buffers;

namespace PromiseGrid.Mesh.Yamux;

/// <summary>
/// The read loop: decodes frames from the connection, validates them against the protocol
/// (libp2p-wire.md §6), and copies data payloads straight into the streams' input pipes (the only
/// copy on the receive path). Payloads are copied as they arrive, so a frame never has to be
/// buffered whole.
/// </summary>
public sealed partial class YamuxSession
{
    // Read loop state.
    private long _payloadRemaining;
    private YamuxStream? _payloadStream;  // null: discard the payload (closed stream)
    private bool _finAfterPayload;
    private YamuxStream? _unflushedStream;

    private async Task ReadLoopAsync()
    {
        var input = _connection.Input;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync().ConfigureAwait(false);
                if (IsEnded)
                {
                    break;
                }

                var buffer = result.Buffer;

                // Frames written while this read is processed (window updates, pongs, and what
                // handlers resumed inline write) go out together after it, in one flush.
                t_corked = this;
                try
                {
                    ProcessFrames(ref buffer);
                    FlushReceived();
                }
                finally
                {
                    t_corked = null;
                }

                if (_corkedWrites)
                {
                    _corkedWrites = false;
                    WakeWriter();
                }

                var partialFrame = !buffer.IsEmpty || _payloadRemaining > 0; // read before AdvanceTo recycles the segments
                input.AdvanceTo(buffer.Start, buffer.End);

                if (result.IsCompleted)
                {
                    var detail = partialFrame ? " in the middle of a frame" : "";
                    EndSession(new ConnectionClosedException($"the remote closed the yamux connection{detail}", isRemote: true), goAway: null, fault: false);
                    break;
                }
            }
        }
        catch (ProtocolViolationException e)
        {
            YamuxLog.ProtocolViolation(_logger, _peer, e.Message);
            EndSession(e, YamuxGoAwayCode.ProtocolError, fault: true);
        }
        catch (Exception e)
        {
            EndSession(new ConnectionClosedException("reading the yamux connection failed", isRemote: true, e), goAway: null, fault: true);
        }
        finally
        {
            await input.CompleteAsync().ConfigureAwait(false);
        }
    }

    private void ProcessFrames(ref ReadOnlySequence<byte> buffer)
    {
        while (true)
        {
            if (_payloadRemaining > 0)
            {
                if (buffer.IsEmpty)
                {
                    return;
                }

                var count = Math.Min(_payloadRemaining, buffer.Length);
                var stream = _payloadStream;
                if (stream is not null)
                {
                    if (!ReferenceEquals(stream, _unflushedStream))
                    {
                        FlushReceived();
                        _unflushedStream = stream;
                    }

                    stream.WriteReceived(buffer.Slice(0, count));
                }

                buffer = buffer.Slice(count);
                _payloadRemaining -= count;
                if (_payloadRemaining == 0)
                {
                    _payloadStream = null;
                    if (_finAfterPayload && stream is not null)
                    {
                        _finAfterPayload = false;
                        FlushReceived();
                        stream.OnRemoteFin();
                    }
                }

                continue;
            }

            if (!YamuxCodec.TryRead(buffer, out var header))
            {
                return;
            }

            buffer = buffer.Slice(YamuxCodec.HeaderSize);
            HandleFrame(header);
        }
    }

    private void FlushReceived()
    {
        _unflushedStream?.FlushReceived();
        _unflushedStream = null;
    }

    private void HandleFrame(in YamuxFrameHeader header)
    {
        if (header.Version != YamuxCodec.Version)
        {
            throw new ProtocolViolationException($"yamux frame with unsupported version {header.Version}");
        }

        switch (header.Type)
        {
            case YamuxFrameType.Data:
            case YamuxFrameType.WindowUpdate:
                HandleStreamFrame(header);
                break;
            case YamuxFrameType.Ping:
                HandlePing(header);
                break;
            case YamuxFrameType.GoAway:
                _goAwayReceived = true;
                YamuxLog.GoAwayReceived(_logger, _peer, header.Length);
                break;
            default:
                throw new ProtocolViolationException($"yamux frame with unknown type {(byte)header.Type}");
        }
    }

    private void HandleStreamFrame(in YamuxFrameHeader header)
    {
        var id = header.StreamId;
        var isData = header.Type == YamuxFrameType.Data;
        if (id == YamuxCodec.SessionStreamId)
        {
            throw new ProtocolViolationException($"yamux {header.Type} frame on the session id 0");
        }

        if (isData && header.Length > Options.MaxStreamWindow)
        {
            throw new ProtocolViolationException(
                $"yamux data frame of {header.Length} bytes on stream {id} exceeds the largest window {Options.MaxStreamWindow}");
        }

        YamuxStream? stream;
        if (header.HasFlag(YamuxFlags.Syn))
        {
            stream = AcceptInbound(id);
        }
        else
        {
            lock (_streamsLock)
            {
                _streams.TryGetValue(id, out stream);
            }

            if (stream is null)
            {
                if (!WasOpened(id))
                {
                    throw new ProtocolViolationException($"yamux {header.Type} frame for stream {id}, which was never opened");
                }

                YamuxLog.LateFrameDropped(_logger, id, _peer);
            }
        }

        if (stream is null)
        {
            DiscardPayload(header);
            return;
        }

        if (header.HasFlag(YamuxFlags.Rst))
        {
            // Length of a window-update RST may carry an error code (go); it is never a window delta.
            stream.OnRemoteReset(isData ? 0 : header.Length);
            DiscardPayload(header);
            return;
        }

        var fin = header.HasFlag(YamuxFlags.Fin);
        if (!isData)
        {
            stream.OnWindowUpdate(header.Length);
            if (fin)
            {
                if (ReferenceEquals(stream, _unflushedStream))
                {
                    FlushReceived();
                }

                stream.OnRemoteFin();
            }

            return;
        }

        stream.OnDataHeader(header.Length);
        if (header.Length == 0)
        {
            if (fin)
            {
                if (ReferenceEquals(stream, _unflushedStream))
                {
                    FlushReceived();
                }

                stream.OnRemoteFin();
            }

            return;
        }

        _payloadRemaining = header.Length;
        _payloadStream = stream;
        _finAfterPayload = fin;
    }

    private void DiscardPayload(in YamuxFrameHeader header)
    {
        if (header.Type == YamuxFrameType.Data && header.Length > 0)
        {
            _payloadRemaining = header.Length;
            _payloadStream = null;
            _finAfterPayload = false;
        }
    }

    /// <summary>Whether a stream id without a live stream was opened before (a late frame, legal) or never (a violation).</summary>
    private bool WasOpened(uint id)
    {
        var ours = (id & 1) == (_isClient ? 1u : 0u);
        lock (_streamsLock)
        {
            return ours ? id < _nextStreamId : id <= _lastRemoteStreamId;
        }
    }

    /// <summary>A SYN arrived: registers and queues the stream for accept, or rejects it with RST.</summary>
    private YamuxStream? AcceptInbound(uint id)
    {
        var ours = (id & 1) == (_isClient ? 1u : 0u);
        if (ours)
        {
            throw new ProtocolViolationException($"yamux SYN for stream {id}, whose parity belongs to this side");
        }

        string? rejected = null;
        YamuxStream? stream = null;
        lock (_streamsLock)
        {
            // Concurrent opens may send SYNs slightly out of id order (go does), so only a SYN
            // for a live stream is a violation.
            if (_streams.ContainsKey(id))
            {
                throw new ProtocolViolationException($"yamux SYN for stream {id}, which is already open");
            }

            _lastRemoteStreamId = Math.Max(_lastRemoteStreamId, id);
            if (_ended)
            {
                return null;
            }

            if (_goAwaySent)
            {
                rejected = "going away";
            }
            else if (_streams.Count >= Options.MaxStreams)
            {
                rejected = "stream limit reached";
            }
            else
            {
                stream = new YamuxStream(this, id, isInbound: true, Options);
                _streams.Add(id, stream);
                if (!_acceptQueue.Writer.TryWrite(stream))
                {
                    _streams.Remove(id);
                    stream = null;
                    rejected = "accept backlog full";
                }
            }
        }

        if (rejected is not null)
        {
            YamuxLog.StreamRejected(_logger, id, _peer, rejected);
            if (!EnqueueControl(YamuxFrameHeader.WindowUpdate(id, 0, YamuxFlags.Rst)))
            {
                throw new ProtocolViolationException("the remote floods the yamux session with streams it does not let this side answer");
            }
        }

        return stream;
    }

    private void HandlePing(in YamuxFrameHeader header)
    {
        if (header.HasFlag(YamuxFlags.Syn))
        {
            if (!EnqueueControl(YamuxFrameHeader.Ping(YamuxFlags.Ack, header.Length)))
            {
                throw new ProtocolViolationException("the remote floods the yamux session with pings it does not read the replies of");
            }
        }
        else if (header.HasFlag(YamuxFlags.Ack))
        {
            OnPong(header.Length);
        }
    }
}
