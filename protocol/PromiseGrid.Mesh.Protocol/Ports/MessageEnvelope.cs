using PromiseGrid.Mesh.Identity;

namespace PromiseGrid.Mesh.Ports;

/// <summary>
/// A message as it travels between nodes (architecture.md "Messages"): ports are named by
/// <see cref="PortRef"/> instead of task-local names. Header: destination (and the right it
/// travels on), reply port with its disposition, message id, protocol id, flags. Body: inline
/// payload, port descriptors, out-of-line regions. Trailer: sender, per-port sequence, time.
/// A value (decoding one allocates nothing for the envelope itself): pass it with <c>in</c>.
/// </summary>
public readonly record struct MessageEnvelope
{
    private readonly IReadOnlyList<PortDescriptorEnvelope>? _ports;
    private readonly IReadOnlyList<ReadOnlyMemory<byte>>? _outOfLine;
    private readonly IReadOnlyList<ReceiveRightEnvelope>? _receiveRights;

    /// <summary>An envelope with no ports and no out-of-line regions; set the destination.</summary>
    public MessageEnvelope()
    {
    }

    /// <summary>Destination port.</summary>
    public required PortRef Destination { get; init; }

    /// <summary>The right the message travels on: <see cref="PortDisposition.PortSend"/> or <see cref="PortDisposition.PortSendOnce"/>.</summary>
    public PortDisposition DestinationType { get; init; } = PortDisposition.PortSend;

    /// <summary>Reply port, if any.</summary>
    public PortRef? Reply { get; init; }

    /// <summary>The right carried for the reply port (a received type).</summary>
    public PortDisposition ReplyType { get; init; }

    /// <summary>Application message id (Mach <c>msgh_id</c>), uninterpreted by the kernel.</summary>
    public int MessageId { get; init; }

    /// <summary>Opaque protocol id (a PromiseGrid protocol CID), at most <see cref="MessageCodecOptions.MaxProtocolIdLength"/> bytes.</summary>
    public ReadOnlyMemory<byte> ProtocolId { get; init; }

    /// <summary>Header flags.</summary>
    public MessageFlags Flags { get; init; }

    /// <summary>Inline payload.</summary>
    public ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>Port descriptors (rights carried in the body).</summary>
    public IReadOnlyList<PortDescriptorEnvelope> Ports { get => _ports ?? []; init => _ports = value; }

    /// <summary>Out-of-line regions.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> OutOfLine { get => _outOfLine ?? []; init => _outOfLine = value; }

    /// <summary>
    /// The state of each receive right the message moves (one per descriptor, or reply, of type
    /// <see cref="PortDisposition.PortReceive"/>); empty for most messages. Protocol version 2.
    /// </summary>
    public IReadOnlyList<ReceiveRightEnvelope> ReceiveRights { get => _receiveRights ?? []; init => _receiveRights = value; }

    /// <summary>Trailer stamped by the sending kernel.</summary>
    public TrailerEnvelope Trailer { get; init; }
}

/// <summary>A right carried in a message body: the port (null for <c>MACH_PORT_NULL</c>) and the received type.</summary>
public readonly record struct PortDescriptorEnvelope(PortRef? Port, PortDisposition Type);

/// <summary>
/// A receive right moving to another node with its message (docs/ports-protocol.md, "Receive
/// rights"): which right of the envelope it is (<see cref="Slot"/>: -1 the reply port, else the
/// index of a port descriptor) and the port state that must survive the move. The port keeps its
/// id; the sending node, which keeps answering for the old reference, stays a holder of
/// <see cref="SenderSend"/> send rights (0 or 1: its aggregate) and <see cref="SenderSendOnce"/>
/// send-once rights.
/// </summary>
/// <param name="Slot">-1 for the reply port, otherwise the index of the port descriptor.</param>
/// <param name="Sequence">The next sequence number the port stamps at receive (<c>mps_seqno</c>).</param>
/// <param name="QueueLimit">The port's queue limit (<c>mps_qlimit</c>).</param>
/// <param name="MakeSendCount">Send rights made from the receive right so far (<c>mps_mscount</c>), for no-senders.</param>
/// <param name="SenderSend">Send rights the sending node holds to the port after the move (its aggregate: 0 or 1).</param>
/// <param name="SenderSendOnce">Send-once rights the sending node holds to the port after the move.</param>
/// <param name="Hops">
/// How often the right arrived at a node only to be forwarded at once (its message's
/// destination had moved away from there) since a task last received it: bounded, so a cycle
/// of receive rights in transit across nodes cannot travel for ever.
/// </param>
/// <param name="NoSendersNotify">The port a registered no-senders request notifies (a send-once right travelling with the port), or null.</param>
/// <param name="NoSendersSync">That request's sync value.</param>
/// <param name="PortDestroyedNotify">The port a registered port-destroyed request notifies (a send-once right travelling with the port), or null.</param>
public readonly record struct ReceiveRightEnvelope(
    int Slot,
    ulong Sequence,
    uint QueueLimit,
    uint MakeSendCount,
    uint SenderSend,
    uint SenderSendOnce,
    uint Hops = 0,
    PortRef? NoSendersNotify = null,
    uint NoSendersSync = 0,
    PortRef? PortDestroyedNotify = null);

/// <summary>The trailer on the wire: sending node and task, per-port sequence number, timestamp (Unix ms).</summary>
public readonly record struct TrailerEnvelope(PeerId? SenderNode, ulong SenderTask, ulong Sequence, long TimestampUnixMilliseconds);
