using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;
using PromiseGrid.Mesh.Ports.Wire;

namespace PromiseGrid.Mesh.Node.Ports;

/// <summary>
/// This node's requests to one other node (docs/ports-protocol.md, "Client"): numbered in call
/// order, written on one <c>/promisegrid/ports/1.0.0</c> stream, kept until their outcome
/// arrives, and after a broken connection resent — only those the server says it never saw —
/// on a new stream, redialled with backoff and jitter. Lock order: the kernel lock may be held
/// when taking this link's lock, never the other way round.
/// </summary>
internal sealed partial class OutboundLink : IAsyncDisposable
{
    private readonly RemotePorts _owner;
    private readonly Lock _gate = new();
    private readonly Dictionary<ulong, PendingRequest> _unresolved = [];
    private readonly PriorityQueue<DeadlineEntry, long> _deadlines = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private int _wakePending;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger;
    private ulong _nextSeq = 1;
    private ulong _lowest = 1;
    private ulong _writeCursor = 1;
    private ulong _confirmedSent;

    /// <summary>Outcomes settled since the last confirm after which one is written even while busy.</summary>
    private const ulong ConfirmBacklog = 1024;

    /// <summary>Outcomes settled since the last confirm after which one rides along with written requests.</summary>
    private const ulong ConfirmRide = 64;

    /// <summary>Set by the sweep on an idle link with outcomes to confirm: the writer writes a confirm alone.</summary>
    private bool _confirmDue;

    /// <summary>An outcome arrived since the last sweep: the link is not idle yet.</summary>
    private bool _settledSinceSweep;
    private ulong? _remoteEpoch;
    private bool _disposed;

    /// <summary>The open stream's writer, set while a stream is up (after the hello exchange); null between streams.</summary>
    private PipeWriter? _output;
    private bool _writing;
    private Task? _loop;

    public OutboundLink(RemotePorts owner, PeerId peer)
    {
        _owner = owner;
        Peer = peer;
        _logger = owner.LoggerFactory.CreateLogger<OutboundLink>();
    }

    /// <summary>The node the requests go to.</summary>
    public PeerId Peer { get; }

    /// <summary>
    /// Queues a request, numbered now so calls keep their order. <paramref name="frame"/> is the
    /// encoded request (its sequence number is set here); empty for a deliver that waits for
    /// grants, which <see cref="SetFrame"/> supplies later.
    /// </summary>
    public void Submit(PendingRequest request, ArraySegment<byte> frame, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                request.TryAnswer(default, new ObjectDisposedException(nameof(RemotePorts)));
                request.ReleaseByLink();
                return;
            }

            request.Seq = _nextSeq++;
            if (timeout is { } t && t != Timeout.InfiniteTimeSpan)
            {
                request.Deadline = _owner.Time.GetTimestamp() + (long)(t.TotalSeconds * _owner.Time.TimestampFrequency);
                EnqueueDeadlineLocked(request);
            }

            if (frame.Array is not null)
            {
                PortsFrameCodec.SetSeq(frame, request.Seq);
                request.Frame = frame;
            }

            _unresolved.Add(request.Seq, request);
            _loop ??= RunAsync();
        }

        if (cancellationToken.CanBeCanceled)
        {
            request.Registration = cancellationToken.UnsafeRegister(static (s, ct) => ((PendingRequest)s!).TryAnswer(default, new OperationCanceledException(ct)), request);
        }

        if (frame.Array is null || !TryWriteInline())
        {
            WakeWriter();
        }
    }

    /// <summary>
    /// Adds the request's deadline to the heap. Settled requests leave their entries behind (a
    /// heap cannot remove from the middle) and they are skipped when they come up; so that they
    /// do not pile up (and keep settled requests alive) for a whole timeout, the heap is rebuilt
    /// from the unresolved requests once stale entries outnumber live ones.
    /// </summary>
    private void EnqueueDeadlineLocked(PendingRequest request)
    {
        if (_deadlines.Count >= 1024 && _deadlines.Count > 2 * _unresolved.Count)
        {
            _deadlines.Clear();
            foreach (var r in _unresolved.Values)
            {
                if (r.Deadline != long.MaxValue)
                {
                    _deadlines.Enqueue(new DeadlineEntry(r, r.Seq), r.Deadline);
                }
            }
        }

        _deadlines.Enqueue(new DeadlineEntry(request, request.Seq), request.Deadline);
    }

    /// <summary>Supplies the frame of a request submitted without one (its grants are done).</summary>
    public void SetFrame(PendingRequest request, ArraySegment<byte> frame)
    {
        lock (_gate)
        {
            PortsFrameCodec.SetSeq(frame, request.Seq);
            request.Frame = frame;
        }

        if (!TryWriteInline())
        {
            WakeWriter();
        }
    }

    /// <summary>Answers requests whose deadline passed (called by the owner's sweep timer).</summary>
    public void Sweep(long now)
    {
        List<(PendingRequest Request, Outcome Outcome)>? settled = null;
        var confirm = false;
        lock (_gate)
        {
            // No outcome for a whole sweep interval: confirm what is settled, so the server can forget it.
            if (!_settledSinceSweep && _lowest > _confirmedSent + 1 && !_confirmDue)
            {
                _confirmDue = confirm = true;
            }

            _settledSinceSweep = false;

            while (_deadlines.TryPeek(out var entry, out var deadline) && deadline <= now)
            {
                _deadlines.Dequeue();
                var r = entry.Request;

                // A pooled request may be in use again, under another sequence number: compare both.
                if (!_unresolved.TryGetValue(entry.Seq, out var live) || live != r || r.Seq != entry.Seq || deadline != r.Deadline || r.Abandoned)
                {
                    continue;
                }

                if (!r.Written)
                {
                    // Never left this node: certainly not enqueued.
                    _unresolved.Remove(r.Seq);
                    AdvanceLowestLocked();
                    var error = _output is not null
                        ? (Exception)new SendTimeoutException($"the request to {Peer} did not get out before the send timeout")
                        : new NodeUnreachableException($"{Peer} could not be reached before the send timeout", mayHaveBeenDelivered: false);
                    (settled ??= []).Add((r, Outcome.LocalFailure(error, taken: false)));
                }
                else if (_output is not null && !r.InGrace)
                {
                    // The server has it and judges a full queue by the same timeout: wait a little for its verdict.
                    r.InGrace = true;
                    r.Deadline = now + (long)(_owner.Options.HelloTimeout.TotalSeconds * _owner.Time.TimestampFrequency);
                    EnqueueDeadlineLocked(r);
                }
                else
                {
                    r.TryAnswer(default, new NodeUnreachableException($"no answer from {Peer} before the send timeout; the message may have been enqueued", mayHaveBeenDelivered: true));
                }
            }
        }

        SettleAll(settled);
        if (confirm)
        {
            WakeWriter();
        }
    }

    /// <summary>
    /// Wakes the writer (or the idle connection loop). A burst of sends signals the channel once:
    /// the flag stays set until the loop takes the wake-up, so the others skip the channel's lock.
    /// </summary>
    private void WakeWriter()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            _wake.Writer.TryWrite(true);
        }
    }

    /// <summary>Takes a wake-up; called before the loop looks at the state, so a later <see cref="WakeWriter"/> signals again.</summary>
    private void TakeWake()
    {
        _wake.Reader.TryRead(out _);
        Volatile.Write(ref _wakePending, 0);
    }

    private void AdvanceLowestLocked()
    {
        while (_lowest < _nextSeq && !_unresolved.ContainsKey(_lowest))
        {
            _lowest++;
        }
    }

    /// <summary>Outcomes from the server (or local failures), applied outside the lock.</summary>
    private void SettleAll(List<(PendingRequest Request, Outcome Outcome)>? settled)
    {
        if (settled is not { Count: > 0 })
        {
            return;
        }

        _owner.SettleBatch(this, settled);
    }

    public async ValueTask DisposeAsync()
    {
        Task? loop;
        List<PendingRequest> left;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            loop = _loop;
            left = [.. _unresolved.Values];
            _unresolved.Clear();
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _wake.Writer.TryComplete();
        if (loop is not null)
        {
            try
            {
                await loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        SettleAll([.. left.Select(r => (r, Outcome.LocalFailure(new NodeUnreachableException("the node is shutting down", r.Written), taken: r.Written)))]);

        _stopping.Dispose();
    }
}

/// <summary>A request's place in the deadline heap, under the sequence number it had when it was put there.</summary>
internal readonly record struct DeadlineEntry(PendingRequest Request, ulong Seq);

/// <summary>What became of a request.</summary>
internal readonly record struct Outcome(OutcomeKind Kind, PortsErrorCode Code, string? Message, PortId Port, Exception? Error, bool Taken)
{
    public static Outcome Acked => new(OutcomeKind.Acked, 0, null, default, null, true);

    public static Outcome Result(PortId port) => new(OutcomeKind.Acked, 0, null, port, null, true);

    public static Outcome Nacked(PortsErrorCode code, string message) =>
        new(OutcomeKind.Nacked, code, message, default, null, !PortsErrorCodes.IsRefusal(code));

    /// <summary>Failed here; <paramref name="taken"/>: it may have reached the server, so its rights count as handed over.</summary>
    public static Outcome LocalFailure(Exception error, bool taken) => new(OutcomeKind.Failed, 0, null, default, error, taken);
}

internal enum OutcomeKind
{
    Acked,
    Nacked,
    Failed,
}
