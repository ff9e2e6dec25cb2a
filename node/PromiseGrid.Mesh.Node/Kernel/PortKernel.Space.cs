using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Kernel;

/// <summary>Name-space operations (mach_port_* calls); each runs under the kernel lock, called from <see cref="PortTask"/>.</summary>
public sealed partial class PortKernel
{
    internal void DeallocateLocked(PortTask task, PortName name)
    {
        var e = LookupLocked(task, name);
        if (e.Set is not null)
        {
            DestroyNameLocked(task, name.Value);
        }
        else if (e.SendRefs > 0)
        {
            if (--e.SendRefs == 0)
            {
                ReleaseSendLocked(e.Port!);
            }

            AfterEntryChangedLocked(task, name.Value, e);
        }
        else if (e.SendOnce)
        {
            e.SendOnce = false;
            ReleaseSendOnceLocked(e.Port!);
            AfterEntryChangedLocked(task, name.Value, e);
        }
        else if (e.DeadRefs > 0)
        {
            e.DeadRefs--;
            AfterEntryChangedLocked(task, name.Value, e);
        }
        else
        {
            throw new InvalidRightException($"name {name} holds only a receive right; destroy the port or mod-refs the receive right");
        }
    }

    internal void ModRefsLocked(PortTask task, PortName name, PortRight right, int delta)
    {
        var e = LookupLocked(task, name);
        switch (right)
        {
            case PortRight.Send:
            case PortRight.DeadName:
                var current = right == PortRight.Send ? e.SendRefs : e.DeadRefs;
                if (current == 0)
                {
                    throw new InvalidRightException($"name {name} holds no {right} right");
                }

                var next = (long)current + delta;
                if (next < 0)
                {
                    throw new InvalidRightException($"{right} user references of {name} would go negative ({current} {delta:+#;-#;0})");
                }

                if (next > Options.MaxUserReferences)
                {
                    throw new LimitExceededException("user references", next, Options.MaxUserReferences);
                }

                if (right == PortRight.DeadName)
                {
                    e.DeadRefs = (int)next;
                }
                else
                {
                    e.SendRefs = (int)next;
                    if (next == 0)
                    {
                        ReleaseSendLocked(e.Port!);
                    }
                }

                break;
            case PortRight.Receive:
            case PortRight.SendOnce:
            case PortRight.PortSet:
                var holds = right switch
                {
                    PortRight.Receive => e.Receive,
                    PortRight.SendOnce => e.SendOnce,
                    _ => e.Set is not null,
                };
                if (!holds)
                {
                    throw new InvalidRightException($"name {name} holds no {right} right");
                }

                if (delta is < -1 or > 0)
                {
                    throw new InvalidRightException($"a {right} right has exactly one user reference; delta {delta} is invalid");
                }

                if (delta == 0)
                {
                    return;
                }

                if (right == PortRight.PortSet)
                {
                    var set = e.Set!;
                    e.Set = null;
                    DestroySetLocked(set);
                }
                else if (right == PortRight.SendOnce)
                {
                    e.SendOnce = false;
                    ReleaseSendOnceLocked(e.Port!);
                }
                else
                {
                    e.Receive = false;
                    DetachReceiverLocked(e.Port!, "the receive right was destroyed");
                    ReleaseReceiveLocked(e.Port!);
                    Normalize(task, name.Value, e);
                }

                break;
            default:
                throw new InvalidRightException($"unknown right {right}");
        }

        AfterEntryChangedLocked(task, name.Value, e);
    }

    internal PortName TransferLocked(PortTask from, PortName name, PortDisposition disposition, PortTask to)
    {
        ThrowIfDead(to);
        var e = CheckCopyInLocked(from, name, disposition) ?? throw new InvalidNameException(0);
        var right = CopyInLocked(from, name, e, disposition);
        return new PortName(CopyOutLocked(to, right));
    }

    internal PortName CreatePortSetLocked(PortTask task)
    {
        ThrowIfDead(task);
        var name = task.AllocateName();
        task.Names.Add(name, new NameEntry { Set = new PortSet(task, name) });
        return new PortName(name);
    }

    internal void MoveMemberLocked(PortTask task, PortName member, PortName setName)
    {
        var e = LookupLocked(task, member);
        if (!e.Receive)
        {
            throw new InvalidRightException($"name {member} holds no receive right");
        }

        PortSet? target = null;
        if (!setName.IsNull)
        {
            target = LookupLocked(task, setName).Set ?? throw new InvalidRightException($"name {setName} is not a port set");
        }

        var p = e.Port!;
        if (p.Set == target)
        {
            return;
        }

        p.Set?.Members.Remove(p);
        p.Set = target;
        if (target is null)
        {
            return;
        }

        target.Members.Add(p);
        foreach (var w in p.Receivers.TakeAll())
        {
            w.Fail(new InvalidRightException($"port {member} was moved into a port set during the receive"));
        }

        while (target.Receivers.Count > 0 && TryTakeLocked(p, out var message))
        {
            var w = target.Receivers.TakeFirst()!;
            DeliverLocked(w.Task!, p, message);
            w.Complete(message);
        }
    }

    internal PortName RequestNotificationLocked(PortTask task, PortName name, PortNotificationKind kind, PortName notify, PortDisposition notifyDisposition, uint sync)
    {
        var e = LookupLocked(task, name);
        var ok = kind switch
        {
            PortNotificationKind.DeadName => e.SendRefs > 0 || e.SendOnce || e.DeadRefs > 0,
            PortNotificationKind.NoSenders or PortNotificationKind.PortDestroyed => e.Receive,
            _ => false,
        };
        if (!ok)
        {
            throw new InvalidRightException($"name {name} holds no right a {kind} notification can watch");
        }

        if (notifyDisposition is not (PortDisposition.MakeSendOnce or PortDisposition.MoveSendOnce))
        {
            throw new InvalidRightException("a notification right must be MakeSendOnce or MoveSendOnce");
        }

        if (notify == name && notifyDisposition == PortDisposition.MoveSendOnce)
        {
            throw new InvalidRightException($"name {name} cannot be both the watched right and the moved notification right");
        }

        var notifyEntry = CheckCopyInLocked(task, notify, notifyDisposition);
        if (notifyEntry?.Port is { IsLocal: false } remotePort)
        {
            throw new NoRouteException($"notification port {remotePort.Ref} is not on this node");
        }

        if (kind == PortNotificationKind.DeadName && e.DeadRefs > 0 && e.SendRefs == 0 && !e.SendOnce)
        {
            // Already dead: notify at once (GM Request-Notifications), one more dead-name reference.
            if (CopyInLocked(task, notify, notifyEntry, notifyDisposition).Port is { } immediate)
            {
                e.DeadRefs++;
                SendNotificationLocked(immediate, PortNotification.DeadName, name.Value, CarriedRight.None);
            }

            return PortName.Null;
        }

        var right = CopyInLocked(task, notify, notifyEntry, notifyDisposition).Port;
        var p = e.Port!;
        Port? previous;
        switch (kind)
        {
            case PortNotificationKind.DeadName:
                previous = TakeDeadNameRequestLocked(p, task, name.Value);
                if (right is not null)
                {
                    (p.DeadNameRequests ??= []).Add(new DeadNameRequest(task, name.Value, right));
                }

                e.DeadNameRequested = right is not null;
                break;
            case PortNotificationKind.NoSenders:
                previous = p.NoSendersRequest;
                p.NoSendersRequest = right;
                p.NoSendersSync = sync;
                if (right is not null && p.SendRights == 0 && p.MakeSendCount >= sync)
                {
                    p.NoSendersRequest = null;
                    SendNotificationLocked(right, PortNotification.NoSenders, p.MakeSendCount, CarriedRight.None);
                }

                break;
            default:
                previous = p.PortDestroyedRequest;
                p.PortDestroyedRequest = right;
                break;
        }

        return previous is null ? PortName.Null : new PortName(CopyOutLocked(task, new CarriedRight(previous, PortRight.SendOnce)));
    }

    internal PortStatus GetStatusLocked(PortTask task, PortName name)
    {
        var e = LookupLocked(task, name);
        if (!e.Receive)
        {
            throw new InvalidRightException($"name {name} holds no receive right");
        }

        var p = e.Port!;
        return new PortStatus(
            p.Set is { } s ? new PortName(s.Name) : PortName.Null,
            p.Sequence,
            p.MakeSendCount,
            p.QueueLimit,
            p.Messages.Count,
            p.SendOnceRights,
            p.SendRights > 0,
            p.PortDestroyedRequest is not null,
            p.NoSendersRequest is not null,
            p.SendRights);
    }

    internal void SetQueueLimitLocked(PortTask task, PortName name, int limit)
    {
        var e = LookupLocked(task, name);
        if (!e.Receive)
        {
            throw new InvalidRightException($"name {name} holds no receive right");
        }

        if (limit < 0 || limit > Options.MaxQueueLimit)
        {
            throw new LimitExceededException("queue limit", limit, Options.MaxQueueLimit);
        }

        var p = e.Port!;
        p.QueueLimit = limit;
        while (p.Senders.Count > 0 && p.Messages.Count < p.QueueLimit)
        {
            var sender = p.Senders.TakeFirst()!;
            EnqueueLocked(p, sender.Message!);
            sender.Complete(null);
        }
    }

    internal PortRightTypes GetTypeLocked(PortTask task, PortName name)
    {
        var e = LookupLocked(task, name);
        var t = PortRightTypes.None;
        if (e.Receive)
        {
            t |= PortRightTypes.Receive;
        }

        if (e.SendRefs > 0)
        {
            t |= PortRightTypes.Send;
        }

        if (e.SendOnce)
        {
            t |= PortRightTypes.SendOnce;
        }

        if (e.DeadRefs > 0)
        {
            t |= PortRightTypes.DeadName;
        }

        if (e.Set is not null)
        {
            t |= PortRightTypes.PortSet;
        }

        if (e.DeadNameRequested)
        {
            t |= PortRightTypes.DeadNameRequest;
        }

        return t;
    }

    internal int GetRefsLocked(PortTask task, PortName name, PortRight right)
    {
        var e = LookupLocked(task, name);
        return right switch
        {
            PortRight.Send => e.SendRefs,
            PortRight.Receive => e.Receive ? 1 : 0,
            PortRight.SendOnce => e.SendOnce ? 1 : 0,
            PortRight.PortSet => e.Set is null ? 0 : 1,
            PortRight.DeadName => e.DeadRefs,
            _ => throw new InvalidRightException($"unknown right {right}"),
        };
    }
}
