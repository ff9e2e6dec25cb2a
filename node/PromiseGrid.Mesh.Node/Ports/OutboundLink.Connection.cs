using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Ports;
using PromiseGrid.Mesh.Ports.Wire;

namespace PromiseGrid.Mesh.Node.Ports;

internal sealed partial class OutboundLink
{
    /// <summary>Connects while there is work, writes requests, reads outcomes; redials with backoff and jitter.</summary>
    private async Task RunAsync()
    {
        await Task.Yield();
        var token = _stopping.Token;
        var failures = 0;
        while (!token.IsCancellationRequested)
        {
            if (!HasWork())
            {
                try
                {
                    if (!await _wake.Reader.WaitToReadAsync(token).ConfigureAwait(false))
                    {
                        return;
                    }

                    TakeWake();
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            IMuxedStream? stream = null;
            var wasConnected = false;
            try
            {
                stream = await _owner.OpenStreamAsync(Peer, token).ConfigureAwait(false);
                await HandshakeAsync(stream, token).ConfigureAwait(false);
                wasConnected = true;
                failures = 0;
                await PumpAsync(stream, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is MeshException or IOException or OperationCanceledException or InvalidOperationException or ObjectDisposedException)
            {
                Log.StreamFailed(_logger, Peer.ToString(), e.Message);
            }
            finally
            {
                lock (_gate)
                {
                    foreach (var r in _unresolved.Values)
                    {
                        r.WrittenOnStream = false;
                    }
                }

                if (stream is not null)
                {
                    stream.Reset();
                    await stream.DisposeAsync().ConfigureAwait(false);
                }
            }

            if (wasConnected)
            {
                _owner.CountReconnect();
                continue;
            }

            var delays = _owner.Options.RedialDelays;
            var delay = delays[Math.Min(failures++, delays.Count - 1)];
            var jitter = 0.8 + (Random.Shared.NextDouble() * 0.4);
            try
            {
                await Task.Delay(delay * jitter, _owner.Time, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private bool HasWork()
    {
        lock (_gate)
        {
            return _unresolved.Count > 0 || _confirmedSent + 1 < _lowest;
        }
    }

    private async Task HandshakeAsync(IMuxedStream stream, CancellationToken cancellationToken)
    {
        ulong confirmed;
        lock (_gate)
        {
            confirmed = _lowest - 1;
        }

        PortsFrameCodec.Write(new HelloFrame(PortsFrameCodec.Version, _owner.Epoch, confirmed), stream.Output);
        await stream.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_owner.Options.HelloTimeout);
        var frame = await PortsStreams.ReadFrameAsync(stream.Input, _owner.Options.MaxFrameSize, timeout.Token).ConfigureAwait(false)
            ?? throw new ProtocolViolationException($"{Peer} closed the ports stream during the hello exchange");
        if (frame is not WelcomeFrame welcome)
        {
            throw new ProtocolViolationException($"{Peer} answered hello with {frame.Type}");
        }

        if (welcome.Version is 0 or > PortsFrameCodec.Version)
        {
            throw new ProtocolViolationException($"{Peer} chose ports version {welcome.Version}, this node speaks {PortsFrameCodec.Version}");
        }

        ulong? previousEpoch;
        lock (_gate)
        {
            previousEpoch = _remoteEpoch;
            _remoteEpoch = welcome.Epoch;
        }

        var restarted = previousEpoch is { } known && known != welcome.Epoch;
        _owner.ObserveEpoch(Peer, welcome.Epoch);
        ApplyWelcome(welcome, restarted);
    }

    /// <summary>Settles what the server already decided, marks what it holds, and rewinds so the rest is resent.</summary>
    private void ApplyWelcome(WelcomeFrame welcome, bool restarted)
    {
        List<(PendingRequest, Outcome)>? settled = null;
        lock (_gate)
        {
            if (restarted)
            {
                // What the previous run of the peer was given is lost with it, or was enqueued and then lost: unknown.
                foreach (var r in _unresolved.Values.Where(r => r.Written).ToList())
                {
                    TakeLocked(r.Seq, Outcome.LocalFailure(new NodeUnreachableException($"{Peer} restarted before answering; the message may have been enqueued there", mayHaveBeenDelivered: true), taken: true), ref settled);
                }
            }

            foreach (var r in _unresolved.Values)
            {
                r.SeenByServer = false;
            }

            foreach (var range in welcome.Acked)
            {
                TakeAckedLocked(range, ref settled);
            }

            foreach (var nack in welcome.Nacks)
            {
                TakeLocked(nack.Seq, Outcome.Nacked(nack.Code, nack.Message), ref settled);
            }

            foreach (var result in welcome.Results)
            {
                TakeLocked(result.Seq, Outcome.Result(result.Port), ref settled);
            }

            foreach (var seq in welcome.Pending)
            {
                if (_unresolved.TryGetValue(seq, out var r))
                {
                    r.SeenByServer = true;
                }
            }

            foreach (var r in _unresolved.Values.Where(r => r.Abandoned && r.Written && !r.SeenByServer).ToList())
            {
                // Its caller was answered already and the server never saw it: it certainly was not enqueued.
                TakeLocked(r.Seq, Outcome.LocalFailure(new NodeUnreachableException("not delivered", false), taken: false), ref settled);
            }

            _writeCursor = _lowest;
        }

        SettleAll(settled);
    }

    /// <summary>
    /// Settles the acknowledged requests of <paramref name="range"/>; only the outstanding numbers
    /// are visited (ranges are ascending and disjoint, so a frame costs at most the window).
    /// </summary>
    private void TakeAckedLocked(SeqRange range, ref List<(PendingRequest, Outcome)>? settled)
    {
        var end = Math.Min(range.Start + range.Count, _nextSeq);
        for (var seq = Math.Max(range.Start, _lowest); seq < end; seq++)
        {
            TakeLocked(seq, Outcome.Acked, ref settled);
        }
    }

    private void TakeLocked(ulong seq, Outcome outcome, ref List<(PendingRequest, Outcome)>? settled)
    {
        if (!_unresolved.Remove(seq, out var r))
        {
            return;
        }

        AdvanceLowestLocked();
        (settled ??= []).Add((r, outcome));
    }

    /// <summary>Writes requests and reads outcomes until the stream fails.</summary>
    private async Task PumpAsync(IMuxedStream stream, CancellationToken cancellationToken)
    {
        using var pumpStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

        // Outcomes are settled under short locks and callers resume on the thread pool anyway.
        stream.ResumeReadsInline();
        var reader = ReadOutcomesAsync(stream.Input, pumpStop.Token);
        var writer = WriteRequestsAsync(stream.Output, pumpStop.Token);
        var first = await Task.WhenAny(reader, writer).ConfigureAwait(false);
        await pumpStop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(reader, writer).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }

        await first.ConfigureAwait(false);
    }

    private async Task WriteRequestsAsync(PipeWriter output, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _output = output;
        }

        try
        {
            while (true)
            {
                bool wrote;
                List<(PendingRequest, Outcome)>? dropped = null;
                lock (_gate)
                {
                    // An inline writer holds the stream: it wakes this loop when it is done.
                    wrote = !_writing && FillLocked(output, ref dropped);
                    if (wrote)
                    {
                        _writing = true;
                    }
                }

                SettleAll(dropped);
                if (wrote)
                {
                    try
                    {
                        var flush = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                        if (flush.IsCompleted)
                        {
                            throw new IOException($"{Peer} stopped reading the ports stream");
                        }
                    }
                    finally
                    {
                        lock (_gate)
                        {
                            _writing = false;
                        }
                    }

                    continue;
                }

                if (!await _wake.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return;
                }

                TakeWake();
            }
        }
        finally
        {
            lock (_gate)
            {
                _output = null;
            }
        }
    }

    /// <summary>
    /// Writes ready requests on the calling thread when the stream is open, nobody is writing and no
    /// earlier request is still unresolved: one hand-off fewer for a lone request (its latency). A
    /// burst goes to the writer loop, which packs what arrived meanwhile into one flush (each flush
    /// is an encryption and a system call below). False when the writer loop must do it.
    /// </summary>
    private bool TryWriteInline()
    {
        PipeWriter output;
        List<(PendingRequest, Outcome)>? dropped = null;
        if (_owner.Kernel.Sync.IsHeldByCurrentThread)
        {
            // Called back from inside the kernel (a release, a port death): settle nothing here.
            return false;
        }

        lock (_gate)
        {
            if (_writing || _output is null || _writeCursor > _lowest)
            {
                return false;
            }

            output = _output;
            try
            {
                if (!FillLocked(output, ref dropped))
                {
                    return true;
                }
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException or MeshException)
            {
                // The stream is failing: the connection loop reconnects and resends from the lowest unresolved request.
                return false;
            }

            _writing = true;
        }

        SettleAll(dropped);
        try
        {
            var flush = output.FlushAsync();
            if (!flush.IsCompleted)
            {
                _ = FinishInlineFlushAsync(flush);
                return true;
            }

            flush.GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException or OperationCanceledException or MeshException)
        {
            // The stream is failing: the connection loop sees it and reconnects.
        }

        EndInlineWrite();
        return true;
    }

    private async Task FinishInlineFlushAsync(ValueTask<FlushResult> flush)
    {
        try
        {
            await flush.ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException or OperationCanceledException or MeshException)
        {
        }

        EndInlineWrite();
    }

    /// <summary>Releases the stream after an inline write; the writer loop takes whatever arrived meanwhile.</summary>
    private void EndInlineWrite()
    {
        bool more;
        lock (_gate)
        {
            _writing = false;
            more = NeedsWriterLocked();
        }

        if (more)
        {
            WakeWriter();
        }
    }

    /// <summary>True when the writer has something to do: requests not yet written, or a full confirm backlog.</summary>
    private bool NeedsWriterLocked() =>
        _writeCursor < _nextSeq || (_lowest > _confirmedSent + 1 && _lowest - 1 - _confirmedSent >= ConfirmBacklog);

    /// <summary>Writes the next requests (up to the window and 256 KiB) into <paramref name="output"/>; true if anything was written.</summary>
    private bool FillLocked(PipeWriter output, ref List<(PendingRequest, Outcome)>? dropped)
    {
        var wrote = false;
        var end = Math.Min(_nextSeq, _lowest + (ulong)_owner.Options.SendWindow);
        var bytes = 0;
        for (; _writeCursor < end && bytes < 256 << 10; _writeCursor++)
        {
            if (!_unresolved.TryGetValue(_writeCursor, out var r) || r.SeenByServer || r.WrittenOnStream)
            {
                continue;
            }

            if (r.Abandoned && !r.Written)
            {
                // Cancelled before it ever left: certainly not enqueued.
                TakeLocked(r.Seq, Outcome.LocalFailure(new OperationCanceledException(), taken: false), ref dropped);
                continue;
            }

            if (!r.HasFrame)
            {
                break;
            }

            var frame = r.Frame;
            output.Write(frame);
            bytes += frame.Count;
            if (r.Written)
            {
                _owner.CountResent();
            }
            else
            {
                _owner.CountSent();
            }

            r.Written = true;
            r.WrittenOnStream = true;
            wrote = true;
        }

        // The confirm rides along with requests once a few outcomes await it, goes out alone once
        // 1,024 do, and otherwise waits for the sweep to find the link idle: never a write of its
        // own per answer, nor a confirm (and a prune at the server) per flush.
        var backlog = _lowest - 1 - _confirmedSent;
        if (_lowest > _confirmedSent + 1 && (_confirmDue || backlog >= ConfirmBacklog || (wrote && backlog >= ConfirmRide)))
        {
            _confirmDue = false;
            _confirmedSent = _lowest - 1;
            PortsFrameCodec.Write(new ConfirmFrame(_confirmedSent), output);
            wrote = true;
        }

        return wrote;
    }

    private async Task ReadOutcomesAsync(PipeReader input, CancellationToken cancellationToken)
    {
        var max = _owner.Options.MaxFrameSize;
        List<(PendingRequest, Outcome)>? settled = [];
        while (true)
        {
            var read = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = read.Buffer;
            var wake = false;
            settled?.Clear();
            try
            {
                while (PortsFrameCodec.TryReadFrame(ref buffer, max, out var body))
                {
                    var frame = PortsFrameCodec.Decode(body.IsSingleSegment ? body.First : body.ToArray());
                    lock (_gate)
                    {
                        switch (frame)
                        {
                            case AckFrame ack:
                                foreach (var range in ack.Ranges)
                                {
                                    TakeAckedLocked(range, ref settled);
                                }

                                break;
                            case NackFrame nack:
                                TakeLocked(nack.Seq, Outcome.Nacked(nack.Code, nack.Message), ref settled);
                                break;
                            case ResultFrame result:
                                TakeLocked(result.Seq, Outcome.Result(result.Port), ref settled);
                                break;
                            default:
                                throw new ProtocolViolationException($"{Peer} sent a {frame.Type} frame on the ports stream");
                        }

                        _settledSinceSweep = true;
                        wake = NeedsWriterLocked();
                    }
                }
            }
            finally
            {
                input.AdvanceTo(buffer.Start, buffer.End);
            }

            SettleAll(settled);
            if (wake)
            {
                // Requests waiting for room in the window, or a full backlog of outcomes to confirm.
                WakeWriter();
            }

            if (read.IsCompleted)
            {
                throw new IOException($"{Peer} closed the ports stream");
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4200, EventName = "PortsStreamFailed", Level = LogLevel.Debug, Message = "ports stream to {PeerId} ended: {Reason}")]
        public static partial void StreamFailed(ILogger logger, string peerId, string reason);
    }
}
