using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Kernel;

/// <summary>
/// The port kernel of one node: owns every local port and the name spaces of the tasks
/// attached to it (docs/kernel.md). Tasks act through <see cref="PortTask"/>; the kernel's
/// own surface only creates tasks. One lock guards all kernel state: every operation is a
/// short critical section, and user continuations never run under it.
/// </summary>
public sealed partial class PortKernel : IAsyncDisposable
{
    /// <summary>Guards all kernel state; also holds the completions deferred until it is released (<see cref="DeferCompletionsLocked"/>).</summary>
    internal readonly KernelLock Sync = new();

    private readonly Dictionary<PortId, Port> _ports = [];
    private readonly Dictionary<PortRef, Port> _proxies = [];
    private readonly List<PortTask> _tasks = [];
    private readonly Stack<KernelWaiter> _waiterPool = new();
    private readonly Lock _poolLock = new();
    private readonly TimeProvider _time;
    private ulong _nextTaskId = 1;
    private bool _disposed;

    // Trailer clock (see Now): with the system clock, read once per coarse tick. Read and
    // written without the lock: each long is atomic, and a reader that sees a new tick with the
    // previous time gets a time one tick old, which is within the documented resolution.
    private readonly bool _coarseClock;
    private long _clockTick = long.MinValue;
    private long _clockUtcTicks;

    private const int WaiterPoolSize = 64;

    /// <summary>A kernel for the node <paramref name="localPeer"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Invalid <paramref name="options"/>.</exception>
    public PortKernel(PeerId localPeer, PortKernelOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(localPeer);
        LocalPeer = localPeer;
        Options = (options ?? PortKernelOptions.Default).Validate();
        _time = timeProvider ?? TimeProvider.System;
        _coarseClock = _time == TimeProvider.System;
    }

    /// <summary>This node's peer id: the home of every port the kernel creates.</summary>
    public PeerId LocalPeer { get; }

    /// <summary>The limits in force.</summary>
    public PortKernelOptions Options { get; }

    /// <summary>The router for ports whose home is another node (issue 4); null = such sends fail with <see cref="NoRouteException"/>.</summary>
    internal IPortRouter? Router { get; set; }

    /// <summary>Attaches a new task (module) with an empty name space.</summary>
    /// <exception cref="ObjectDisposedException">The kernel is disposed.</exception>
    public PortTask CreateTask(string? label = null)
    {
        using (Sync.EnterScope())
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var task = new PortTask(this, _nextTaskId++, label);
            _tasks.Add(task);
            return task;
        }
    }

    /// <summary>Destroys every task's name space (ports die, rights are released, notifications fire).</summary>
    public ValueTask DisposeAsync()
    {
        using (Sync.EnterScope())
        {
            if (_disposed)
            {
                return default;
            }

            foreach (var task in _tasks.ToArray())
            {
                DestroySpaceLocked(task);
            }

            _disposed = true;
        }

        return default;
    }

    internal void DetachTask(PortTask task)
    {
        using (Sync.EnterScope())
        {
            if (task.Disposed)
            {
                return;
            }

            DestroySpaceLocked(task);
        }
    }

    private void DestroySpaceLocked(PortTask task)
    {
        foreach (var name in task.Names.Keys.ToArray())
        {
            if (task.Names.ContainsKey(name))
            {
                DestroyNameLocked(task, name);
            }
        }

        task.Disposed = true;
        _tasks.Remove(task);
    }

    internal Port CreatePortLocked(PortTask task, out uint name)
    {
        PortId id;
        do
        {
            id = PortId.NewRandom();
        }
        while (_ports.ContainsKey(id));

        var port = new Port(new PortRef(LocalPeer, id), isLocal: true, Options.DefaultQueueLimit);
        _ports.Add(id, port);
        name = task.AllocateName();
        task.Names.Add(name, new NameEntry { Port = port, Receive = true });
        task.PortNames.Add(port, name);
        port.Receiver = task;
        port.ReceiverName = name;
        return port;
    }

    /// <summary>A send right to a port whose home is another node (for the router of issue 4).</summary>
    internal PortName InsertRemoteSendRight(PortTask task, PortRef reference)
    {
        using (Sync.EnterScope())
        {
            ThrowIfDead(task);
            Port port;
            if (reference.Home == LocalPeer)
            {
                if (!_ports.TryGetValue(reference.Id, out port!))
                {
                    throw new PortDeadException($"no local port {reference}");
                }
            }
            else if (!_proxies.TryGetValue(reference, out port!))
            {
                port = new Port(reference, isLocal: false, 0);
                _proxies.Add(reference, port);
            }

            port.SendRights++;
            return new PortName(CopyOutLocked(task, new CarriedRight(port, PortRight.Send)));
        }
    }

    /// <summary>The global reference of the port a name denotes (kernel-internal: references are not capabilities).</summary>
    internal PortRef GetPortRef(PortTask task, PortName name)
    {
        using (Sync.EnterScope())
        {
            var e = LookupLocked(task, name);
            return (e.Port ?? throw new InvalidRightException($"name {name} denotes a port set")).Ref;
        }
    }

    internal KernelWaiter RentWaiter(bool timed)
    {
        if (!timed)
        {
            lock (_poolLock)
            {
                if (_waiterPool.TryPop(out var pooled))
                {
                    return pooled;
                }
            }
        }

        return new KernelWaiter(this);
    }

    internal void ReturnWaiter(KernelWaiter waiter)
    {
        lock (_poolLock)
        {
            if (_waiterPool.Count < WaiterPoolSize)
            {
                _waiterPool.Push(waiter);
            }
        }
    }

    private static void ThrowIfDead(PortTask task) => ObjectDisposedException.ThrowIf(task.Disposed, task);

    internal NameEntry LookupLocked(PortTask task, PortName name)
    {
        ThrowIfDead(task);
        NameEntry? e;
        if (task.LastName == name.Value && task.LastEntry is { IsEmpty: false } cached)
        {
            e = cached;
        }
        else
        {
            if (!task.Names.TryGetValue(name.Value, out e))
            {
                throw new InvalidNameException(name.Value);
            }

            task.LastName = name.Value;
            task.LastEntry = e;
        }

        Normalize(task, name.Value, e);
        return e;
    }

    /// <summary>Turns send and send-once rights to a dead port into dead-name references (Mach does this lazily too).</summary>
    private static void Normalize(PortTask task, uint name, NameEntry e)
    {
        if (e.Port is { Active: false } p && (e.SendRefs > 0 || e.SendOnce))
        {
            e.DeadRefs += e.SendRefs + (e.SendOnce ? 1 : 0);
            e.SendRefs = 0;
            e.SendOnce = false;
            if (task.PortNames.TryGetValue(p, out var n) && n == name)
            {
                task.PortNames.Remove(p);
            }
        }
    }

    /// <summary>
    /// The trailer's send time (safe with or without the lock). With the system clock the wall
    /// clock is read at most once per tick of the coarse monotonic clock
    /// (<see cref="Environment.TickCount64"/>, a few milliseconds), instead of once per message;
    /// an injected <see cref="TimeProvider"/> is read every time, so tests see its exact time.
    /// (A one-shot timer that marks the time stale once a millisecond would spare the tick read,
    /// 6-10 ns here, but wakes a timer thread and a pool thread a thousand times a second while
    /// messages flow, which on two cores costs the senders more than it saves.)
    /// </summary>
    internal DateTimeOffset Now
    {
        get
        {
            if (!_coarseClock)
            {
                return _time.GetUtcNow();
            }

            var tick = Environment.TickCount64;
            if (tick != Volatile.Read(ref _clockTick))
            {
                Volatile.Write(ref _clockUtcTicks, _time.GetUtcNow().UtcTicks);
                Volatile.Write(ref _clockTick, tick);
            }

            return new DateTimeOffset(Volatile.Read(ref _clockUtcTicks), TimeSpan.Zero);
        }
    }

    [ThreadStatic]
    private static bool t_inlineResumes;
    [ThreadStatic]
    private static KernelWaiter? t_inlineHead;
    [ThreadStatic]
    private static KernelWaiter? t_inlineTail;

    /// <summary>
    /// Opens a network delivery on this thread: receivers of tasks with
    /// <see cref="PortTask.ResumeReceivesInline"/> that it completes are kept, and resumed by
    /// <see cref="EndInlineResumes"/>, which the caller invokes once it holds no lock.
    /// </summary>
    internal static void BeginInlineResumes() => t_inlineResumes = true;

    /// <summary>Closes the delivery opened by <see cref="BeginInlineResumes"/> and resumes the receivers it kept, in order, on this thread.</summary>
    internal static void EndInlineResumes()
    {
        t_inlineResumes = false;
        var waiter = t_inlineHead;
        t_inlineHead = t_inlineTail = null;

        // The receivers run at the level of a handoff: a local send they make hands off no further.
        var outer = t_handingOff;
        t_handingOff = true;
        try
        {
            while (waiter is not null)
            {
                var next = waiter.NextReady;
                waiter.NextReady = null;
                waiter.Resume();
                waiter = next;
            }
        }
        finally
        {
            t_handingOff = outer;
        }
    }

    [ThreadStatic]
    private static bool t_handingOff;

    /// <summary>Whether <see cref="CompleteReady"/> would run one of the completions deferred so far on this thread (a handoff).</summary>
    internal bool HandsOffLocked()
    {
        for (var w = Sync.ReadyHead; w is not null; w = w.NextReady)
        {
            if (w.CanHandOff)
            {
                return !t_handingOff;
            }
        }

        return false;
    }

    /// <summary>Keeps <paramref name="waiter"/> for <see cref="EndInlineResumes"/> if a delivery is open on this thread.</summary>
    internal static bool TryKeepForInlineResume(KernelWaiter waiter)
    {
        if (!t_inlineResumes)
        {
            return false;
        }

        if (t_inlineTail is null)
        {
            t_inlineHead = waiter;
        }
        else
        {
            t_inlineTail.NextReady = waiter;
        }

        t_inlineTail = waiter;
        return true;
    }

    /// <summary>
    /// From now until <see cref="TakeReadyLocked"/>, successful completions made under the lock are
    /// queued instead of signalled, so no thread-pool hand-off (and no handoff to a receiver)
    /// happens while holding it. The list lives in the lock object, beside the lock word whose
    /// cache line the holder owns already.
    /// </summary>
    internal void DeferCompletionsLocked() => Sync.Deferring = true;

    /// <summary>Ends deferral and takes the waiters to signal with <see cref="CompleteReady"/> after leaving the lock.</summary>
    internal KernelWaiter? TakeReadyLocked()
    {
        var sync = Sync;
        sync.Deferring = false;
        var head = sync.ReadyHead;
        if (head is not null)
        {
            sync.ReadyHead = sync.ReadyTail = null;
        }

        return head;
    }

    /// <summary>
    /// Completes a waiter already removed from its list: now, or after the lock is released if
    /// the current operation defers completions. Either way no one else can touch the waiter
    /// (timeouts and cancellations find it off its list), so signalling it later is safe.
    /// </summary>
    internal static void CompleteLocked(KernelWaiter waiter, PortMessage? message)
    {
        var sync = waiter.Kernel.Sync;
        if (!sync.Deferring)
        {
            waiter.Complete(message);
            return;
        }

        waiter.ReadyResult = message;
        if (sync.ReadyTail is null)
        {
            sync.ReadyHead = waiter;
        }
        else
        {
            sync.ReadyTail.NextReady = waiter;
        }

        sync.ReadyTail = waiter;
    }

    /// <summary>
    /// Signals waiters taken by <see cref="TakeReadyLocked"/> (outside the lock), in order. A
    /// receiver that can be handed off (<see cref="KernelWaiter.CanHandOff"/>: its task has
    /// <see cref="PortTask.ResumeReceivesInline"/> and its caller awaits it) resumes here, on the
    /// thread of the send that woke it, before that send returns (Mach's handoff: the sender's
    /// thread runs the receiver). A client that sends a request and then waits for the reply
    /// thus finds the reply already queued, and a round trip needs no thread-pool hand-off. One
    /// level only: a send made by the resumed receiver signals through the pool, so the stack
    /// stays shallow. The waiters a receive takes are blocked senders, which always go to the pool.
    /// </summary>
    internal static void CompleteReady(KernelWaiter? waiter)
    {
        while (waiter is not null)
        {
            var next = waiter.NextReady;
            var result = waiter.ReadyResult;
            waiter.NextReady = null;
            waiter.ReadyResult = null;
            if (!t_handingOff && waiter.CanHandOff)
            {
                t_handingOff = true;
                try
                {
                    waiter.CompleteHere(result);
                }
                finally
                {
                    t_handingOff = false;
                }
            }
            else
            {
                waiter.Complete(result);
            }

            waiter = next;
        }
    }
}
