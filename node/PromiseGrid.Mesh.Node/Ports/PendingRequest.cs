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
/// <remarks>
/// A request from <see cref="RequestPool.Rent"/> is reused: it has two owners, the link (until it
/// has settled the outcome, <see cref="ReleaseByLink"/>) and the caller (until it has read the
/// result of its awaitable), and goes back to its pool when both are done. Each use has its own
/// sequence number and awaitable version, so nothing meant for an earlier use (a late outcome, a
/// stale deadline entry, a cancellation) reaches a later one: the link finds requests by sequence
/// number and compares identity, and the cancellation registration is disposed before reuse.
/// </remarks>
internal sealed class PendingRequest : IValueTaskSource<PortId>, IValueTaskSource
{
    /// <summary>Largest frame buffer a pooled request keeps for its next use (within <see cref="RequestPool.MaxIdleBufferBytes"/>).</summary>
    internal const int MaxKeptBuffer = 64 << 10;

    private readonly RequestPool? _pool;
    private ManualResetValueTaskSourceCore<PortId> _core = new() { RunContinuationsAsynchronously = true };
    private int _answered;
    private int _owners;
    private int _callerOwns;
    private FrameBuffer? _buffer;

    /// <summary>A request used once (not pooled).</summary>
    public PendingRequest(PortsFrameType kind)
    {
        Kind = kind;
        _owners = 1;
    }

    internal PendingRequest(RequestPool pool) => _pool = pool;

    public PortsFrameType Kind { get; private set; }

    public ulong Seq { get; set; }

    /// <summary>The frame with its length prefix; empty while a deliver waits for its third-party grants.</summary>
    public ArraySegment<byte> Frame { get; set; }

    /// <summary>The frame is known (see <see cref="Frame"/>).</summary>
    public bool HasFrame => Frame.Array is not null;

    /// <summary>Deliver: the message the kernel handed over, and what was done with its rights.</summary>
    public PortMessage? Message { get; set; }

    public ForwardPlan? Plan { get; set; }

    /// <summary>A plan kept across uses of a pooled request, for <see cref="PortKernel.BeginForwardLocked"/> to fill.</summary>
    public ForwardPlan? SparePlan { get; set; }

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

    /// <summary>
    /// Prepares a pooled request for one use. <paramref name="awaited"/>: a caller will await it
    /// (and so owns it until it has read the result).
    /// </summary>
    internal void Start(PortsFrameType kind, bool awaited)
    {
        Kind = kind;
        _owners = awaited ? 2 : 1;
        _callerOwns = awaited ? 1 : 0;
    }

    /// <summary>
    /// A buffer to encode this request's frame into, with room for about <paramref name="sizeHint"/>
    /// bytes, reused across uses of a pooled request; <see cref="FrameBuffer.Frame"/> then gives the frame.
    /// </summary>
    public FrameBuffer Buffer(int sizeHint)
    {
        if (_buffer is null || _buffer.Capacity < sizeHint)
        {
            _buffer = new FrameBuffer(sizeHint);
        }

        _buffer.Reset();
        return _buffer;
    }

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

    /// <summary>The link has settled the request and holds it no more.</summary>
    public void ReleaseByLink() => Release();

    private void ReleaseByCaller()
    {
        if (Interlocked.Exchange(ref _callerOwns, 0) != 0)
        {
            Release();
        }
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref _owners) != 0 || _pool is null)
        {
            return;
        }

        // A cancellation callback still running must finish before the request is used again.
        Registration.Dispose();
        Registration = default;
        _core.Reset();
        _answered = 0;
        Seq = 0;
        Frame = default;
        Message = null;
        Plan = null;
        Deadline = long.MaxValue;
        InGrace = false;
        Written = false;
        WrittenOnStream = false;
        SeenByServer = false;
        _pool.Return(this);
    }

    /// <summary>The capacity of the frame buffer kept for the next use (0: none).</summary>
    internal int BufferCapacity => _buffer?.Capacity ?? 0;

    /// <summary>Lets the frame buffer go (the pool keeps no more large buffers).</summary>
    internal void DropBuffer() => _buffer = null;

    private void CheckToken(short token)
    {
        if (token != _core.Version)
        {
            throw new InvalidOperationException("a pending request's awaitable was used after its result was read");
        }
    }

    PortId IValueTaskSource<PortId>.GetResult(short token)
    {
        CheckToken(token);
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            ReleaseByCaller();
        }
    }

    void IValueTaskSource.GetResult(short token)
    {
        CheckToken(token);
        try
        {
            _core.GetResult(token);
        }
        finally
        {
            ReleaseByCaller();
        }
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    ValueTaskSourceStatus IValueTaskSource<PortId>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<PortId>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
