namespace PromiseGrid.Mesh.Kernel;

/// <summary>Port, name and set destruction (mach_port_destroy, Port-Destruction in the GNU Mach manual).</summary>
public sealed partial class PortKernel
{
    /// <summary>
    /// The port dies: queued messages are destroyed (their rights released), blocked senders and
    /// receivers fail with <see cref="PortDeadException"/>, send rights become dead names,
    /// dead-name requests fire and other registered notification rights are released.
    /// </summary>
    internal void DestroyPortLocked(Port p)
    {
        if (!p.Active)
        {
            return;
        }

        p.Active = false;
        if (p.IsLocal)
        {
            _ports.Remove(p.Ref.Id);
            LocalPortDiedLocked(p);
        }
        else
        {
            if (_proxies.TryGetValue(p.Ref, out var mapped) && mapped == p)
            {
                _proxies.Remove(p.Ref);
            }

            if (p.MovedAway)
            {
                // Its receive right moved away and died there: the nodes that hold rights to the old reference hear it from here.
                ForgetMovedAwayLocked(p);
                LocalPortDiedLocked(p);
            }
        }

        if (p.Receiver is { } holder && holder.Names.TryGetValue(p.ReceiverName, out var entry))
        {
            entry.Receive = false;
            Normalize(holder, p.ReceiverName, entry);
            AfterEntryChangedLocked(holder, p.ReceiverName, entry);
        }

        DetachReceiverLocked(p, "the port was destroyed");
        foreach (var w in p.Senders.TakeAll())
        {
            DestroyMessageLocked(w.Message!);
            w.Fail(new PortDeadException($"port {p.Ref} was destroyed while the send was blocked"));
        }

        while (p.Messages.TryDequeue(out var queued))
        {
            DestroyMessageLocked(queued);
        }

        if (p.PortDestroyedRequest is { } pd)
        {
            p.PortDestroyedRequest = null;
            ReleaseSendOnceLocked(pd);
        }

        if (p.NoSendersRequest is { } ns)
        {
            p.NoSendersRequest = null;
            ReleaseSendOnceLocked(ns);
        }

        if (p.DeadNameRequests is { } requests)
        {
            p.DeadNameRequests = null;
            foreach (var r in requests)
            {
                if (!r.Task.Disposed && r.Task.Names.TryGetValue(r.Name, out var e) && e.Port == p)
                {
                    Normalize(r.Task, r.Name, e);
                    e.DeadNameRequested = false;
                    e.DeadRefs++;
                    SendNotificationLocked(r.Notify, PortNotification.DeadName, r.Name, CarriedRight.None);
                }
                else
                {
                    ReleaseSendOnceLocked(r.Notify);
                }
            }
        }
    }

    /// <summary>mach_port_destroy: every right the name denotes is deallocated; the name is free afterwards.</summary>
    internal void DestroyNameLocked(PortTask task, uint name)
    {
        var e = task.Names[name];
        Normalize(task, name, e);
        var p = e.Port;
        if (e.DeadNameRequested && p is { Active: true })
        {
            e.DeadNameRequested = false;
            if (TakeDeadNameRequestLocked(p, task, name) is { } notify)
            {
                SendNotificationLocked(notify, PortNotification.PortDeleted, name, CarriedRight.None);
            }
        }

        task.Names.Remove(name);
        task.ForgetName(name);
        if (p is not null && task.PortNames.TryGetValue(p, out var n) && n == name)
        {
            task.PortNames.Remove(p);
        }

        if (e.Set is { } set)
        {
            e.Set = null;
            DestroySetLocked(set);
        }

        var sendOnce = e.SendOnce;
        var send = e.SendRefs > 0;
        var receive = e.Receive;
        e.SendOnce = false;
        e.SendRefs = 0;
        e.Receive = false;
        e.DeadRefs = 0;
        if (sendOnce)
        {
            ReleaseSendOnceLocked(p!);
        }

        if (send)
        {
            ReleaseSendLocked(p!);
        }

        if (receive)
        {
            DetachReceiverLocked(p!, "the receive right was destroyed");
            ReleaseReceiveLocked(p!);
        }
    }

    private static void DestroySetLocked(PortSet set)
    {
        foreach (var member in set.Members)
        {
            member.Set = null;
        }

        set.Members.Clear();
        foreach (var w in set.Receivers.TakeAll())
        {
            w.Fail(new PortDeadException("the port set was destroyed"));
        }
    }
}
