using MessagePack;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Kernel;

/// <summary>What the kernel did with a message's rights when it left for another node, to settle them when its fate is known.</summary>
internal sealed class ForwardPlan(PeerId destination, PortDescriptorEnvelope reply, PortDescriptorEnvelope[] ports)
{
    /// <summary>The node the message goes to.</summary>
    public PeerId Destination { get; private set; } = destination;

    /// <summary>Reply descriptor as it goes on the wire.</summary>
    public PortDescriptorEnvelope Reply { get; set; } = reply;

    /// <summary>Body descriptors as they go on the wire.</summary>
    public PortDescriptorEnvelope[] Ports { get; private set; } = ports;

    /// <summary>Empties a plan for another message without body descriptors (a reused plan, once its message is settled).</summary>
    public ForwardPlan Reset(PeerId destination)
    {
        Destination = destination;
        Reply = default;
        Ports = [];
        _transferred?.Clear();
        _grants?.Clear();
        _movedAway?.Clear();
        _receiveRights?.Clear();
        _backlog?.Clear();
        _handedOnRequests?.Clear();
        return this;
    }

    /// <summary>Rights to local ports now counted as held by <see cref="Destination"/>.</summary>
    public List<CarriedRight> Transferred => _transferred ??= [];

    /// <summary>Rights to a third node's ports: that node must grant them to <see cref="Destination"/> before the message goes.</summary>
    public List<ThirdPartyGrant> Grants => _grants ??= [];

    /// <summary>The message carries rights to third nodes' ports.</summary>
    public bool NeedsGrants => _grants is { Count: > 0 };

    /// <summary>Rights to local ports travelled with the message.</summary>
    public bool HasTransferred => _transferred is { Count: > 0 };

    /// <summary>Local ports whose receive rights the message moves to <see cref="Destination"/>: proxies of their new home now.</summary>
    public List<Port> MovedAway => _movedAway ??= [];

    /// <summary>The state of each moved receive right as it goes on the wire.</summary>
    public List<ReceiveRightEnvelope> ReceiveRights => _receiveRights ??= [];

    /// <summary>
    /// Messages that were queued in (or blocked on) the ports whose receive rights moved: the
    /// router forwards them to the new home right after this message, in their order.
    /// </summary>
    public List<PortMessage> Backlog => _backlog ??= [];

    /// <summary>The message moves receive rights (its request must be numbered before anything else goes to the moved ports).</summary>
    public bool MovesReceive => _movedAway is { Count: > 0 };

    /// <summary>
    /// Send-once rights of notification requests that travel with a moved port to a notify port
    /// on <see cref="Destination"/> itself (proxies here): handed on if the message is taken,
    /// released if not.
    /// </summary>
    public List<Port> HandedOnRequests => _handedOnRequests ??= [];

    /// <summary>Whether <see cref="HandedOnRequests"/> has any.</summary>
    public bool HandsOnRequests => _handedOnRequests is { Count: > 0 };

    /// <summary>The message this plan carries while the router has it (from <see cref="PortKernel.BeginForwardLocked"/> to <see cref="PortKernel.CompleteForwardLocked"/>).</summary>
    public PortMessage? InFlight { get; set; }

    /// <summary>Links of the kernel's list of plans in flight (guarded by the kernel lock).</summary>
    public ForwardPlan? PrevInFlight { get; set; }

    /// <inheritdoc cref="PrevInFlight"/>
    public ForwardPlan? NextInFlight { get; set; }

    private List<CarriedRight>? _transferred;
    private List<ThirdPartyGrant>? _grants;
    private List<Port>? _movedAway;
    private List<ReceiveRightEnvelope>? _receiveRights;
    private List<PortMessage>? _backlog;
    private List<Port>? _handedOnRequests;
}

/// <summary>One right to a third node's port carried by a forwarded message; <see cref="Index"/> -1 is the reply port.</summary>
internal sealed class ThirdPartyGrant(Port proxy, PortRight kind, int index)
{
    public Port Proxy { get; } = proxy;

    public PortRight Kind { get; } = kind;

    public int Index { get; } = index;

    /// <summary>The home acknowledged the grant.</summary>
    public bool Granted { get; set; }
}

public sealed partial class PortKernel
{
    /// <summary>
    /// Takes a copied-in message to another node into the router's hands: rights to local ports
    /// become rights <paramref name="destination"/> holds (counted here, their home), rights to
    /// other nodes' ports are listed for grants. The message's own units stay until
    /// <see cref="CompleteForwardLocked"/>.
    /// </summary>
    /// <param name="message">The message.</param>
    /// <param name="destination">The node it goes to.</param>
    /// <param name="reuse">A plan whose message is settled, to fill instead of a new one when the message carries no body rights.</param>
    internal ForwardPlan BeginForwardLocked(PortMessage message, PeerId destination, ForwardPlan? reuse = null)
    {
        var carried = message.CarriedRights;
        var plan = carried is { Length: > 0 }
            ? new ForwardPlan(destination, default, new PortDescriptorEnvelope[carried.Length])
            : reuse?.Reset(destination) ?? new ForwardPlan(destination, default, []);
        TrackForwardLocked(plan, message);
        plan.Reply = DescribeForForward(plan, message.ReplyRight, -1, out var replyTransferred);
        if (replyTransferred)
        {
            message.ReplyRight = CarriedRight.None;
        }

        for (var i = 0; i < plan.Ports.Length; i++)
        {
            plan.Ports[i] = DescribeForForward(plan, carried![i], i, out var transferred);
            if (transferred)
            {
                carried[i] = CarriedRight.None;
            }
        }

        return plan;
    }

    private PortDescriptorEnvelope DescribeForForward(ForwardPlan plan, CarriedRight right, int index, out bool transferred)
    {
        transferred = false;
        if (right.Port is not { } p)
        {
            return right.Kind == PortRight.DeadName ? DeadDescriptor : default;
        }

        if (right.Kind == PortRight.Receive)
        {
            // The port moves with the message; this node keeps a proxy of its new home in its place.
            transferred = true;
            return MoveReceiveAwayLocked(plan, p, index);
        }

        var type = right.Kind == PortRight.SendOnce ? PortDisposition.PortSendOnce : PortDisposition.PortSend;
        if (!p.Active)
        {
            return DeadDescriptor;
        }

        if (p.IsLocal)
        {
            // Our own port: the unit in the message becomes a right the destination holds.
            AddHolderLocked(p, plan.Destination, right.Kind);

            plan.Transferred.Add(right);
            transferred = true;
        }
        else if (p.Ref.Home != plan.Destination)
        {
            plan.Grants.Add(new ThirdPartyGrant(p, right.Kind, index));
        }

        return new PortDescriptorEnvelope(p.Ref, type);
    }

    private static PortDescriptorEnvelope DeadDescriptor => new(null, PortDisposition.PortSend);

    /// <summary>A third-party grant failed: the right arrives as a dead name and the port is known dead here.</summary>
    internal void GrantFailedLocked(ForwardPlan plan, ThirdPartyGrant grant, bool portDead)
    {
        if (grant.Index < 0)
        {
            plan.Reply = DeadDescriptor;
        }
        else
        {
            plan.Ports[grant.Index] = DeadDescriptor;
        }

        if (portDead)
        {
            DestroyPortLocked(grant.Proxy);
        }
    }

    /// <summary>
    /// Writes the envelope of a forwarded message (after its grants) straight from the message
    /// and its plan (docs/ports-protocol.md, "The message envelope"), without building a
    /// <see cref="MessageEnvelope"/>.
    /// </summary>
    internal static void WriteEnvelope(ref MessagePackWriter writer, PortMessage message, ForwardPlan plan, long timestampUnixMilliseconds)
    {
        var regions = message.OutOfLine;
        ReadOnlyMemory<byte>[] ool = [];
        if (regions is { Length: > 0 })
        {
            ool = new ReadOnlyMemory<byte>[regions.Length];
            for (var i = 0; i < regions.Length; i++)
            {
                ool[i] = regions[i].Data;
            }
        }

        MessageEnvelopeCodec.Write(
            ref writer,
            message.DestPort!.Ref,
            message.DestRight == PortRight.SendOnce ? PortDisposition.PortSendOnce : PortDisposition.PortSend,
            plan.Reply.Port,
            plan.Reply.Type,
            message.MessageId,
            message.ProtocolId.Span,
            message.Flags & ~MessageFlags.Notification,
            message.Payload.Span,
            plan.Ports,
            ool,
            new TrailerEnvelope(message.Trailer.SenderNode, message.Trailer.SenderTask, 0, timestampUnixMilliseconds),
            plan.MovesReceive ? System.Runtime.InteropServices.CollectionsMarshal.AsSpan(plan.ReceiveRights) : default);
    }

    /// <summary>
    /// Settles a forwarded message. <paramref name="taken"/>: the destination took it (enqueued,
    /// or destroyed it later itself), so what the message carried is the destination's now.
    /// Otherwise the destination refused it before taking anything: grants of local rights are
    /// undone and every right is released here, the Mach way. Returns the third-party grants the
    /// router must revoke.
    /// </summary>
    internal List<ThirdPartyGrant>? CompleteForwardLocked(PortMessage message, ForwardPlan plan, bool taken)
    {
        if (!UntrackForwardLocked(plan, message))
        {
            return null;
        }

        List<ThirdPartyGrant>? revoke = null;
        if (!taken && plan.HasTransferred)
        {
            foreach (var right in plan.Transferred)
            {
                var p = right.Port!;
                if (p.Active && TakeFromHolderLocked(p, plan.Destination, right.Kind))
                {
                    // The destination's unit is ours again, and destroyed unused.
                    ReleaseLocked(right);
                }
            }

        }

        if (plan.HandsOnRequests)
        {
            foreach (var notify in plan.HandedOnRequests)
            {
                SettleCarriedLocked(new CarriedRight(notify, PortRight.SendOnce), taken);
            }
        }

        if (!taken && plan.MovesReceive)
        {
            // The new home never got the receive rights: released here, the Mach way, so the ports die.
            foreach (var moved in plan.MovedAway)
            {
                DestroyPortLocked(moved);
            }
        }

        if (!taken && plan.NeedsGrants)
        {
            foreach (var grant in plan.Grants)
            {
                if (grant.Granted)
                {
                    (revoke ??= []).Add(grant);
                }
            }
        }

        SettleCarriedLocked(message.ReplyRight, taken || IsGranted(plan, -1));
        message.ReplyRight = CarriedRight.None;
        if (message.CarriedRights is { } rights)
        {
            for (var i = 0; i < rights.Length; i++)
            {
                SettleCarriedLocked(rights[i], taken || IsGranted(plan, i));
            }

            message.CarriedRights = null;
        }

        if (message.DestPort is { } dest)
        {
            message.DestPort = null;
            SettleCarriedLocked(new CarriedRight(dest, message.DestRight), taken);
        }

        message.Dispose();
        return revoke;
    }

    private static bool IsGranted(ForwardPlan plan, int index)
    {
        if (!plan.NeedsGrants)
        {
            return false;
        }

        foreach (var g in plan.Grants)
        {
            if (g.Index == index)
            {
                return g.Granted;
            }
        }

        return false;
    }

    /// <summary>This node's unit of a right that left in a message: released, or for a send-once right handed on, dropped.</summary>
    private void SettleCarriedLocked(CarriedRight right, bool handedOn)
    {
        if (right.Port is not { } p)
        {
            return;
        }

        if (right.Kind == PortRight.SendOnce && handedOn)
        {
            if (p.IsLocal)
            {
                // The port's receive right came back here while the message travelled: used, not destroyed.
                p.SendOnceRights--;
            }
            else
            {
                DropProxySendOnceLocked(p);
            }

            return;
        }

        ReleaseLocked(right);
    }

    // ---- the receiving side ----

    /// <summary>
    /// A message from <paramref name="from"/> for a local port: checks the sender's rights,
    /// turns port references into rights (a moved receive right into a new local port with the
    /// same id) and enqueues it (or waits for room up to <paramref name="timeout"/>, as a local
    /// send would). For a port whose receive right moved away from here the message goes on to
    /// the port's new home, and the returned task completes when that home has taken it. Nothing
    /// changes if it throws.
    /// </summary>
    /// <exception cref="PortDeadException">No such local port.</exception>
    /// <exception cref="NoRightException">The sender holds no right to the destination or to a local port it passes on, or moves the receive right of a port whose home it is not.</exception>
    /// <exception cref="InvalidRightException">An unknown type, or a receive right moved into a message to its own port.</exception>
    /// <exception cref="PortIdInUseException">A moved receive right's port id is already in use here.</exception>
    /// <exception cref="MessageTooLargeException">A limit of <see cref="Options"/>.</exception>
    internal ValueTask DeliverFromNetworkLocked(PeerId from, in MessageEnvelope envelope, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        if (envelope.Destination.Home != LocalPeer || !_ports.TryGetValue(envelope.Destination.Id, out var p) || !p.Active)
        {
            throw new PortDeadException($"no port {envelope.Destination}");
        }

        var destRight = envelope.DestinationType switch
        {
            PortDisposition.PortSend => PortRight.Send,
            PortDisposition.PortSendOnce => PortRight.SendOnce,
            _ => throw new InvalidRightException($"a message travels on a send or send-once right, not {envelope.DestinationType}"),
        };
        var holder = HolderOf(p, from);
        if (holder is null || (destRight == PortRight.Send ? holder.Send : holder.SendOnce) == 0)
        {
            throw new NoRightException($"{from} holds no {(destRight == PortRight.Send ? "send" : "send-once")} right to {p.Ref}");
        }

        CheckEnvelopeLimits(envelope);
        CheckPassedRights(from, envelope, p, destRight);
        CheckMovedReceiveRights(from, envelope, p);

        // From here nothing fails.
        if (destRight == PortRight.Send)
        {
            p.SendRights++;
        }
        else
        {
            TakeFromHolderLocked(p, from, PortRight.SendOnce);
        }

        var message = new PortMessage
        {
            MessageId = envelope.MessageId,
            ProtocolId = envelope.ProtocolId,
            Flags = envelope.Flags & ~MessageFlags.Notification,
            Payload = envelope.Payload,
            DestPort = p,
            DestRight = destRight,
            ReplyRight = RightFromNetwork(from, envelope, -1, p),
            Trailer = new MessageTrailer(from, envelope.Trailer.SenderTask, 0, Now),
        };
        if (envelope.Ports.Count > 0)
        {
            var rights = new CarriedRight[envelope.Ports.Count];
            for (var i = 0; i < rights.Length; i++)
            {
                rights[i] = RightFromNetwork(from, envelope, i, p);
            }

            message.CarriedRights = rights;
            message.Ports = new PortDescriptor[rights.Length];
        }

        if (envelope.OutOfLine.Count > 0)
        {
            var regions = new OutOfLineRegion[envelope.OutOfLine.Count];
            for (var i = 0; i < regions.Length; i++)
            {
                regions[i] = new OutOfLineRegion(envelope.OutOfLine[i]);
            }

            message.OutOfLine = regions;
        }

        if (p.MovedAway)
        {
            // The receive right lives elsewhere now: carry the message on (the router owns it from here).
            return Router!.ForwardAsync(message, timeout ?? Timeout.InfiniteTimeSpan, cancellationToken);
        }

        return QueueOrWaitLocked(p, message, destRight, timeout, cancellationToken);
    }

    private void CheckEnvelopeLimits(in MessageEnvelope envelope)
    {
        if (envelope.Payload.Length > Options.MaxInlinePayload)
        {
            throw new MessageTooLargeException("inline payload", envelope.Payload.Length, Options.MaxInlinePayload);
        }

        if (envelope.Ports.Count > Options.MaxPortDescriptors)
        {
            throw new MessageTooLargeException("port descriptor count", envelope.Ports.Count, Options.MaxPortDescriptors);
        }

        if (envelope.OutOfLine.Count > Options.MaxOutOfLineRegions)
        {
            throw new MessageTooLargeException("out-of-line region count", envelope.OutOfLine.Count, Options.MaxOutOfLineRegions);
        }

        long total = 0;
        foreach (var r in envelope.OutOfLine)
        {
            total += r.Length;
        }

        if (total > Options.MaxOutOfLineBytes)
        {
            throw new MessageTooLargeException("out-of-line data", total, Options.MaxOutOfLineBytes);
        }
    }

    /// <summary>Rights to local ports that the sender passes on must be rights it holds (a reference alone is not a capability).</summary>
    private void CheckPassedRights(PeerId from, in MessageEnvelope envelope, Port destination, PortRight destRight)
    {
        Dictionary<Port, (int Send, int SendOnce)>? needed = null;
        void Need(PortRef? reference, PortDisposition type)
        {
            if (type == PortDisposition.None)
            {
                return;
            }

            if (type == PortDisposition.PortReceive)
            {
                // Checked by CheckMovedReceiveRights.
                return;
            }

            if (type is not (PortDisposition.PortSend or PortDisposition.PortSendOnce))
            {
                throw new InvalidRightException($"a message carries received types, not {type}");
            }

            if (reference is null || reference.Home != LocalPeer || !_ports.TryGetValue(reference.Id, out var q) || !q.Active)
            {
                return;
            }

            needed ??= [];
            var (s, so) = needed.GetValueOrDefault(q);
            needed[q] = type == PortDisposition.PortSend ? (s + 1, so) : (s, so + 1);
        }

        Need(envelope.Reply, envelope.ReplyType);
        foreach (var d in envelope.Ports)
        {
            Need(d.Port, d.Type);
        }

        // Notification requests travelling with a receive right carry send-once rights too.
        foreach (var moved in envelope.ReceiveRights)
        {
            Need(moved.NoSendersNotify, moved.NoSendersNotify is null ? PortDisposition.None : PortDisposition.PortSendOnce);
            Need(moved.PortDestroyedNotify, moved.PortDestroyedNotify is null ? PortDisposition.None : PortDisposition.PortSendOnce);
        }

        if (needed is null)
        {
            return;
        }

        foreach (var (q, (send, sendOnce)) in needed)
        {
            var held = HolderOf(q, from);
            var heldSendOnce = (held?.SendOnce ?? 0) - (q == destination && destRight == PortRight.SendOnce ? 1 : 0);
            if ((send > 0 && (held?.Send ?? 0) == 0) || sendOnce > heldSendOnce)
            {
                throw new NoRightException($"{from} passes on a right to {q.Ref} it does not hold");
            }
        }
    }

    /// <summary>
    /// The right in <paramref name="slot"/> (-1: the reply port) of a message from
    /// <paramref name="from"/> to <paramref name="destination"/> (checked by
    /// <see cref="CheckPassedRights"/> and <see cref="CheckMovedReceiveRights"/>).
    /// </summary>
    private CarriedRight RightFromNetwork(PeerId from, in MessageEnvelope envelope, int slot, Port destination)
    {
        var (reference, type) = slot < 0 ? (envelope.Reply, envelope.ReplyType) : (envelope.Ports[slot].Port, envelope.Ports[slot].Type);
        if (type == PortDisposition.None)
        {
            return CarriedRight.None;
        }

        if (type == PortDisposition.PortReceive)
        {
            return new CarriedRight(ArriveLocked(from, reference!, ReceiveRightOf(envelope, slot), destination), PortRight.Receive);
        }

        var kind = type == PortDisposition.PortSendOnce ? PortRight.SendOnce : PortRight.Send;
        if (reference is null)
        {
            return new CarriedRight(null, PortRight.DeadName);
        }

        if (reference.Home == LocalPeer)
        {
            if (!_ports.TryGetValue(reference.Id, out var q) || !q.Active)
            {
                return new CarriedRight(null, PortRight.DeadName);
            }

            if (kind == PortRight.Send)
            {
                // A new send right made for the receiver; the sender keeps its own.
                q.SendRights++;
            }
            else
            {
                // The sender's send-once right moves into the message.
                TakeFromHolderLocked(q, from, PortRight.SendOnce);
            }

            return new CarriedRight(q, kind);
        }

        var proxy = GetOrCreateProxyLocked(reference);
        if (kind == PortRight.Send)
        {
            proxy.SendRights++;
            proxy.GrantedSend++;
        }
        else
        {
            proxy.SendOnceRights++;
            proxy.GrantedSendOnce++;
        }

        return new CarriedRight(proxy, kind);
    }
}
