using System.Threading.Tasks.Sources;

namespace PromiseGrid.Mesh.Kernel;

/// <summary>
/// A blocked send or receive. The kernel decides its outcome (<see cref="Complete"/> or
/// <see cref="Fail"/>), which queues the waiter itself to the signalling thread's local queue of
/// the thread pool; the pool thread then signals it and runs the awaiting continuation inline, so
/// no user code runs under the kernel lock and a wake-up costs one work item and no allocation.
/// The local queue lets a request and its reply often run on one thread (the client blocks right
/// after sending, and its thread takes the server's continuation) while idle threads can still
/// steal the item; measured against the global queue on the 2-vCPU machine, request/reply went
/// from 40 % to 50-57 % of a raw channel's rate and one-way did not get worse (docs/benchmarks.md).
/// Waiters without a timer are reused: one kept per receiving task, the rest pooled per kernel,
/// so a blocking receive on the steady path allocates nothing and takes no lock but the
/// kernel's; a cancellation registration is disposed (waiting out a running callback) before
/// the waiter is reused.
/// </summary>
internal sealed class KernelWaiter : IValueTaskSource<PortMessage>, IValueTaskSource, IThreadPoolWorkItem
{
    private ManualResetValueTaskSourceCore<PortMessage?> _core;
    private PortMessage? _result;
    private Exception? _error;

    /// <summary>A continuation has been registered: a completion queues it, or hands off to it (never the unawaited shortcut).</summary>
    private volatile bool _awaited;

    public KernelWaiter(PortKernel kernel) => Kernel = kernel;

    public readonly PortKernel Kernel;

    public KernelWaiter? Prev;
    public KernelWaiter? Next;
    public WaiterList? List;

    /// <summary>Sender: the message waiting for room. Receiver: null.</summary>
    public PortMessage? Message;

    /// <summary>Receiver: the task that receives (for copy-out).</summary>
    public PortTask? Task;

    /// <summary>
    /// Link of the list the waiter sits on once its outcome is decided but not yet signalled:
    /// completions deferred until the kernel lock is released (kept in the lock object, signalled
    /// by <see cref="PortKernel.CompleteReady"/>), or receivers kept on their thread for an inline
    /// resume (<see cref="PortKernel.EndInlineResumes"/>). A waiter is on at most one of them.
    /// </summary>
    public KernelWaiter? NextReady;
    public PortMessage? ReadyResult;

    public bool IsSender;
    public CancellationTokenRegistration Registration;
    public ITimer? Timer;

    public short Version => _core.Version;

    /// <summary>
    /// Completes the operation with <paramref name="message"/> (null for a send) on a pool thread,
    /// or, for a receiver that resumes inline while a network delivery is open on this thread
    /// (<see cref="PortKernel.BeginInlineResumes"/>), when that delivery ends.
    /// </summary>
    public void Complete(PortMessage? message)
    {
        _result = message;
        if (!IsSender && Task is { ResumeReceivesInline: true } && PortKernel.TryKeepForInlineResume(this))
        {
            return;
        }

        if (!_awaited)
        {
            // Nobody waits on it yet (the caller has not reached its await): record the outcome
            // here, and the await will find it done. Should the await register at this very
            // moment, the continuation is queued, never run on this thread.
            _core.RunContinuationsAsynchronously = true;
            ((IThreadPoolWorkItem)this).Execute();
            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
    }

    /// <summary>
    /// True for a receive whose caller is awaiting it and whose task accepts being resumed on
    /// the thread that delivered its message (<see cref="PortTask.ResumeReceivesInline"/>).
    /// </summary>
    public bool CanHandOff => !IsSender && _awaited && Task is { ResumeReceivesInline: true };

    /// <summary>A continuation has been registered on this waiter.</summary>
    public bool IsAwaited => _awaited;

    /// <summary>Completes the operation and runs its continuation on the calling thread (a hand-off).</summary>
    public void CompleteHere(PortMessage? message)
    {
        _result = message;
        ((IThreadPoolWorkItem)this).Execute();
    }

    /// <summary>Signals the completion decided earlier, on the calling thread.</summary>
    public void Resume() => ((IThreadPoolWorkItem)this).Execute();

    /// <summary>Fails the operation with <paramref name="error"/> on a pool thread.</summary>
    public void Fail(Exception error)
    {
        _error = error;
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
    }

    void IThreadPoolWorkItem.Execute()
    {
        // The continuation may run inline here and recycle this waiter: read everything first.
        var error = _error;
        var result = _result;
        _error = null;
        _result = null;
        if (error is null)
        {
            _core.SetResult(result);
        }
        else
        {
            _core.SetException(error);
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        _core.OnCompleted(continuation, state, token, flags);

        // Set once the continuation is in place, so a handoff (CanHandOff) finds it there. A
        // completion that reads false meanwhile takes the unawaited path, which queues a
        // continuation it finds instead of running it: safe either way.
        _awaited = true;
    }

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
        var task = Task;
        Task = null;
        if (Timer is not null)
        {
            // A timer callback may still be in flight: never reuse this waiter.
            Timer.Dispose();
            return;
        }

        _core.Reset();
        _core.RunContinuationsAsynchronously = false;
        _awaited = false;
        if (task is null || !task.TryCacheWaiter(this))
        {
            Kernel.ReturnWaiter(this);
        }
    }
}
