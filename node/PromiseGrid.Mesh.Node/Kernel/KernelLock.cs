using System.Runtime.CompilerServices;

namespace PromiseGrid.Mesh.Kernel;

/// <summary>
/// The kernel's lock (<see cref="PortKernel.Sync"/>): mutual exclusion that costs one atomic
/// instruction per hold instead of two. Entering is a compare-and-swap; leaving is a plain
/// store, plus a read of the parked count, which on the steady path is zero. Reentrant, as
/// <see cref="Lock"/> is: a thread that holds it may enter it again (the ports layer does, when
/// the kernel calls it back). Enter it with <c>using (Sync.EnterScope())</c>: a <c>lock</c>
/// statement on it would compile, but take the object's monitor, which excludes nobody else.
/// </summary>
/// <remarks>
/// <para>A thread that finds the lock held spins briefly (critical sections here last tens of
/// nanoseconds), then parks on a semaphore. Parking is where the one-atomic exit needs care:
/// the exit's store of "free" may still sit in its core's store buffer when the exit reads the
/// parked count, so a thread that counts itself parked and then checks the lock could see it
/// held while the exit sees nobody parked, and sleep with nobody to wake it. A parking thread
/// therefore makes every core of the process execute a full barrier
/// (<see cref="Interlocked.MemoryBarrierProcessWide"/>) between counting itself and its last
/// check: any exit whose read could have missed the count has then made its store visible to
/// that check. That barrier is expensive (tens of microseconds on the 2-vCPU VM used here), but
/// it is paid only by a thread about to sleep, which happens when the holder was descheduled
/// mid-section, and then the wait lasts a scheduler tick anyway.</para>
/// <para>Besides the lock word, the object holds the completions the holder defers until it has
/// released the lock (<see cref="PortKernel.CompleteLocked"/>): they share the lock word's cache
/// line, which the holder owns already.</para>
/// </remarks>
internal sealed class KernelLock
{
    private const int SpinsBeforeParking = 40;

    private int _state;
    private int _owner;
    private int _recursion;
    private int _parked;
    private int _wakePending;

    /// <summary>Completions deferred by the holder (<see cref="PortKernel.DeferCompletionsLocked"/>).</summary>
    internal bool Deferring;
    internal KernelWaiter? ReadyHead;
    internal KernelWaiter? ReadyTail;

    private readonly SemaphoreSlim _wake = new(0);

    /// <summary>True when the calling thread holds the lock.</summary>
    public bool IsHeldByCurrentThread => Volatile.Read(ref _state) != 0 && _owner == Environment.CurrentManagedThreadId;

    /// <summary>Enters the lock; dispose the scope to leave it (<c>using (Sync.EnterScope())</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Scope EnterScope()
    {
        Enter();
        return new Scope(this);
    }

    /// <summary>Enters the lock.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Enter()
    {
        var thread = Environment.CurrentManagedThreadId;
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            EnterContended(thread);
        }

        _owner = thread;
    }

    /// <summary>Leaves the lock (the calling thread holds it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Exit()
    {
        if (_recursion != 0)
        {
            _recursion--;
            return;
        }

        _owner = 0;
        Volatile.Write(ref _state, 0);
        if (Volatile.Read(ref _parked) != 0)
        {
            Wake();
        }
    }

    private bool TryTake() => Volatile.Read(ref _state) == 0 && Interlocked.CompareExchange(ref _state, 1, 0) == 0;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void EnterContended(int thread)
    {
        if (_owner == thread)
        {
            // Only this thread writes its own id there, and clears it before releasing.
            _recursion++;
            return;
        }

        var spin = default(SpinWait);
        for (var i = 0; i < SpinsBeforeParking; i++)
        {
            spin.SpinOnce(sleep1Threshold: -1);
            if (TryTake())
            {
                return;
            }
        }

        Interlocked.Increment(ref _parked);
        Interlocked.MemoryBarrierProcessWide();
        try
        {
            while (!TryTake())
            {
                _wake.Wait();

                // Atomic, so the check that follows reads the lock after this reset is visible:
                // an exit that still saw the wake-up pending has released the lock before it.
                Interlocked.Exchange(ref _wakePending, 0);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _parked);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Wake()
    {
        // One wake-up in flight at a time: a woken thread that loses the race parks again, and the
        // next exit (which sees it still counted) wakes it again.
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            _wake.Release();
        }
    }

    /// <summary>The held lock; disposing it leaves the lock.</summary>
    public readonly ref struct Scope(KernelLock owner)
    {
        public void Dispose() => owner.Exit();
    }
}
