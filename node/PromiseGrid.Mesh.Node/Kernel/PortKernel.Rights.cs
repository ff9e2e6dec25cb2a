using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Kernel;

/// <summary>Copy-in and copy-out of rights (Mach's ipc_right_copyin/copyout) and their release.</summary>
public sealed partial class PortKernel
{
    /// <summary>Checks that <paramref name="name"/> can be copied in with <paramref name="disposition"/>, without changing anything.</summary>
    internal NameEntry? CheckCopyInLocked(PortTask task, PortName name, PortDisposition disposition)
    {
        if (name.IsNull)
        {
            return null;
        }

        var e = LookupLocked(task, name);
        CheckDisposition(e, name, disposition);
        return e;
    }

    /// <summary>Throws unless <paramref name="e"/> holds the right <paramref name="disposition"/> takes.</summary>
    internal static void CheckDisposition(NameEntry e, PortName name, PortDisposition disposition)
    {
        var ok = disposition switch
        {
            PortDisposition.MoveReceive or PortDisposition.MakeSend or PortDisposition.MakeSendOnce => e.Receive,
            PortDisposition.MoveSend or PortDisposition.CopySend => e.SendRefs > 0 || e.DeadRefs > 0,
            PortDisposition.MoveSendOnce => e.SendOnce || e.DeadRefs > 0,
            _ => throw new InvalidRightException($"{disposition} is not a disposition for sending a right"),
        };
        if (!ok)
        {
            throw new InvalidRightException($"name {name} does not hold the right {disposition} needs");
        }
    }

    /// <summary>Takes the right out of the task's space (after <see cref="CheckCopyInLocked"/>).</summary>
    internal CarriedRight CopyInLocked(PortTask task, PortName name, NameEntry? e, PortDisposition disposition)
    {
        if (e is null)
        {
            return CarriedRight.None;
        }

        var p = e.Port!;
        switch (disposition)
        {
            case PortDisposition.MoveReceive:
                e.Receive = false;
                DetachReceiverLocked(p, "the receive right was moved");
                AfterEntryChangedLocked(task, name.Value, e);
                return new(p, PortRight.Receive);
            case PortDisposition.MakeSend:
                p.MakeSendCount++;
                p.SendRights++;
                return new(p, PortRight.Send);
            case PortDisposition.MakeSendOnce:
                p.SendOnceRights++;
                return new(p, PortRight.SendOnce);
            case PortDisposition.CopySend when e.SendRefs > 0:
                p.SendRights++;
                return new(p, PortRight.Send);
            case PortDisposition.MoveSend when e.SendRefs > 0:
                if (--e.SendRefs > 0)
                {
                    p.SendRights++;
                }

                AfterEntryChangedLocked(task, name.Value, e);
                return new(p, PortRight.Send);
            case PortDisposition.MoveSendOnce when e.SendOnce:
                e.SendOnce = false;
                AfterEntryChangedLocked(task, name.Value, e);
                return new(p, PortRight.SendOnce);
            case PortDisposition.CopySend:
                return new(null, PortRight.DeadName);
            default:
                // Moving a dead name: one dead-name reference travels as MACH_PORT_DEAD.
                e.DeadRefs--;
                AfterEntryChangedLocked(task, name.Value, e);
                return new(null, PortRight.DeadName);
        }
    }

    /// <summary>Puts a right into the task's space; returns the name (<see cref="PortName.Dead"/> for a dead right).</summary>
    internal uint CopyOutLocked(PortTask task, CarriedRight right)
    {
        if (right.Port is not { } p)
        {
            return right.Kind == PortRight.DeadName ? PortName.Dead.Value : 0;
        }

        uint name;
        NameEntry? e;
        switch (right.Kind)
        {
            case PortRight.Receive:
                if (task.PortNames.TryGetValue(p, out name))
                {
                    task.Names[name].Receive = true;
                }
                else
                {
                    name = task.AllocateName();
                    task.Names.Add(name, new NameEntry { Port = p, Receive = true });
                    task.PortNames.Add(p, name);
                }

                p.Receiver = task;
                p.ReceiverName = name;
                p.InTransitTo = null;
                p.TransitHops = 0;
                return name;
            case PortRight.Send when p.Active:
                if (task.PortNames.TryGetValue(p, out name))
                {
                    e = task.Names[name];
                    if (e.SendRefs > 0)
                    {
                        // Two send rights merge into one name: one right fewer (Mach ip_srights--).
                        p.SendRights--;
                        if (e.SendRefs < Options.MaxUserReferences)
                        {
                            e.SendRefs++;
                        }
                    }
                    else
                    {
                        e.SendRefs = 1;
                    }

                    return name;
                }

                name = task.AllocateName();
                task.Names.Add(name, new NameEntry { Port = p, SendRefs = 1 });
                task.PortNames.Add(p, name);
                return name;
            case PortRight.SendOnce when p.Active:
                name = task.AllocateName();
                e = task.RentEntry();
                e.Port = p;
                e.SendOnce = true;
                task.Names.Add(name, e);
                return name;
            default:
                // A send or send-once right whose port died in transit arrives as a dead name.
                if (right.Kind == PortRight.Send)
                {
                    p.SendRights--;
                }
                else
                {
                    p.SendOnceRights--;
                }

                name = task.AllocateName();
                task.Names.Add(name, new NameEntry { Port = p, DeadRefs = 1 });
                return name;
        }
    }

    /// <summary>Destroys a right that is not in any name space (a message's right, a notification right).</summary>
    internal void ReleaseLocked(CarriedRight right)
    {
        if (right.Port is not { } p)
        {
            return;
        }

        switch (right.Kind)
        {
            case PortRight.Receive:
                ReleaseReceiveLocked(p);
                break;
            case PortRight.Send:
                ReleaseSendLocked(p);
                break;
            case PortRight.SendOnce:
                ReleaseSendOnceLocked(p);
                break;
        }
    }

    internal void ReleaseSendLocked(Port p)
    {
        if (!p.IsLocal)
        {
            if (--p.SendRights == 0)
            {
                ProxySendsGoneLocked(p);
            }

            return;
        }

        if (--p.SendRights == 0 && p.Active && p.NoSendersRequest is { } notify)
        {
            p.NoSendersRequest = null;
            SendNotificationLocked(notify, PortNotification.NoSenders, p.MakeSendCount, CarriedRight.None);
        }
    }

    /// <summary>A send-once right destroyed unused: the port gets a send-once notification through that very right.</summary>
    internal void ReleaseSendOnceLocked(Port p)
    {
        if (!p.IsLocal)
        {
            ReleaseProxySendOnceLocked(p);
            return;
        }

        if (p.Active)
        {
            SendNotificationLocked(p, PortNotification.SendOnce, null, CarriedRight.None);
        }
        else
        {
            p.SendOnceRights--;
        }
    }

    /// <summary>A receive right destroyed: sent to the port-destroyed requester if any, else the port dies.</summary>
    internal void ReleaseReceiveLocked(Port p)
    {
        p.Receiver = null;
        p.InTransitTo = null;
        if (p.PortDestroyedRequest is { } notify && !WouldBeCircular(p, notify))
        {
            p.PortDestroyedRequest = null;
            p.InTransitTo = notify;
            SendNotificationLocked(notify, PortNotification.PortDestroyed, null, new CarriedRight(p, PortRight.Receive));
        }
        else
        {
            DestroyPortLocked(p);
        }
    }

    private static bool WouldBeCircular(Port moved, Port destination)
    {
        for (var x = destination; x is not null; x = x.InTransitTo)
        {
            if (x == moved)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The receive right leaves its task: off its set, blocked receivers fail.</summary>
    private void DetachReceiverLocked(Port p, string reason)
    {
        if (p.Set is { } set)
        {
            set.Members.Remove(p);
            p.Set = null;
        }

        p.Receiver = null;
        if (p.Receivers.Count > 0)
        {
            foreach (var w in p.Receivers.TakeAll())
            {
                w.Fail(new PortDeadException(reason));
            }
        }
    }

    /// <summary>Housekeeping after an entry lost rights: port-deleted notification, removal of an empty name.</summary>
    internal void AfterEntryChangedLocked(PortTask task, uint name, NameEntry e)
    {
        if (e.DeadNameRequested && e.Port is { Active: true } p && !e.Receive && e.SendRefs == 0 && !e.SendOnce)
        {
            e.DeadNameRequested = false;
            var notify = TakeDeadNameRequestLocked(p, task, name);
            if (notify is not null)
            {
                SendNotificationLocked(notify, PortNotification.PortDeleted, name, CarriedRight.None);
            }
        }

        if (e.IsEmpty)
        {
            task.Names.Remove(name);
            task.ForgetName(name);
            if (e.Port is { } port && task.PortNames.TryGetValue(port, out var n) && n == name)
            {
                task.PortNames.Remove(port);
            }
        }
    }

    internal static Port? TakeDeadNameRequestLocked(Port p, PortTask task, uint name)
    {
        var list = p.DeadNameRequests;
        if (list is null)
        {
            return null;
        }

        for (var i = 0; i < list.Count; i++)
        {
            if (list[i].Task == task && list[i].Name == name)
            {
                var notify = list[i].Notify;
                list.RemoveAt(i);
                return notify;
            }
        }

        return null;
    }

    /// <summary>Sends a kernel notification through the send-once right <paramref name="notify"/> (consuming it).</summary>
    internal void SendNotificationLocked(Port notify, int id, uint? value, CarriedRight carried)
    {
        var message = new PortMessage
        {
            MessageId = id,
            Flags = MessageFlags.Notification | (carried.IsNone ? MessageFlags.None : MessageFlags.Complex),
            Payload = value is { } v ? PortNotification.Encode(v) : ReadOnlyMemory<byte>.Empty,
            DestPort = notify,
            DestRight = PortRight.SendOnce,
            Trailer = new MessageTrailer(LocalPeer, 0, 0, Now),
        };
        if (!carried.IsNone)
        {
            message.CarriedRights = [carried];
            message.Ports = [default];
        }

        if (!notify.IsLocal)
        {
            // The notify port's receive right moved to another node since the request was made.
            ForwardUnawaitedLocked(message);
            return;
        }

        EnqueueLocked(notify, message);
    }

    /// <summary>Destroys an undelivered message the Mach way: every right in it is released.</summary>
    internal void DestroyMessageLocked(PortMessage message)
    {
        if (message.DestPort is { } dest)
        {
            message.DestPort = null;
            if (message.DestRight == PortRight.Send)
            {
                ReleaseSendLocked(dest);
            }
            else
            {
                dest.SendOnceRights--;
            }
        }

        var reply = message.ReplyRight;
        message.ReplyRight = CarriedRight.None;
        ReleaseLocked(reply);
        if (message.CarriedRights is { } rights)
        {
            message.CarriedRights = null;
            foreach (var r in rights)
            {
                ReleaseLocked(r);
            }
        }

        message.Dispose();
    }
}
