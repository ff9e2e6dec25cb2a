using System.Threading.Tasks.Sources;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;
using PromiseGrid.Mesh.Ports.Wire;

namespace PromiseGrid.Mesh.Node.Ports;

/// <summary>
/// One sequenced request of an <see cref="OutboundLink"/> until its outcome is known: the
/// encoded frame (kept for resending), the message and rights plan of a deliver, the caller's
/// deadline and the awaitable the caller holds. Guarded by the link's lock.
/// </summary>
internal sealed class PendingRequest : IValueTaskSource<PortId>, IValueTaskSource
{
    private ManualResetValueTaskSourceCore<PortId> _core = new() { RunContinuationsAsynchronously = true };
    private int _answered;

    public PendingRequest(PortsFrameType kind) => Kind = kind;

    public PortsFrameType Kind { get; }

    public ulong Seq { get; set; }

    /// <summary>The frame with its length prefix; null while a deliver waits for its third-party grants.</summary>
    public byte[]? Frame { get; set; }

    /// <summary>Deliver: the message the kernel handed over, and what was done with its rights.</summary>
    public PortMessage? Message { get; init; }

    public ForwardPlan? Plan { get; init; }

    /// <summary>Timestamp (<see cref="TimeProvider.GetTimestamp"/>) after which the caller gets an error; <see cref="long.MaxValue"/> = none.</summary>
    public long Deadline { get; set; } = long.MaxValue;

    /// <summary>The deadline was extended once while the server had the request (it decides a full queue's timeout itself).</summary>
    public bool InGrace { get; set; }

    /// <summary>Written to a stream at least once (so it may have been enqueued).</summary>
    public bool Written { get; set; }

    /// <summary>Written on the current stream.</summary>
    public bool WrittenOnStream { get; set; }

    /// <summary>The server reported it as received and still pending.</summary>
    public bool SeenByServer { get; set; }

    /// <summary>The caller was answered already (timeout, cancellation); only the rights remain to settle.</summary>
    public bool Abandoned => Volatile.Read(ref _answered) != 0;

    public CancellationTokenRegistration Registration { get; set; }

    /// <summary>The caller's awaitable.</summary>
    public ValueTask<PortId> AsValueTask() => new(this, _core.Version);

    /// <summary>The caller's awaitable when the result does not matter (a deliver).</summary>
    public ValueTask AsPlainValueTask() => new(this, _core.Version);

    /// <summary>Answers the caller once; later answers are ignored.</summary>
    public bool TryAnswer(PortId result, Exception? error)
    {
        if (Interlocked.Exchange(ref _answered, 1) != 0)
        {
            return false;
        }

        Registration.Unregister();
        if (error is null)
        {
            _core.SetResult(result);
        }
        else
        {
            _core.SetException(error);
        }

        return true;
    }

    PortId IValueTaskSource<PortId>.GetResult(short token) => _core.GetResult(token);

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    ValueTaskSourceStatus IValueTaskSource<PortId>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<PortId>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
