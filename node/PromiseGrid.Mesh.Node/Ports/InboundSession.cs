using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;
using PromiseGrid.Mesh.Ports.Wire;

namespace PromiseGrid.Mesh.Node.Ports;

/// <summary>
/// One <c>/promisegrid/ports/1.0.0</c> stream a client opened to this node: reads requests in
/// order, applies each new one exactly once (<see cref="InboundLink"/>), and writes outcomes,
/// acknowledgements batched into ranges.
/// </summary>
internal sealed class InboundSession(RemotePorts owner, InboundLink link, IMuxedStream stream)
{
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _abort = new();
    private List<ulong> _acked = [];
    private List<PortsFrame> _answers = [];
    private List<ulong> _spareAcked = [];
    private List<PortsFrame> _spareAnswers = [];
    private bool _writing;
    private bool _inBatch;
    private LimitExceededException? _cutOff;

    /// <summary>Queues an outcome for the client (under the link's lock).</summary>
    public void Post(ulong seq, ServerOutcome outcome)
    {
        switch (outcome.State)
        {
            case ServerOutcomeState.Acked:
                _acked.Add(seq);
                break;
            case ServerOutcomeState.Nacked:
                _answers.Add(new NackFrame(seq, PortsErrorCodes.ForVersion(outcome.Code, link.Version), outcome.Message ?? string.Empty));
                break;
            case ServerOutcomeState.Result:
                _answers.Add(new ResultFrame(seq, outcome.Port));
                break;
        }

        if (!_inBatch)
        {
            _wake.Writer.TryWrite(true);
        }
    }

    /// <summary>A newer stream of the same client took over: this one stops.</summary>
    public void Abort() => _abort.Cancel();

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _abort.Token);

        // Each read is applied under short locks and never blocks: no thread hand-off per read.
        stream.ResumeReadsInline();
        var reader = ReadAsync(stream.Input, stop.Token);
        var writer = WriteAsync(stream.Output, stop.Token);
        var first = await Task.WhenAny(reader, writer).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(reader, writer).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        if (!first.IsCanceled)
        {
            await first.ConfigureAwait(false);
        }
    }

    private async Task ReadAsync(PipeReader input, CancellationToken cancellationToken)
    {
        var max = owner.Options.MaxFrameSize;
        var batch = new List<Incoming>();
        while (true)
        {
            var read = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = read.Buffer;
            try
            {
                while (batch.Count < MaxBatch && PortsFrameCodec.TryReadFrame(ref buffer, max, out var body))
                {
                    batch.Add(Incoming.Parse(body));
                }
            }
            finally
            {
                // A full batch leaves whole frames behind: mark only what was consumed, so the next read returns at once.
                if (batch.Count >= MaxBatch)
                {
                    input.AdvanceTo(buffer.Start);
                }
                else
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                }
            }

            // Receivers that resume inline run after the outcomes are written and every lock is released.
            bool keepGoing;
            PortKernel.BeginInlineResumes();
            try
            {
                keepGoing = Process(batch);
                batch.Clear();
                if (keepGoing)
                {
                    WriteInline(stream.Output);
                }
            }
            finally
            {
                PortKernel.EndInlineResumes();
            }

            if (_cutOff is { } limit)
            {
                // The outcomes of what was applied went out first; the stream then ends (closed, not
                // reset, so they arrive) and the rest is not read.
                owner.LogSessionFailed(link.Peer, limit.Message);
                return;
            }

            if (!keepGoing || (read.IsCompleted && buffer.IsEmpty))
            {
                return;
            }
        }
    }

    /// <summary>Frames applied under one lock hold.</summary>
    private const int MaxBatch = 512;

    /// <summary>
    /// A decoded frame; a deliver's envelope is decoded before any lock is taken, straight from
    /// the pipe's buffer (its payload copied out, so it outlives the buffer), and a deliver has no
    /// frame object (<see cref="Frame"/> is null).
    /// </summary>
    private readonly record struct Incoming(PortsFrameType Type, PortsFrame? Frame, ulong Seq, uint TimeoutMilliseconds, MessageEnvelope Envelope, MeshException? EnvelopeError)
    {
        public static Incoming Parse(in ReadOnlySequence<byte> body)
        {
            if (body.IsSingleSegment && PortsFrameCodec.TryReadDeliverInPlace(body.FirstSpan, out var quickSeq, out var quickTimeout, out var quick))
            {
                return new Incoming(PortsFrameType.Deliver, null, quickSeq, quickTimeout, quick, null);
            }

            if (!PortsFrameCodec.TryReadDeliver(body, out var seq, out var timeout, out var envelope))
            {
                var frame = PortsFrameCodec.Decode(body.IsSingleSegment ? body.First : body.ToArray());
                return new Incoming(frame.Type, frame, frame is PortsRequest request ? request.Seq : 0, 0, default, null);
            }

            try
            {
                return new Incoming(PortsFrameType.Deliver, null, seq, timeout, MessageEnvelopeCodec.DecodeCopy(envelope), null);
            }
            catch (MeshException e)
            {
                return new Incoming(PortsFrameType.Deliver, null, seq, timeout, default, e);
            }
        }
    }

    /// <summary>Applies a batch of frames in order, each new request exactly once; false when this stream was replaced.</summary>
    private bool Process(List<Incoming> batch)
    {
        if (batch.Count == 0)
        {
            return true;
        }

        lock (link.Gate)
        {
            if (link.Current != this)
            {
                return false;
            }

            _inBatch = true;
            try
            {
                ProcessLocked(batch);
            }
            finally
            {
                _inBatch = false;
            }
        }

        return true;
    }

    /// <summary>Applies each frame of a batch (under the link's lock, taking the kernel's once).</summary>
    private void ProcessLocked(List<Incoming> batch)
    {
        using (owner.Kernel.Sync.EnterScope())
        {
            foreach (var item in batch)
            {
                switch (item.Frame)
                {
                    case ConfirmFrame confirm:
                        link.Confirm(confirm.Through);
                        break;
                    case null or PortsRequest:
                        var seq = item.Seq;
                        if (seq <= link.Confirmed)
                        {
                            break;
                        }

                        if (link.Seen.TryGetValue(seq, out var known))
                        {
                            if (known.State != ServerOutcomeState.Pending)
                            {
                                Post(seq, known);
                            }

                            break;
                        }

                        if (link.Seen.Count >= owner.Options.MaxUnconfirmedPerPeer)
                        {
                            // A client that never confirms would make this node remember without bound.
                            _cutOff = new LimitExceededException("unconfirmed requests", link.Seen.Count + 1, owner.Options.MaxUnconfirmedPerPeer);
                            return;
                        }

                        var outcome = Execute(item);
                        link.Seen.Add(seq, outcome);
                        if (outcome.State != ServerOutcomeState.Pending)
                        {
                            Post(seq, outcome);
                        }

                        break;
                    default:
                        throw new ProtocolViolationException($"a client sent a {item.Frame.Type} frame after hello");
                }
            }
        }
    }

    /// <summary>Applies a new request (under the link's and the kernel's locks); a deliver that waits for room completes later.</summary>
    private ServerOutcome Execute(in Incoming item)
    {
        var kernel = owner.Kernel;
        var peer = link.Peer;
        try
        {
            switch (item.Frame)
            {
                case null:
                    if (item.EnvelopeError is { } malformed)
                    {
                        throw malformed;
                    }

                    TimeSpan? timeout = item.TimeoutMilliseconds == 0 ? null : TimeSpan.FromMilliseconds(item.TimeoutMilliseconds);
                    var queued = kernel.DeliverFromNetworkLocked(peer, item.Envelope, timeout, owner.Stopping);
                    if (queued.IsCompletedSuccessfully)
                    {
                        return ServerOutcome.Acked;
                    }

                    var pending = new ServerOutcome { State = ServerOutcomeState.Pending };
                    owner.ParkedDelivers.Rent().Start(link, item.Seq, pending, queued);
                    return pending;
                case GrantFrame grant:
                    kernel.GrantFromNetworkLocked(peer, grant.Port, grant.Holder, grant.RightType == PortDisposition.PortSendOnce ? PortRight.SendOnce : PortRight.Send, grant.Revoke);
                    return ServerOutcome.Acked;
                case ReleaseFrame release:
                    kernel.ReleaseFromNetworkLocked(peer, release.Port, release.Send, release.SendOnce);
                    return ServerOutcome.Acked;
                case LookupFrame lookup:
                    return new ServerOutcome { State = ServerOutcomeState.Result, Port = kernel.LookupFromNetworkLocked(peer, lookup.Port, lookup.Name) };
                case PortDeadFrame dead:
                    // A node can only declare its own ports dead: the references are built with its id.
                    kernel.MarkRemotePortsDeadLocked(peer, dead.Ports);
                    return ServerOutcome.Acked;
                default:
                    throw new ProtocolViolationException($"unexpected request {item.Type}");
            }
        }
        catch (Exception e) when (e is MeshException)
        {
            var code = ToCode(e);
            owner.LogRefused(item.Type, peer, code, e.Message);
            return new ServerOutcome { State = ServerOutcomeState.Nacked, Code = code, Message = e.Message };
        }
    }

    private static PortsErrorCode ToCode(Exception e) => e switch
    {
        PortDeadException => PortsErrorCode.NoSuchPort,
        NoRightException => PortsErrorCode.NoRight,
        MessageTooLargeException => PortsErrorCode.TooLarge,
        InvalidRightException => PortsErrorCode.Unsupported,
        PortIdInUseException => PortsErrorCode.PortExists,
        SendTimeoutException => PortsErrorCode.Timeout,
        _ => PortsErrorCode.Malformed,
    };

    private async Task WriteAsync(PipeWriter output, CancellationToken cancellationToken)
    {
        while (await _wake.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            _wake.Reader.TryRead(out _);
            while (TakeOutcomes(output))
            {
                try
                {
                    var flush = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                    if (flush.IsCompleted)
                    {
                        return;
                    }
                }
                finally
                {
                    EndWrite();
                }
            }
        }
    }

    /// <summary>
    /// Writes the outcomes of a batch on the reading thread when nobody else is writing: one
    /// hand-off fewer per acknowledgement. Otherwise the writer loop does it.
    /// </summary>
    private void WriteInline(PipeWriter output)
    {
        if (!TakeOutcomes(output))
        {
            return;
        }

        try
        {
            var flush = output.FlushAsync();
            if (!flush.IsCompleted)
            {
                _ = FinishFlushAsync(flush);
                return;
            }

            flush.GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException or OperationCanceledException or MeshException)
        {
            // The stream is failing: the reader sees it too.
        }

        EndWrite();
    }

    private async Task FinishFlushAsync(ValueTask<FlushResult> flush)
    {
        try
        {
            await flush.ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException or OperationCanceledException or MeshException)
        {
        }

        EndWrite();
    }

    /// <summary>Takes the stream for writing and writes the queued outcomes; false if nothing to write or someone else is writing.</summary>
    private bool TakeOutcomes(PipeWriter output)
    {
        List<ulong> acked;
        List<PortsFrame> answers;
        lock (link.Gate)
        {
            if (_writing || (_acked.Count == 0 && _answers.Count == 0))
            {
                return false;
            }

            _writing = true;
            (acked, _acked) = (_acked, _spareAcked);
            (answers, _answers) = (_answers, _spareAnswers);
        }

        if (acked.Count > 0)
        {
            PortsFrameCodec.Write(new AckFrame(InboundLink.ToRanges(acked)), output);
            acked.Clear();
        }

        foreach (var answer in answers)
        {
            PortsFrameCodec.Write(answer, output);
        }

        answers.Clear();
        lock (link.Gate)
        {
            _spareAcked = acked;
            _spareAnswers = answers;
        }

        return true;
    }

    /// <summary>Releases the stream; if outcomes arrived meanwhile, the writer loop takes them.</summary>
    private void EndWrite()
    {
        bool more;
        lock (link.Gate)
        {
            _writing = false;
            more = _acked.Count > 0 || _answers.Count > 0;
        }

        if (more)
        {
            _wake.Writer.TryWrite(true);
        }
    }
}
