using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Kernel;

/// <summary>
/// A task (a module attached to the node) and its name space of rights. Every method names
/// rights by <see cref="PortName"/>; the seed's calls are <see cref="CreatePort"/>
/// (<c>pg_create_port</c>), <see cref="DestroyPort"/> (<c>pg_destroy_port</c>),
/// <see cref="SendMessageAsync"/> (<c>pg_send_message</c>) and <see cref="ReceiveMessageAsync"/>
/// (<c>pg_receive_message</c>); the rest are the Mach calls named on each method.
/// Thread-safe. Disposing the task destroys its name space, as when a Mach task dies.
/// </summary>
public sealed class PortTask : IAsyncDisposable
{
    internal readonly Dictionary<uint, NameEntry> Names = [];
    internal readonly Dictionary<Port, uint> PortNames = [];
    internal bool Disposed;
    private uint _nextName;

    /// <summary>
    /// The last name looked up and its entry (guarded by the kernel lock), so a task that sends
    /// or receives on the same name again skips the dictionary. Names are never reused and an
    /// entry leaves <see cref="Names"/> only once empty, so a cached entry that is not empty is
    /// still the entry of its name; the removals also forget it (<see cref="ForgetName"/>).
    /// </summary>
    internal uint LastName;
    internal NameEntry? LastEntry;

    // Free name entries (guarded by the kernel lock): the entry of a send-once reply right is
    // made when a request is received and freed when the reply is sent, so a request/reply
    // server would otherwise allocate one per request.
    private NameEntry? _freeEntries;
    private int _freeEntryCount;
    private const int MaxFreeEntries = 16;

    /// <summary>
    /// A receive waiter kept for this task's next blocking receive (taken under the kernel lock,
    /// given back by the receiving thread when the receive completes): a task that receives in a
    /// loop reuses one waiter without touching the kernel's shared pool and its lock.
    /// </summary>
    private KernelWaiter? _cachedWaiter;

    internal KernelWaiter? TakeCachedWaiter() => Interlocked.Exchange(ref _cachedWaiter, null);

    internal bool TryCacheWaiter(KernelWaiter waiter) => Interlocked.CompareExchange(ref _cachedWaiter, waiter, null) is null;

    internal PortTask(PortKernel kernel, ulong id, string? label)
    {
        Kernel = kernel;
        Id = id;
        Label = label;
    }

    /// <summary>The kernel this task is attached to.</summary>
    public PortKernel Kernel { get; }

    /// <summary>Task id, unique on this node (0 is the kernel); stamped into message trailers.</summary>
    public ulong Id { get; }

    /// <summary>Optional label for diagnostics.</summary>
    public string? Label { get; }

    /// <summary>
    /// When true, a receive of this task that is waiting when a message arrives resumes on the
    /// thread that delivered the message, once the kernel's locks are released, instead of being
    /// queued to the thread pool (Mach's handoff): a local send runs the receiver before the send
    /// returns, and a message from another node runs it on the connection's read loop. That saves
    /// a thread wake-up per message, and a request/reply between two local tasks then needs no
    /// thread-pool hand-off at all. Only for tasks whose code between two receives is short and
    /// never blocks: while it runs, the sender (or that connection) waits. One level deep: a send
    /// made by a receiver running this way wakes the next receiver through the pool.
    /// </summary>
    public bool ResumeReceivesInline { get; set; }

    /// <summary>Drops <paramref name="name"/> from the lookup cache (when it leaves <see cref="Names"/>).</summary>
    internal void ForgetName(uint name)
    {
        if (LastName == name)
        {
            LastName = 0;
            LastEntry = null;
        }
    }

    /// <summary>An empty name entry, from the pool if it has one (under the kernel lock).</summary>
    internal NameEntry RentEntry()
    {
        var e = _freeEntries;
        if (e is null)
        {
            return new NameEntry();
        }

        _freeEntries = e.NextFree;
        _freeEntryCount--;
        e.NextFree = null;
        e.Pooled = false;
        return e;
    }

    /// <summary>
    /// Returns an entry that has left <see cref="Names"/> to the pool (under the kernel lock).
    /// The caller must hold no other reference to it; the lookup cache forgets it here too, so
    /// a stale name can never find it again once it serves a new name.
    /// </summary>
    internal void ReturnEntry(NameEntry e)
    {
        if (e.Pooled || _freeEntryCount >= MaxFreeEntries)
        {
            return;
        }

        if (LastEntry == e)
        {
            LastName = 0;
            LastEntry = null;
        }

        e.Port = null;
        e.Set = null;
        e.Receive = false;
        e.SendRefs = 0;
        e.SendOnce = false;
        e.DeadRefs = 0;
        e.DeadNameRequested = false;
        e.Pooled = true;
        e.NextFree = _freeEntries;
        _freeEntries = e;
        _freeEntryCount++;
    }

    /// <summary>Names are never reused in a task's lifetime (a deviation from Mach that rules out stale-name confusion).</summary>
    internal uint AllocateName()
    {
        if (_nextName >= uint.MaxValue - 1)
        {
            throw new LimitExceededException("names in a task", _nextName, uint.MaxValue - 1);
        }

        return ++_nextName;
    }

    /// <summary><c>pg_create_port</c> / <c>mach_port_allocate(RIGHT_RECEIVE)</c>: a new port; the task holds its receive right.</summary>
    public PortName CreatePort()
    {
        using (Kernel.Sync.EnterScope())
        {
            ObjectDisposedException.ThrowIf(Disposed, this);
            Kernel.CreatePortLocked(this, out var name);
            return new PortName(name);
        }
    }

    /// <summary>
    /// <c>pg_destroy_port</c> / <c>mach_port_destroy</c>: deallocates every right the name denotes.
    /// Destroying the receive right destroys the port (or hands it to a port-destroyed requester).
    /// </summary>
    /// <exception cref="InvalidNameException">The name denotes nothing.</exception>
    public void DestroyPort(PortName name)
    {
        using (Kernel.Sync.EnterScope())
        {
            Kernel.LookupLocked(this, name);
            Kernel.DestroyNameLocked(this, name.Value);
        }
    }

    /// <summary>
    /// <c>pg_send_message</c> / <c>mach_msg(MACH_SEND_MSG)</c>: sends through <see cref="PortMessage.Destination"/>.
    /// Completes once the message is queued; blocks while the queue is full (a send-once
    /// destination never blocks). A receiver of a task with <see cref="ResumeReceivesInline"/>
    /// that the message wakes runs on this thread before the call returns. Rights in the message move atomically: a send that fails
    /// validation changes nothing; a blocked send that times out or is cancelled destroys the
    /// message and releases its rights.
    /// </summary>
    /// <param name="message">The message; the kernel owns it from now on.</param>
    /// <param name="timeout">Null waits forever; <see cref="TimeSpan.Zero"/> never waits.</param>
    /// <param name="cancellationToken">Cancels a blocked send.</param>
    /// <exception cref="InvalidNameException">A name denotes nothing.</exception>
    /// <exception cref="InvalidRightException">A name lacks the right its disposition needs.</exception>
    /// <exception cref="PortDeadException">The destination is dead, or died while the send was blocked.</exception>
    /// <exception cref="SendTimeoutException">The queue stayed full until the timeout.</exception>
    /// <exception cref="MessageTooLargeException">A size limit of <see cref="PortKernelOptions"/> is exceeded.</exception>
    /// <exception cref="NoRouteException">The destination lives on another node and no router is attached.</exception>
    public ValueTask SendMessageAsync(PortMessage message, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        KernelWaiter? ready = null;
        try
        {
            Kernel.CheckLimits(message);
            cancellationToken.ThrowIfCancellationRequested();
            var sentAt = Kernel.Now;
            ValueTask result;
            Port? remote;
            using (Kernel.Sync.EnterScope())
            {
                // A receiver woken by this send is signalled after the lock is released.
                Kernel.DeferCompletionsLocked();
                try
                {
                    result = Kernel.SendLocked(this, message, sentAt, timeout, cancellationToken, out remote);
                }
                finally
                {
                    ready = Kernel.TakeReadyLocked();
                }
            }

            return remote is null ? result : Kernel.Router!.ForwardAsync(message, timeout, cancellationToken);
        }
        catch (Exception e) when (e is MeshException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            return ValueTask.FromException(e);
        }
        finally
        {
            PortKernel.CompleteReady(ready);
        }
    }

    /// <summary>
    /// <c>mach_msg(MACH_SEND_MSG | MACH_RCV_MSG)</c>: sends <paramref name="message"/>, then
    /// receives the next message from <paramref name="receiveFrom"/>, the way a Mach client makes
    /// a call (send the request, wait on the reply port) and a server loop answers one request
    /// and takes the next. On one node both halves run in one hold of the kernel lock, so a round
    /// trip takes the lock half as often as separate calls and the thread that wakes the other
    /// side does not then contend with it for the lock; the exception is a send that hands off
    /// (below), after which the receive takes the lock again.
    /// </summary>
    /// <remarks>
    /// The receive name is checked before anything is sent (Mach checks it after the send): a
    /// bad name, or a message that moves the very receive right it would receive from, fails
    /// with nothing sent. A send that blocks on a full queue, or goes to another node, completes
    /// first (its acknowledgement, for a remote port) and the receive follows. An exception of
    /// <see cref="ReceiveTimeoutException"/>, <see cref="OperationCanceledException"/> or
    /// <see cref="PortDeadException"/> raised by the receive means the message was sent.
    /// When the send wakes a receiver of a task with <see cref="ResumeReceivesInline"/>, the
    /// receiver runs on this thread before this call receives (Mach's handoff: the caller's
    /// thread, which would wait for the reply anyway, runs the server until the server waits
    /// again); a reply it sends is then already queued, and the call completes at once.
    /// </remarks>
    /// <param name="message">The message to send; the kernel owns it from now on.</param>
    /// <param name="receiveFrom">A receive right (not in a set) or a port set.</param>
    /// <param name="timeout">Applies to the send and then to the receive; null waits forever.</param>
    /// <param name="cancellationToken">Cancels a blocked send or receive.</param>
    public ValueTask<PortMessage> SendReceiveAsync(PortMessage message, PortName receiveFrom, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        KernelWaiter? ready = null;
        try
        {
            Kernel.CheckLimits(message);
            cancellationToken.ThrowIfCancellationRequested();
            var sentAt = Kernel.Now;
            ValueTask sent;
            Port? remote;
            var handOff = false;
            using (Kernel.Sync.EnterScope())
            {
                Kernel.DeferCompletionsLocked();
                try
                {
                    Kernel.CheckReceivableLocked(this, receiveFrom, message);
                    sent = Kernel.SendLocked(this, message, sentAt, timeout, cancellationToken, out remote);
                    if (remote is null && sent.IsCompletedSuccessfully)
                    {
                        handOff = Kernel.HandsOffLocked();
                        if (!handOff)
                        {
                            return Kernel.ReceiveLocked(this, receiveFrom, timeout, cancellationToken);
                        }
                    }
                }
                finally
                {
                    ready = Kernel.TakeReadyLocked();
                }
            }

            if (handOff)
            {
                // The receiver woken runs here first, so a reply it sends at once is queued by the
                // time this call receives: the call then completes without waiting, and the reply
                // needs no thread-pool hand-off back to this caller.
                var woken = ready;
                ready = null;
                PortKernel.CompleteReady(woken);
                return ReceiveMessageAsync(receiveFrom, timeout, cancellationToken);
            }

            return SendThenReceiveAsync(remote is null ? sent : Kernel.Router!.ForwardAsync(message, timeout, cancellationToken), receiveFrom, timeout, cancellationToken);
        }
        catch (Exception e) when (e is MeshException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            return ValueTask.FromException<PortMessage>(e);
        }
        finally
        {
            PortKernel.CompleteReady(ready);
        }
    }

    /// <summary>The slow half of <see cref="SendReceiveAsync"/>: a blocked or remote send completes, then the receive.</summary>
    private async ValueTask<PortMessage> SendThenReceiveAsync(ValueTask sent, PortName receiveFrom, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        await sent.ConfigureAwait(false);
        return await ReceiveMessageAsync(receiveFrom, timeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>pg_receive_message</c> / <c>mach_msg(MACH_RCV_MSG)</c>: the next message from a receive
    /// right or a port set, names rewritten into this task's space and the trailer's sequence
    /// number set. Per-sender FIFO; blocked senders are admitted in order as room frees up.
    /// </summary>
    /// <param name="name">A receive right (not in a set) or a port set.</param>
    /// <param name="timeout">Null waits forever; <see cref="TimeSpan.Zero"/> polls.</param>
    /// <param name="cancellationToken">Cancels a blocked receive.</param>
    /// <exception cref="ReceiveTimeoutException">Nothing arrived before the timeout.</exception>
    /// <exception cref="PortDeadException">The port died or its receive right left the task while waiting.</exception>
    /// <exception cref="InvalidRightException">Not a receive right or set, or the port is in a set.</exception>
    public ValueTask<PortMessage> ReceiveMessageAsync(PortName name, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        KernelWaiter? ready = null;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            using (Kernel.Sync.EnterScope())
            {
                // Senders admitted by this receive are signalled after the lock is released.
                Kernel.DeferCompletionsLocked();
                try
                {
                    return Kernel.ReceiveLocked(this, name, timeout, cancellationToken);
                }
                finally
                {
                    ready = Kernel.TakeReadyLocked();
                }
            }
        }
        catch (Exception e) when (e is MeshException or OperationCanceledException or ObjectDisposedException)
        {
            return ValueTask.FromException<PortMessage>(e);
        }
        finally
        {
            PortKernel.CompleteReady(ready);
        }
    }

    /// <summary><c>mach_port_insert_right(task, name, name, MAKE_SEND)</c>: a send right from the receive right, under the same name (bumps mscount).</summary>
    public PortName MakeSend(PortName receive) => Transfer(receive, PortDisposition.MakeSend, this);

    /// <summary><c>MAKE_SEND_ONCE</c> from the receive right: a new send-once right under a new name.</summary>
    public PortName MakeSendOnce(PortName receive) => Transfer(receive, PortDisposition.MakeSendOnce, this);

    /// <summary>
    /// <c>mach_port_insert_right</c>: takes a right from this task with <paramref name="disposition"/>
    /// and inserts it into <paramref name="target"/>; returns its name there (the kernel chooses names).
    /// </summary>
    public PortName InsertRight(PortTask target, PortName name, PortDisposition disposition)
    {
        ArgumentNullException.ThrowIfNull(target);
        CheckSameKernel(target);
        return Transfer(name, disposition, target);
    }

    /// <summary><c>mach_port_extract_right</c>: takes a right from <paramref name="source"/> with <paramref name="disposition"/> into this task.</summary>
    public PortName ExtractRight(PortTask source, PortName name, PortDisposition disposition)
    {
        ArgumentNullException.ThrowIfNull(source);
        CheckSameKernel(source);
        using (Kernel.Sync.EnterScope())
        {
            return Kernel.TransferLocked(source, name, disposition, this);
        }
    }

    /// <summary>
    /// <c>mach_port_deallocate</c>: drops one user reference of a send or dead name, or the
    /// send-once right (which then sends a send-once notification), or destroys a port set.
    /// </summary>
    public void Deallocate(PortName name)
    {
        using (Kernel.Sync.EnterScope())
        {
            Kernel.DeallocateLocked(this, name);
        }
    }

    /// <summary>
    /// <c>mach_port_mod_refs</c>: changes user references of one right kind. Send and dead names
    /// count references; receive, send-once and port-set rights take only 0 or -1 (destroy).
    /// </summary>
    /// <exception cref="InvalidRightException">The name lacks the right, or the count would go negative.</exception>
    /// <exception cref="LimitExceededException">More than <see cref="PortKernelOptions.MaxUserReferences"/>.</exception>
    public void ModRefs(PortName name, PortRight right, int delta)
    {
        using (Kernel.Sync.EnterScope())
        {
            Kernel.ModRefsLocked(this, name, right, delta);
        }
    }

    /// <summary><c>mach_port_get_refs</c>.</summary>
    public int GetRefs(PortName name, PortRight right)
    {
        using (Kernel.Sync.EnterScope())
        {
            return Kernel.GetRefsLocked(this, name, right);
        }
    }

    /// <summary><c>mach_port_type</c>.</summary>
    public PortRightTypes GetRightTypes(PortName name)
    {
        using (Kernel.Sync.EnterScope())
        {
            return Kernel.GetTypeLocked(this, name);
        }
    }

    /// <summary><c>mach_port_names</c>: every name in the space.</summary>
    public IReadOnlyList<PortName> GetNames()
    {
        using (Kernel.Sync.EnterScope())
        {
            return [.. Names.Keys.Order().Select(n => new PortName(n))];
        }
    }

    /// <summary><c>mach_port_allocate(RIGHT_PORT_SET)</c>: a new, empty port set.</summary>
    public PortName CreatePortSet()
    {
        using (Kernel.Sync.EnterScope())
        {
            return Kernel.CreatePortSetLocked(this);
        }
    }

    /// <summary>
    /// <c>mach_port_move_member</c>: moves the receive right <paramref name="member"/> into
    /// <paramref name="set"/> (out of any previous set), or out of its set with <see cref="PortName.Null"/>.
    /// </summary>
    public void MoveMember(PortName member, PortName set)
    {
        using (Kernel.Sync.EnterScope())
        {
            Kernel.MoveMemberLocked(this, member, set);
        }
    }

    /// <summary>
    /// <c>mach_port_request_notification</c>: registers a notification on <paramref name="name"/>,
    /// delivered through a send-once right to <paramref name="notify"/> (made from its receive
    /// right, or moved), and returns the previously registered right as a name in this task
    /// (or <see cref="PortName.Null"/>). <paramref name="notify"/> = <see cref="PortName.Null"/> cancels.
    /// For <see cref="PortNotificationKind.NoSenders"/>, <paramref name="sync"/> is the make-send
    /// count at or above which a port already without senders is notified at once.
    /// </summary>
    public PortName RequestNotification(PortName name, PortNotificationKind kind, PortName notify,
        PortDisposition notifyDisposition = PortDisposition.MakeSendOnce, uint sync = 0)
    {
        using (Kernel.Sync.EnterScope())
        {
            return Kernel.RequestNotificationLocked(this, name, kind, notify, notifyDisposition, sync);
        }
    }

    /// <summary><c>mach_port_get_attributes(MACH_PORT_RECEIVE_STATUS)</c>: status of a receive right.</summary>
    public PortStatus GetStatus(PortName receive)
    {
        using (Kernel.Sync.EnterScope())
        {
            return Kernel.GetStatusLocked(this, receive);
        }
    }

    /// <summary><c>mach_port_set_qlimit</c>: 0 (rendezvous) to <see cref="PortKernelOptions.MaxQueueLimit"/>; raising it admits blocked senders.</summary>
    /// <exception cref="LimitExceededException">Out of range.</exception>
    public void SetQueueLimit(PortName receive, int limit)
    {
        using (Kernel.Sync.EnterScope())
        {
            Kernel.SetQueueLimitLocked(this, receive, limit);
        }
    }

    /// <summary>Destroys the name space: every right is deallocated, owned ports die.</summary>
    public ValueTask DisposeAsync()
    {
        Kernel.DetachTask(this);
        return default;
    }

    public override string ToString() => Label is null ? $"task {Id}" : $"task {Id} ({Label})";

    private PortName Transfer(PortName name, PortDisposition disposition, PortTask target)
    {
        using (Kernel.Sync.EnterScope())
        {
            return Kernel.TransferLocked(this, name, disposition, target);
        }
    }

    private void CheckSameKernel(PortTask other)
    {
        if (other.Kernel != Kernel)
        {
            throw new ArgumentException("both tasks must be attached to the same kernel", nameof(other));
        }
    }
}
