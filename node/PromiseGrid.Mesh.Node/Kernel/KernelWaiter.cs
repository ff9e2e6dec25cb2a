using System.Threading.Tasks.Sources;

namespace PromiseGrid.Mesh.Kernel;

/// <summary>
/// A blocked send or receive, completed by the kernel under its lock (continuations run
/// asynchronously, so no user code runs under the lock). Waiters without a timer are pooled
/// per kernel, so a blocking receive on the steady path allocates nothing; a cancellation
/// registration is disposed (waiting out a running callback) before the waiter is reused.
/// </summary>
internal sealed class KernelWaiter : IValueTaskSource<PortMessage>, IValueTaskSource
{
    private ManualResetValueTaskSourceCore<PortMessage?> _core = new() { RunContinuationsAsynchronously = true };
    public KernelWaiter(PortKernel kernel) => Kernel = kernel;

    public readonly PortKernel Kernel;

    public KernelWaiter? Prev;
    public KernelWaiter? Next;
    public WaiterList? List;

    /// <summary>Sender: the message waiting for room. Receiver: null.</summary>
    public PortMessage? Message;

    /// <summary>Receiver: the task that receives (for copy-out).</summary>
    public PortTask? Task;

    /// <summary>A completion deferred until the kernel lock is released (<see cref="PortKernel.CompleteReady"/>).</summary>
    public KernelWaiter? NextReady;
    public PortMessage? ReadyResult;

    public bool IsSender;
    public CancellationTokenRegistration Registration;
    public ITimer? Timer;

    public short Version => _core.Version;

    public void Complete(PortMessage? message) => _core.SetResult(message);

    public void Fail(Exception error) => _core.SetException(error);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    PortMessage IValueTaskSource<PortMessage>.GetResult(short token)
    {
        try
        {
            return _core.GetResult(token)!;
        }
        finally
        {
            Recycle();
        }
    }

    void IValueTaskSource.GetResult(short token)
    {
        try
        {
            _core.GetResult(token);
        }
        finally
        {
            Recycle();
        }
    }

    private void Recycle()
    {
        Registration.Dispose();
        Registration = default;
        Message = null;
        Task = null;
        if (Timer is not null)
        {
            // A timer callback may still be in flight: never reuse this waiter.
            Timer.Dispose();
            return;
        }

        _core.Reset();
        Kernel.ReturnWaiter(this);
    }
}
