using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Kernel;

/// <summary>
/// Receive rights moving between nodes (docs/ports-protocol.md, "Receive rights"). The port
/// keeps its 128-bit id: the node that sends the right turns its port into a proxy of the new
/// home in place (tasks keep their names; what other nodes send to the old reference is
/// forwarded), and the node that receives it makes a local port with the same id (or turns its
/// own forwarder for that id back into the port), owned by the message until a task receives
/// it, exactly like a local receive right in transit.
/// </summary>
public sealed partial class PortKernel
{
    /// <summary>
    /// Most times a receive right may arrive at a node only to be forwarded at once without a
    /// task receiving it (<see cref="ReceiveRightEnvelope.Hops"/>). Moves across nodes are not
    /// checked for cycles globally: a cycle of receive rights in transit (each in a message to
    /// the other, through forwarders) would travel for ever; past this bound the right is
    /// refused, so it is released and its port destroyed, as Mach destroys what can never be received.
    /// </summary>
    internal const uint MaxTransitHops = 32;

    /// <summary>
    /// A message leaving for <see cref="ForwardPlan.Destination"/> carries the receive right of
    /// the local port <paramref name="p"/> (in <paramref name="slot"/>, -1 the reply): the port
    /// becomes a proxy of <c>(destination, same id)</c>, its queued and blocked messages are
    /// handed to the plan's backlog, and this node stays one holder at the new home for the
    /// rights its tasks and other nodes hold. Returns the descriptor to write.
    /// </summary>
    private PortDescriptorEnvelope MoveReceiveAwayLocked(ForwardPlan plan, Port p, int slot)
    {
        var oldRef = p.Ref;
        if (p.PublishedName is { } service)
        {
            _published.Remove(service);
            p.PublishedName = null;
        }

        // Registered no-senders and port-destroyed requests travel with the port (first, so a
        // notification a cancelled one makes to the port itself is queued and follows it).
        var noSenders = TakeTravellingRequestLocked(plan, p, ref p.NoSendersRequest);
        var portDestroyed = TakeTravellingRequestLocked(plan, p, ref p.PortDestroyedRequest);

        // Messages already accepted by the port follow it, in order, right behind this message.
        while (p.Messages.TryDequeue(out var queued))
        {
            plan.Backlog.Add(queued);
        }

        foreach (var blocked in p.Senders.TakeAll())
        {
            // Accepted by the port's queue now: the sender's send is done.
            plan.Backlog.Add(blocked.Message!);
            CompleteLocked(blocked, null);
        }

        // Every right counted here (tasks' names, messages, other nodes) stays counted here: to the
        // new home this node is one holder of one send right and of each send-once right, except
        // send-once rights counted twice since an earlier return (PendingSendOnceReturns).
        var holdsSend = p.SendRights > 0;
        var sendOnce = p.SendOnceRights - PendingSendOnceReturnsOf(p);
        plan.ReceiveRights.Add(new ReceiveRightEnvelope(
            slot, p.Sequence, (uint)p.QueueLimit, p.MakeSendCount, holdsSend ? 1u : 0u, (uint)sendOnce, p.TransitHops,
            noSenders, noSenders is null ? 0 : p.NoSendersSync, portDestroyed));
        p.Ref = new PortRef(plan.Destination, oldRef.Id);
        p.IsLocal = false;
        p.MovedAway = true;
        p.InTransitTo = null;
        p.Receiver = null;
        p.GrantedSend = holdsSend ? 1 : 0;
        p.GrantedSendOnce = sendOnce;
        _proxies.TryAdd(p.Ref, p);
        plan.MovedAway.Add(p);
        MaybeForgetProxyLocked(p);
        return new PortDescriptorEnvelope(oldRef, PortDisposition.PortReceive);
    }

    /// <summary>
    /// A notification request registered on <paramref name="p"/>, whose receive right is leaving
    /// for <see cref="ForwardPlan.Destination"/>: its send-once right to the notify port goes with
    /// the port, as a right in a descriptor would (a local notify port: the new home holds it; a
    /// notify port on the new home: the unit is handed on there), and the reference is returned
    /// for the entry. Deviation: a notify port on a third node (it moved away since the request),
    /// or the port itself, cannot travel; that request is cancelled, its right destroyed unused
    /// (a send-once notification).
    /// </summary>
    private PortRef? TakeTravellingRequestLocked(ForwardPlan plan, Port p, ref Port? request)
    {
        if (request is not { } notify)
        {
            return null;
        }

        request = null;
        if (notify.Active && notify.IsLocal && notify != p)
        {
            AddHolderLocked(notify, plan.Destination, PortRight.SendOnce);
            plan.Transferred.Add(new CarriedRight(notify, PortRight.SendOnce));
            return notify.Ref;
        }

        if (notify.Active && !notify.IsLocal && notify.Ref.Home == plan.Destination)
        {
            plan.HandedOnRequests.Add(notify);
            return notify.Ref;
        }

        ReleaseSendOnceLocked(notify);
        return null;
    }

    /// <summary>
    /// A port that moved away and that nobody here or on other nodes holds a right to any more:
    /// its old reference answers nothing from now on.
    /// </summary>
    private void ForgetMovedAwayLocked(Port p)
    {
        if (p.MovedAway && _ports.TryGetValue(p.Ref.Id, out var mapped) && mapped == p)
        {
            _ports.Remove(p.Ref.Id);
        }
    }

    /// <summary>
    /// The receive rights a message from <paramref name="from"/> moves here must be rights it can
    /// move and that can arrive: the sender must be the port's home (only the holder of the
    /// receive right answers for a port, and a reference is not a capability), the id must be
    /// free here, and the port must not travel into a message to itself.
    /// </summary>
    /// <exception cref="NoRightException">The sender is not the home of a port whose receive right it moves.</exception>
    /// <exception cref="PortIdInUseException">A port with that id lives here (or moved away from here).</exception>
    /// <exception cref="InvalidRightException">The port would travel to itself, or the same port moves twice.</exception>
    private void CheckMovedReceiveRights(PeerId from, in MessageEnvelope envelope, Port destination)
    {
        var moved = envelope.ReceiveRights;
        var receiveRights = envelope.ReplyType == PortDisposition.PortReceive ? 1 : 0;
        foreach (var d in envelope.Ports)
        {
            receiveRights += d.Type == PortDisposition.PortReceive ? 1 : 0;
        }

        if (receiveRights != moved.Count)
        {
            // The codec refuses such envelopes already; an envelope built otherwise gets the same answer.
            throw new InvalidRightException($"{receiveRights} receive rights travel with {moved.Count} receive-right entries");
        }

        for (var i = 0; i < moved.Count; i++)
        {
            var record = moved[i];
            var (reference, type) = record.Slot == -1 ? (envelope.Reply, envelope.ReplyType)
                : record.Slot >= 0 && record.Slot < envelope.Ports.Count ? (envelope.Ports[record.Slot].Port, envelope.Ports[record.Slot].Type)
                : (null, PortDisposition.None);
            if (reference is null || type != PortDisposition.PortReceive)
            {
                throw new InvalidRightException($"receive-right entry {i} names slot {record.Slot}, which holds no receive right");
            }

            if (reference.Home != from)
            {
                throw new NoRightException($"{from} moves the receive right of {reference}, whose home is another node");
            }

            if (LeadsToLocked(destination, reference.Id))
            {
                throw new InvalidRightException($"the receive right of {reference} cannot travel in a message to its own port, or to a port in transit towards it");
            }

            if (_ports.TryGetValue(reference.Id, out var existing) && !existing.MovedAway)
            {
                throw new PortIdInUseException($"port id {reference.Id} is already in use at {LocalPeer}");
            }

            if ((record.NoSendersNotify is { } ns && ns.Home != from && ns.Home != LocalPeer)
                || (record.PortDestroyedNotify is { } pd && pd.Home != from && pd.Home != LocalPeer))
            {
                throw new InvalidRightException($"the notification requests of {reference} must notify ports of {from}, which moves it, or of {LocalPeer}");
            }

            if (record.Hops >= MaxTransitHops)
            {
                throw new InvalidRightException($"the receive right of {reference} was forwarded {record.Hops} times without reaching a task: a cycle of receive rights in transit across nodes");
            }

            if (record.SenderSend > 1 || record.SenderSendOnce > int.MaxValue / 2)
            {
                throw new InvalidRightException($"the sender of {reference} claims {record.SenderSend} send and {record.SenderSendOnce} send-once rights; it holds its send rights as one");
            }

            for (var j = 0; j < i; j++)
            {
                var other = moved[j].Slot < 0 ? envelope.Reply! : envelope.Ports[moved[j].Slot].Port!;
                if (moved[j].Slot == record.Slot || other.Id == reference.Id)
                {
                    throw new InvalidRightException($"the receive right of {reference} appears twice in one message");
                }
            }
        }
    }

    /// <summary>The state of the receive right in <paramref name="slot"/> (the codec guarantees there is one).</summary>
    private static ReceiveRightEnvelope ReceiveRightOf(in MessageEnvelope envelope, int slot)
    {
        foreach (var record in envelope.ReceiveRights)
        {
            if (record.Slot == slot)
            {
                return record;
            }
        }

        throw new InvalidOperationException($"no receive-right entry for slot {slot}");
    }

    /// <summary>
    /// A receive right arrives from <paramref name="from"/> in a message to
    /// <paramref name="destination"/> (checked by <see cref="CheckMovedReceiveRights"/>): a new
    /// local port with the same id and the moved state, in transit until a task receives it,
    /// with the sending node counted as the holder of the rights it keeps answering for.
    /// </summary>
    private Port ArriveLocked(PeerId from, PortRef reference, ReceiveRightEnvelope record, Port destination)
    {
        var queueLimit = (int)Math.Min(record.QueueLimit, (uint)Options.MaxQueueLimit);
        Port p;
        if (_ports.TryGetValue(reference.Id, out var forwarder))
        {
            p = ReturnLocked(forwarder, from);
            p.QueueLimit = queueLimit;
            p.Sequence = record.Sequence;
            p.MakeSendCount = record.MakeSendCount;
            p.InTransitTo = destination;
            p.TransitHops = record.Hops;
        }
        else
        {
            p = new Port(new PortRef(LocalPeer, reference.Id), isLocal: true, queueLimit)
            {
                Sequence = record.Sequence,
                MakeSendCount = record.MakeSendCount,
                InTransitTo = destination,
                TransitHops = record.Hops,
            };
            _ports.Add(reference.Id, p);
        }

        if (destination.MovedAway)
        {
            // Forwarded on at once: one more hop without a task receiving it.
            p.TransitHops++;
        }

        // Requests that travelled with the port, with their send-once rights.
        if (record.NoSendersNotify is { } noSenders)
        {
            p.NoSendersRequest = NotifyRightFromNetworkLocked(from, noSenders);
            p.NoSendersSync = record.NoSendersSync;
        }

        if (record.PortDestroyedNotify is { } portDestroyed)
        {
            p.PortDestroyedRequest = NotifyRightFromNetworkLocked(from, portDestroyed);
        }

        if (record.SenderSend > 0)
        {
            GrantLocked(p, from, PortRight.Send);
        }

        if (record.SenderSendOnce > 0)
        {
            AddHolderLocked(p, from, PortRight.SendOnce, (int)record.SenderSendOnce);
            p.SendOnceRights += (int)record.SenderSendOnce;
        }

        return p;
    }

    /// <summary>
    /// Hands a kernel-made message for a port whose receive right moved to another node (a
    /// notification through a right registered before the move) to the router; nobody waits
    /// for it. Without a router (none can have moved away then) it is destroyed.
    /// </summary>
    private void ForwardUnawaitedLocked(PortMessage message)
    {
        if (Router is { } router)
        {
            router.Forward(message);
        }
        else
        {
            DestroyMessageLocked(message);
        }
    }

    /// <summary>
    /// The receive right of a port this node forwards for comes back (from <paramref name="from"/>,
    /// directly or along a chain): the forwarder turns back into the port in place, so every name
    /// and holder here is a right to the local port again. What it held at the node it forwarded
    /// to is given back there. Its send rights simply count down along the chain; its send-once
    /// rights stay alive here, so the releases that come back for them (through the forwarders,
    /// ending at <paramref name="from"/>, whose aggregate included them) are absorbed instead of
    /// making send-once notifications.
    /// </summary>
    private Port ReturnLocked(Port p, PeerId from)
    {
        var target = p.Ref;
        if (_proxies.TryGetValue(target, out var mapped) && mapped == p)
        {
            _proxies.Remove(target);
        }

        // Send-once rights in messages still on their way out are settled when their outcome arrives.
        var (send, sendOnce) = (p.GrantedSend, Math.Max(0, p.GrantedSendOnce - SendOnceInFlightLocked(p)));
        p.Ref = new PortRef(LocalPeer, target.Id);
        p.IsLocal = true;
        p.MovedAway = false;
        p.GrantedSend = 0;
        p.GrantedSendOnce = 0;
        if (sendOnce > 0)
        {
            p.PendingSendOnceReturns ??= [];
            p.PendingSendOnceReturns[from] = p.PendingSendOnceReturns.GetValueOrDefault(from) + sendOnce;
        }

        if (send > 0 || sendOnce > 0)
        {
            Router?.ReleaseRemote(target, send, sendOnce);
        }

        return p;
    }

    /// <summary>Send-once rights to <paramref name="p"/> in messages the router has not settled yet.</summary>
    private int SendOnceInFlightLocked(Port p)
    {
        var count = 0;
        foreach (var plan in ForwardingLocked())
        {
            var m = plan.InFlight!;
            count += m.DestPort == p && m.DestRight == PortRight.SendOnce ? 1 : 0;
            count += m.ReplyRight is { Kind: PortRight.SendOnce } reply && reply.Port == p ? 1 : 0;
            foreach (var carried in m.CarriedRights ?? [])
            {
                count += carried.Kind == PortRight.SendOnce && carried.Port == p ? 1 : 0;
            }
        }

        return count;
    }

    /// <summary>
    /// The send-once right of a notification request that travelled with a port from
    /// <paramref name="from"/> (checked by <see cref="CheckPassedRights"/> and
    /// <see cref="CheckMovedReceiveRights"/>): to a port of the sender, granted by it; or to a
    /// local port, the sender's own send-once right moving into the request (none if that port
    /// died meanwhile: the request is gone with it).
    /// </summary>
    private Port? NotifyRightFromNetworkLocked(PeerId from, PortRef reference)
    {
        if (reference.Home == LocalPeer)
        {
            if (!_ports.TryGetValue(reference.Id, out var local) || !local.Active)
            {
                return null;
            }

            TakeFromHolderLocked(local, from, PortRight.SendOnce);
            return local;
        }

        var proxy = GetOrCreateProxyLocked(reference);
        proxy.SendOnceRights++;
        proxy.GrantedSendOnce++;
        return proxy;
    }

    private static int PendingSendOnceReturnsOf(Port p)
    {
        var total = 0;
        foreach (var (_, n) in p.PendingSendOnceReturns ?? [])
        {
            total += n;
        }

        return total;
    }

    /// <summary>A send-once release from <paramref name="from"/> that only undoes a double count after a return (see <see cref="ReturnLocked"/>).</summary>
    private static bool TakePendingSendOnceReturnLocked(Port p, PeerId from)
    {
        if (p.PendingSendOnceReturns is not { } pending || !pending.TryGetValue(from, out var n))
        {
            return false;
        }

        if (n == 1)
        {
            pending.Remove(from);
        }
        else
        {
            pending[from] = n - 1;
        }

        return true;
    }

    /// <summary>
    /// Whether a message to <paramref name="destination"/> would carry a receive right into the
    /// port <paramref name="id"/> itself (the circularity check, XNU ipc_port_check_circularity):
    /// the walk goes from a port to where its own receive right travels, and from a proxy to the
    /// local port with the same id (a message to the proxy comes back to it). The same id is the
    /// same port, whatever node the reference names. A walk longer than there are ports can only
    /// be a cycle already (a hostile peer's doing) and counts as one.
    /// </summary>
    private bool LeadsToLocked(Port destination, PortId id)
    {
        var steps = _ports.Count + _proxies.Count + 1;
        for (var x = destination; x is not null; x = NextInTransit(x))
        {
            if (x.Ref.Id == id || --steps < 0)
            {
                return true;
            }
        }

        return false;

        Port? NextInTransit(Port x) =>
            x.InTransitTo ?? (!x.IsLocal && _ports.TryGetValue(x.Ref.Id, out var here) && here != x && here.IsLocal ? here : null);
    }
}
