using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Kernel;

/// <summary>mach_msg send and receive: copy-in, queueing with qlimit, blocking, copy-out.</summary>
public sealed partial class PortKernel
{
    /// <summary>The send under the lock; <paramref name="sentAt"/> (the trailer's time) is read before taking it.</summary>
    internal ValueTask SendLocked(PortTask task, PortMessage message, DateTimeOffset sentAt, TimeSpan? timeout, CancellationToken cancellationToken, out Port? remote)
    {
        remote = null;
        var destEntry = LookupLocked(task, message.Destination);
        var destDisposition = message.DestinationDisposition;
        var destRight = destDisposition switch
        {
            PortDisposition.CopySend or PortDisposition.MoveSend or PortDisposition.MakeSend => PortRight.Send,
            PortDisposition.MoveSendOnce or PortDisposition.MakeSendOnce => PortRight.SendOnce,
            _ => throw new InvalidRightException($"{destDisposition} is not a destination disposition"),
        };
        if (destEntry.DeadRefs > 0 && !destEntry.Receive && destEntry.SendRefs == 0 && !destEntry.SendOnce)
        {
            throw new PortDeadException($"destination {message.Destination} is a dead name");
        }

        CheckDisposition(destEntry, message.Destination, destDisposition);
        var p = destEntry.Port!;
        if (!p.IsLocal)
        {
            if (Router is null)
            {
                throw new NoRouteException($"port {p.Ref} lives on another node and no router is attached");
            }
        }

        // Validate everything before changing anything, so a failed send leaves the space untouched.
        var replyEntry = CheckCopyInLocked(task, message.ReplyPort, message.ReplyDisposition);
        NameEntry?[]? entries = null;
        if (message.Ports is { Length: > 0 })
        {
            entries = CheckDescriptorsLocked(task, message, p);
        }
        else if (IsMove(message.ReplyDisposition) && message.ReplyPort == message.Destination)
        {
            throw new InvalidRightException($"name {message.ReplyPort} is moved and used again in the same message");
        }

        if (message.ReplyDisposition == PortDisposition.MoveReceive && replyEntry is not null)
        {
            CheckNotCircular(replyEntry.Port!, p);
        }

        // Copy in: from here on the send cannot fail except by blocking.
        var dest = CopyInLocked(task, message.Destination, destEntry, destDisposition);
        message.DestPort = p;
        message.DestRight = dest.Kind;
        if (replyEntry is not null)
        {
            // (With no reply port the message's ReplyRight is already None: a message enters the
            // kernel with it so, and leaves it so when received.)
            message.ReplyRight = CopyInLocked(task, message.ReplyPort, replyEntry, message.ReplyDisposition);
            if (message.ReplyRight is { Kind: PortRight.Receive, Port: { } replyPort })
            {
                replyPort.InTransitTo = p;
            }
        }

        if (entries is not null)
        {
            CopyInDescriptorsLocked(task, message, entries, p);
        }

        // Entries the copy-in emptied have left the space (a moved send-once reply right, most
        // often); nothing refers to them any more, so their task may reuse them.
        RecycleIfEmpty(task, destEntry);
        RecycleIfEmpty(task, replyEntry);

        if (message.OutOfLine is { Length: > 0 })
        {
            message.Flags |= MessageFlags.Complex;
        }

        message.Trailer = new MessageTrailer(LocalPeer, task.Id, 0, sentAt);
        if (!p.IsLocal)
        {
            remote = p;
            return default;
        }

        return QueueOrWaitLocked(p, message, destRight, timeout, cancellationToken);
    }

    /// <summary>The descriptors' part of a send's validation (kept out of <see cref="SendLocked"/>, whose common messages carry none).</summary>
    private NameEntry?[] CheckDescriptorsLocked(PortTask task, PortMessage message, Port destination)
    {
        var ports = message.Ports!;
        var entries = new NameEntry?[ports.Length];
        for (var i = 0; i < ports.Length; i++)
        {
            entries[i] = CheckCopyInLocked(task, ports[i].Name, ports[i].Disposition);
        }

        CheckNoConflictingMoves(message);
        for (var i = 0; i < ports.Length; i++)
        {
            if (ports[i].Disposition == PortDisposition.MoveReceive)
            {
                CheckNotCircular(entries[i]!.Port!, destination);
            }
        }

        return entries;
    }

    /// <summary>Copies in the descriptors' rights checked by <see cref="CheckDescriptorsLocked"/>; entries left empty go back to the task's pool.</summary>
    private void CopyInDescriptorsLocked(PortTask task, PortMessage message, NameEntry?[] entries, Port destination)
    {
        var ports = message.Ports!;
        var carried = new CarriedRight[ports.Length];
        for (var i = 0; i < carried.Length; i++)
        {
            carried[i] = CopyInLocked(task, ports[i].Name, entries[i], ports[i].Disposition);
            if (carried[i] is { Kind: PortRight.Receive, Port: { } moved })
            {
                moved.InTransitTo = destination;
            }
        }

        message.CarriedRights = carried;
        message.Flags |= MessageFlags.Complex;
        foreach (var e in entries)
        {
            RecycleIfEmpty(task, e);
        }
    }

    /// <summary>
    /// Queues a copied-in message, or (queue full, not a send-once send) makes it a blocked sender
    /// until room frees, the timeout passes or the wait is cancelled; a zero timeout fails at once.
    /// </summary>
    internal ValueTask QueueOrWaitLocked(Port p, PortMessage message, PortRight destRight, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        if (destRight == PortRight.SendOnce || HasRoomLocked(p))
        {
            EnqueueLocked(p, message);
            return default;
        }

        if (timeout == TimeSpan.Zero)
        {
            DestroyMessageLocked(message);
            throw new SendTimeoutException($"port {p.Ref} is full (qlimit {p.QueueLimit})");
        }

        var waiter = RentWaiter(timeout is not null);
        waiter.IsSender = true;
        waiter.Message = message;
        p.Senders.Add(waiter);
        Arm(waiter, timeout, cancellationToken);
        return new ValueTask(waiter, waiter.Version);
    }

    /// <summary>
    /// Refuses to move the receive right of <paramref name="moved"/> into a message whose
    /// destination is that port, or a port whose own receive right is (transitively) in transit
    /// to it: such a cycle could never be received or destroyed (XNU ipc_port_check_circularity).
    /// A proxy of a port that is in transit here continues the walk (<see cref="LeadsToLocked"/>).
    /// </summary>
    private void CheckNotCircular(Port moved, Port destination)
    {
        if (LeadsToLocked(destination, moved.Ref.Id))
        {
            throw new InvalidRightException($"moving the receive right of {moved} to {destination} would make a cycle of rights in transit");
        }
    }

    /// <summary>An entry left empty by a copy-in has been removed from the space (<see cref="AfterEntryChangedLocked"/>): back to the task's pool.</summary>
    private static void RecycleIfEmpty(PortTask task, NameEntry? e)
    {
        if (e is { IsEmpty: true })
        {
            task.ReturnEntry(e);
        }
    }

    private static bool HasRoomLocked(Port p) =>
        p.Senders.Count == 0 && (p.Messages.Count < p.QueueLimit || (p.Set?.Receivers.Count ?? p.Receivers.Count) > 0);

    private static bool IsMove(PortDisposition d) =>
        d is PortDisposition.MoveReceive or PortDisposition.MoveSend or PortDisposition.MoveSendOnce;

    /// <summary>A name moved by a message may appear only once in it (deviation: Mach allows some combinations).</summary>
    private static void CheckNoConflictingMoves(PortMessage message)
    {
        var ports = message.Ports!;
        for (var i = -2; i < ports.Length; i++)
        {
            var (name, disposition) = i switch
            {
                -2 => (message.Destination, message.DestinationDisposition),
                -1 => (message.ReplyPort, message.ReplyDisposition),
                _ => (ports[i].Name, ports[i].Disposition),
            };
            if (name.IsNull)
            {
                continue;
            }

            for (var j = i + 1; j < ports.Length; j++)
            {
                var (other, otherDisposition) = j == -1 ? (message.ReplyPort, message.ReplyDisposition) : (ports[j].Name, ports[j].Disposition);
                if (other == name && (IsMove(disposition) || IsMove(otherDisposition)))
                {
                    throw new InvalidRightException($"name {name} is moved and used again in the same message");
                }
            }
        }
    }

    /// <summary>Queues or hands over a copied-in message (room already checked, or a send-once send).</summary>
    internal void EnqueueLocked(Port p, PortMessage message)
    {
        if (!p.Active)
        {
            DestroyMessageLocked(message);
            return;
        }

        var waiter = p.Set is { } set ? set.Receivers.TakeFirst() : p.Receivers.TakeFirst();
        if (waiter is not null)
        {
            DeliverLocked(waiter.Task!, p, message);
            CompleteLocked(waiter, message);
            return;
        }

        p.Messages.Enqueue(message);
    }

    internal ValueTask<PortMessage> ReceiveLocked(PortTask task, PortName name, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var e = LookupLocked(task, name);
        CheckReceivable(e, name);
        WaiterList list;
        if (e.Set is { } set)
        {
            var count = set.Members.Count;
            for (var i = 0; i < count; i++)
            {
                var index = (set.Cursor + i) % count;
                var member = set.Members[index];
                if (TryTakeLocked(member, out var message))
                {
                    set.Cursor = index + 1;
                    DeliverLocked(task, member, message);
                    return new ValueTask<PortMessage>(message);
                }
            }

            list = set.Receivers;
        }
        else
        {
            var p = e.Port!;
            if (TryTakeLocked(p, out var message))
            {
                DeliverLocked(task, p, message);
                return new ValueTask<PortMessage>(message);
            }

            list = p.Receivers;
        }

        if (timeout == TimeSpan.Zero)
        {
            throw new ReceiveTimeoutException($"no message on {name}");
        }

        var waiter = (timeout is null ? task.TakeCachedWaiter() : null) ?? RentWaiter(timeout is not null);
        waiter.IsSender = false;
        waiter.Task = task;
        list.Add(waiter);
        Arm(waiter, timeout, cancellationToken);
        return new ValueTask<PortMessage>(waiter, waiter.Version);
    }

    /// <summary>How many receives of any task wait on the receive right <paramref name="name"/> of <paramref name="task"/> with their callers awaiting them (tests).</summary>
    internal int CountAwaitedReceivers(PortTask task, PortName name)
    {
        using (Sync.EnterScope())
        {
            return LookupLocked(task, name).Port!.Receivers.CountAwaited();
        }
    }

    /// <summary>
    /// Checks that <paramref name="task"/> could receive from <paramref name="name"/> once
    /// <paramref name="message"/> is sent: a receive right outside any set, or a port set, that
    /// the message does not move away.
    /// </summary>
    internal void CheckReceivableLocked(PortTask task, PortName name, PortMessage message)
    {
        CheckReceivable(LookupLocked(task, name), name);
        var moved = message.ReplyPort == name && message.ReplyDisposition == PortDisposition.MoveReceive;
        foreach (var d in message.Ports ?? [])
        {
            moved |= d.Name == name && d.Disposition == PortDisposition.MoveReceive;
        }

        if (moved)
        {
            throw new InvalidRightException($"the message moves the receive right of {name}, which the call would receive from");
        }
    }

    /// <summary>Throws unless <paramref name="e"/> is a port set, or a receive right outside any set.</summary>
    private static void CheckReceivable(NameEntry e, PortName name)
    {
        if (e.Set is not null)
        {
            return;
        }

        if (!e.Receive)
        {
            throw new InvalidRightException($"name {name} denotes neither a receive right nor a port set");
        }

        if (e.Port!.Set is not null)
        {
            throw new InvalidRightException($"port {name} is in a port set; receive from the set");
        }
    }

    private bool TryTakeLocked(Port p, out PortMessage message)
    {
        if (p.Messages.TryDequeue(out message!))
        {
            while (p.Senders.Count > 0 && p.Messages.Count < p.QueueLimit)
            {
                var sender = p.Senders.TakeFirst()!;
                p.Messages.Enqueue(sender.Message!);
                CompleteLocked(sender, null);
            }

            return true;
        }

        if (p.Senders.TakeFirst() is { } rendezvous)
        {
            // qlimit 0: hand over straight from a blocked sender.
            message = rendezvous.Message!;
            CompleteLocked(rendezvous, null);
            return true;
        }

        return false;
    }

    /// <summary>Copy-out of a dequeued message into the receiver's space; stamps the sequence number.</summary>
    private void DeliverLocked(PortTask task, Port p, PortMessage message)
    {
        message.Sequence = p.Sequence++;
        message.Destination = new PortName(p.ReceiverName);
        message.DestinationDisposition = PortDisposition.None;
        message.DestPort = null;
        if (message.DestRight == PortRight.Send)
        {
            ReleaseSendLocked(p);
        }
        else
        {
            p.SendOnceRights--;
        }

        var reply = message.ReplyRight;
        message.ReplyRight = CarriedRight.None;
        message.ReplyPort = new PortName(CopyOutLocked(task, reply));
        message.ReplyDisposition = ReceivedType(reply);
        if (message.CarriedRights is { } rights)
        {
            message.CarriedRights = null;
            var ports = message.Ports!;
            for (var i = 0; i < rights.Length; i++)
            {
                ports[i] = new PortDescriptor(new PortName(CopyOutLocked(task, rights[i])), ReceivedType(rights[i]));
            }
        }
    }

    private static PortDisposition ReceivedType(CarriedRight right) => right.Kind switch
    {
        _ when right.IsNone => PortDisposition.None,
        PortRight.Receive => PortDisposition.PortReceive,
        PortRight.SendOnce => PortDisposition.PortSendOnce,
        _ => PortDisposition.PortSend,
    };

    private void Arm(KernelWaiter waiter, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        waiter.Timer = timeout is { } t
            ? _time.CreateTimer(static s => ((KernelWaiter)s!).Kernel.AbortWaiter((KernelWaiter)s!, timedOut: true, default), waiter, t, Timeout.InfiniteTimeSpan)
            : null;
        if (cancellationToken.CanBeCanceled)
        {
            waiter.Registration = cancellationToken.UnsafeRegister(
                static (s, ct) => ((KernelWaiter)s!).Kernel.AbortWaiter((KernelWaiter)s!, timedOut: false, ct), waiter);
        }
    }

    /// <summary>Timeout or cancellation of a blocked operation that has not completed yet.</summary>
    private void AbortWaiter(KernelWaiter waiter, bool timedOut, CancellationToken cancellationToken)
    {
        using (Sync.EnterScope())
        {
            if (waiter.List is not { } list)
            {
                return;
            }

            list.Remove(waiter);
            if (waiter.IsSender)
            {
                DestroyMessageLocked(waiter.Message!);
            }

            Exception error = timedOut
                ? waiter.IsSender ? new SendTimeoutException("the port stayed full until the send timeout") : new ReceiveTimeoutException("no message arrived before the receive timeout")
                : new OperationCanceledException(cancellationToken);
            waiter.Fail(error);
        }
    }

    /// <summary>Checks the size limits outside the lock.</summary>
    internal void CheckLimits(PortMessage message)
    {
        if (message.Payload.Length > Options.MaxInlinePayload)
        {
            throw new MessageTooLargeException("inline payload", message.Payload.Length, Options.MaxInlinePayload);
        }

        if (message.Ports is { } ports && ports.Length > Options.MaxPortDescriptors)
        {
            throw new MessageTooLargeException("port descriptor count", ports.Length, Options.MaxPortDescriptors);
        }

        if (message.OutOfLine is { } regions)
        {
            if (regions.Length > Options.MaxOutOfLineRegions)
            {
                throw new MessageTooLargeException("out-of-line region count", regions.Length, Options.MaxOutOfLineRegions);
            }

            long total = 0;
            foreach (var r in regions)
            {
                total += r.Data.Length;
            }

            if (total > Options.MaxOutOfLineBytes)
            {
                throw new MessageTooLargeException("out-of-line data", total, Options.MaxOutOfLineBytes);
            }
        }

        if (message.DestPort is not null || message.CarriedRights is not null || !message.ReplyRight.IsNone)
        {
            throw new InvalidOperationException("the message is already in the kernel; build a new one");
        }
    }
}
