using System.Diagnostics.CodeAnalysis;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Kernel;

/// <summary>
/// A port: queue, rights counters and notification requests. All fields are guarded by the
/// kernel lock. A port whose home is another node (<see cref="IsLocal"/> false) is a proxy:
/// only its send rights are real here. A local port whose receive right moves to another node
/// turns into a proxy of its new home in place (<see cref="MovedAway"/>), so the names tasks
/// hold keep working; that is the only time <see cref="Ref"/> and <see cref="IsLocal"/> change.
/// </summary>
internal sealed class Port(PortRef reference, bool isLocal, int queueLimit)
{
    public PortRef Ref = reference;
    public bool IsLocal = isLocal;

    /// <summary>
    /// The receive right moved to another node (now <see cref="Ref"/>'s home): this proxy still
    /// answers for the old reference (this node, same id), forwarding what other nodes send to
    /// it and keeping the rights they hold in <see cref="Holders"/> (docs/ports-protocol.md,
    /// "Receive rights").
    /// </summary>
    public bool MovedAway;

    /// <summary>
    /// While the receive right is in transit: how often it arrived at a node only to be forwarded
    /// at once since a task last received it (<see cref="ReceiveRightEnvelope.Hops"/>).
    /// </summary>
    public uint TransitHops;
    public MessageQueue Messages;
    public readonly WaiterList Receivers = new();
    public readonly WaiterList Senders = new();

    public bool Active = true;

    /// <summary>Holder of the receive right; null while the right travels in a message.</summary>
    public PortTask? Receiver;
    public uint ReceiverName;

    /// <summary>ip_srights: one per name holding send rights, one per send right in a message or held by the kernel.</summary>
    public int SendRights;

    /// <summary>ip_sorights: extant send-once rights (names, messages, registered notification rights).</summary>
    public int SendOnceRights;

    /// <summary>ip_mscount: send rights made from the receive right.</summary>
    public uint MakeSendCount;

    public int QueueLimit = queueLimit;
    public ulong Sequence;
    public PortSet? Set;

    /// <summary>While the receive right travels in a message: that message's destination (XNU ip_destination), for the circularity check.</summary>
    public Port? InTransitTo;

    /// <summary>Registered notification rights (send-once rights to the notify ports).</summary>
    public Port? PortDestroyedRequest;
    public Port? NoSendersRequest;
    public uint NoSendersSync;
    public List<DeadNameRequest>? DeadNameRequests;

    /// <summary>Local port (or one that moved away): the rights other nodes hold to it (each unit also counted in <see cref="SendRights"/>/<see cref="SendOnceRights"/>).</summary>
    public Dictionary<PeerId, HolderCount>? Holders;

    /// <summary>
    /// A port whose receive right came back to a node that was forwarding for it: per node, the
    /// send-once releases still on their way back through the forwarders for rights this node's
    /// tasks kept through the round trip. They are counted twice until they arrive and are then
    /// absorbed (no send-once notification: those rights are alive here).
    /// </summary>
    public Dictionary<PeerId, int>? PendingSendOnceReturns;

    /// <summary>Local port: the name it is published under (obtainable by any peer through a lookup).</summary>
    public string? PublishedName;

    /// <summary>Proxy: send rights granted to this node by the port's home and not yet released back.</summary>
    public int GrantedSend;

    /// <summary>Proxy: send-once rights granted to this node and not yet used or released.</summary>
    public int GrantedSendOnce;

    public override string ToString() => Ref.ToString();
}

/// <summary>
/// A port's queue: a FIFO linked through the messages themselves (<see cref="PortMessage.NextQueued"/>).
/// A field of <see cref="Port"/>, so a send and a receive touch the port and the messages only,
/// not a separate queue object and array that would move between the sender's and the
/// receiver's cores with every message. Guarded by the kernel lock.
/// </summary>
internal struct MessageQueue
{
    private PortMessage? _head;
    private PortMessage? _tail;

    public int Count { readonly get; private set; }

    public void Enqueue(PortMessage message)
    {
        message.NextQueued = null;
        if (_tail is null)
        {
            _head = message;
        }
        else
        {
            _tail.NextQueued = message;
        }

        _tail = message;
        Count++;
    }

    public bool TryDequeue([MaybeNullWhen(false)] out PortMessage message)
    {
        message = _head;
        if (message is null)
        {
            return false;
        }

        _head = message.NextQueued;
        if (_head is null)
        {
            _tail = null;
        }

        message.NextQueued = null;
        Count--;
        return true;
    }

    /// <summary>The queued messages in order (for the invariant check; allocates).</summary>
    public readonly List<PortMessage> ToList()
    {
        var list = new List<PortMessage>(Count);
        for (var m = _head; m is not null; m = m.NextQueued)
        {
            list.Add(m);
        }

        return list;
    }
}

/// <summary>The rights one other node holds to a local port.</summary>
internal sealed class HolderCount
{
    public int Send;
    public int SendOnce;

    public bool IsEmpty => Send == 0 && SendOnce == 0;
}

/// <summary>A dead-name request: <see cref="Task"/>'s <see cref="Name"/> is watched; <see cref="Notify"/> is the send-once right to notify through.</summary>
internal sealed record DeadNameRequest(PortTask Task, uint Name, Port Notify);

/// <summary>A port set: receive from any member (Mach §1.8).</summary>
internal sealed class PortSet(PortTask owner, uint name)
{
    public readonly PortTask Owner = owner;
    public readonly uint Name = name;
    public readonly List<Port> Members = [];
    public readonly WaiterList Receivers = new();
    public int Cursor;
}

/// <summary>One name in a task's space: which rights it denotes and their user references.</summary>
internal sealed class NameEntry
{
    public Port? Port;
    public PortSet? Set;
    public bool Receive;
    public int SendRefs;
    public bool SendOnce;
    public int DeadRefs;
    public bool DeadNameRequested;

    /// <summary>In its task's pool of free entries (<see cref="PortTask.RentEntry"/>): the next free entry.</summary>
    public NameEntry? NextFree;
    public bool Pooled;

    public bool IsEmpty => !Receive && SendRefs == 0 && !SendOnce && DeadRefs == 0 && Set is null;
}

/// <summary>A right in transit (in a message, or between copy-in and copy-out). Port null with DeadName = <c>MACH_PORT_DEAD</c>.</summary>
internal readonly record struct CarriedRight(Port? Port, PortRight Kind)
{
    public bool IsNone => Port is null && Kind != PortRight.DeadName;

    public static CarriedRight None => new(null, PortRight.Send);
}
