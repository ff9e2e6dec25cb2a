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

    /// <summary>Queues an outcome for the client (under the link's lock).</summary>
    public void Post(ulong seq, ServerOutcome outcome)
    {
        switch (outcome.State)
        {
            case ServerOutcomeState.Acked:
                _acked.Add(seq);
                break;
            case ServerOutcomeState.Nacked:
                _answers.Add(new NackFrame(seq, outcome.Code, outcome.Message ?? string.Empty));
                break;
            case ServerOutcomeState.Result:
                _answers.Add(new ResultFrame(seq, outcome.Port));
                break;
        }

        _wake.Writer.TryWrite(true);
    }

    /// <summary>A newer stream of the same client took over: this one stops.</summary>
    public void Abort() => _abort.Cancel();

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _abort.Token);
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
        while (true)
        {
            var read = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = read.Buffer;
            try
            {
                while (PortsFrameCodec.TryReadFrame(ref buffer, max, out var body))
                {
                    // The frame's bytes become the message's payload: they must outlive the pipe's buffer.
                    if (!Process(PortsFrameCodec.Decode(body.ToArray())))
                    {
                        return;
                    }
                }
            }
            finally
            {
                input.AdvanceTo(buffer.Start, buffer.End);
            }

            if (read.IsCompleted)
            {
                return;
            }
        }
    }

    private bool Process(PortsFrame frame)
    {
        lock (link.Gate)
        {
            if (link.Current != this)
            {
                return false;
            }

            switch (frame)
            {
                case ConfirmFrame confirm:
                    link.Confirm(confirm.Through);
                    return true;
                case PortsRequest request:
                    if (request.Seq <= link.Confirmed)
                    {
                        return true;
                    }

                    if (link.Seen.TryGetValue(request.Seq, out var known))
                    {
                        if (known.State != ServerOutcomeState.Pending)
                        {
                            Post(request.Seq, known);
                        }

                        return true;
                    }

                    var outcome = new ServerOutcome();
                    link.Seen.Add(request.Seq, outcome);
                    Execute(request, outcome);
                    if (outcome.State != ServerOutcomeState.Pending)
                    {
                        Post(request.Seq, outcome);
                    }

                    return true;
                default:
                    throw new ProtocolViolationException($"a client sent a {frame.Type} frame after hello");
            }
        }
    }

    /// <summary>Applies a new request (under the link's lock); sets the outcome unless it completes later.</summary>
    private void Execute(PortsRequest request, ServerOutcome outcome)
    {
        var kernel = owner.Kernel;
        var peer = link.Peer;
        try
        {
            switch (request)
            {
                case DeliverFrame deliver:
                    var envelope = MessageEnvelopeCodec.Decode(deliver.Envelope);
                    TimeSpan? timeout = deliver.TimeoutMilliseconds == 0 ? null : TimeSpan.FromMilliseconds(deliver.TimeoutMilliseconds);
                    ValueTask queued;
                    lock (kernel.Sync)
                    {
                        queued = kernel.DeliverFromNetworkLocked(peer, envelope, timeout, owner.Stopping);
                    }

                    if (queued.IsCompletedSuccessfully)
                    {
                        outcome.State = ServerOutcomeState.Acked;
                    }
                    else
                    {
                        owner.TrackParked(CompleteParkedAsync(queued, request.Seq, outcome));
                    }

                    break;
                case GrantFrame grant:
                    lock (kernel.Sync)
                    {
                        kernel.GrantFromNetworkLocked(peer, grant.Port, grant.Holder, grant.RightType == PortDisposition.PortSendOnce ? PortRight.SendOnce : PortRight.Send, grant.Revoke);
                    }

                    outcome.State = ServerOutcomeState.Acked;
                    break;
                case ReleaseFrame release:
                    lock (kernel.Sync)
                    {
                        kernel.ReleaseFromNetworkLocked(peer, release.Port, release.Send, release.SendOnce);
                    }

                    outcome.State = ServerOutcomeState.Acked;
                    break;
                case LookupFrame lookup:
                    lock (kernel.Sync)
                    {
                        outcome.Port = kernel.LookupFromNetworkLocked(peer, lookup.Port, lookup.Name);
                    }

                    outcome.State = ServerOutcomeState.Result;
                    break;
                case PortDeadFrame dead:
                    lock (kernel.Sync)
                    {
                        // A node can only declare its own ports dead: the references are built with its id.
                        kernel.MarkRemotePortsDeadLocked(peer, dead.Ports);
                    }

                    outcome.State = ServerOutcomeState.Acked;
                    break;
            }
        }
        catch (Exception e) when (e is MeshException)
        {
            outcome.State = ServerOutcomeState.Nacked;
            outcome.Code = ToCode(e);
            outcome.Message = e.Message;
            owner.LogRefused(request.Type, peer, outcome.Code, e.Message);
        }
    }

    private async Task CompleteParkedAsync(ValueTask queued, ulong seq, ServerOutcome outcome)
    {
        PortsErrorCode? code = null;
        string? message = null;
        try
        {
            await queued.ConfigureAwait(false);
        }
        catch (Exception e) when (e is MeshException or OperationCanceledException)
        {
            code = e is SendTimeoutException ? PortsErrorCode.Timeout : PortsErrorCode.PortDied;
            message = e.Message;
        }

        lock (link.Gate)
        {
            if (code is { } c)
            {
                outcome.State = ServerOutcomeState.Nacked;
                outcome.Code = c;
                outcome.Message = message;
            }
            else
            {
                outcome.State = ServerOutcomeState.Acked;
            }

            link.Current?.Post(seq, outcome);
        }
    }

    private static PortsErrorCode ToCode(Exception e) => e switch
    {
        PortDeadException => PortsErrorCode.NoSuchPort,
        NoRightException => PortsErrorCode.NoRight,
        MessageTooLargeException => PortsErrorCode.TooLarge,
        InvalidRightException => PortsErrorCode.Unsupported,
        SendTimeoutException => PortsErrorCode.Timeout,
        _ => PortsErrorCode.Malformed,
    };

    private async Task WriteAsync(PipeWriter output, CancellationToken cancellationToken)
    {
        List<ulong> acked = [];
        List<PortsFrame> answers = [];
        while (await _wake.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            _wake.Reader.TryRead(out _);
            lock (link.Gate)
            {
                (acked, _acked) = (_acked, acked);
                (answers, _answers) = (_answers, answers);
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
            var flush = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (flush.IsCompleted)
            {
                return;
            }
        }
    }
}
