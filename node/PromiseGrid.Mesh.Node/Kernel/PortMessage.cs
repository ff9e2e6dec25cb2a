using System.Buffers;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Kernel;

/// <summary>
/// A message (architecture.md "Messages"; Mach <c>mach_msg_header_t</c> + body + trailer).
/// The sender fills the header and body with names from its own space and hands the object to
/// <see cref="PortTask.SendMessageAsync"/>; from then on the kernel owns it and the sender must
/// not touch it. The receiver gets the same object back with every name rewritten into its own
/// space: <see cref="Destination"/> = the receive right it arrived on, <see cref="ReplyPort"/>
/// and <see cref="Ports"/> = the rights it now holds, <see cref="Trailer"/> stamped by the kernel.
/// Nothing is copied: payload and out-of-line memory pass by reference.
/// </summary>
public sealed class PortMessage : IDisposable
{
    /// <summary>Send: the right to send through. Receive: the name of the receive right it arrived on.</summary>
    public PortName Destination { get; set; }

    /// <summary>How the destination right is used (<c>MACH_MSGH_BITS_REMOTE</c>); default <see cref="PortDisposition.CopySend"/>.</summary>
    public PortDisposition DestinationDisposition { get; set; } = PortDisposition.CopySend;

    /// <summary>Reply port (<c>msgh_local_port</c> as sent), usually <see cref="PortDisposition.MakeSendOnce"/> of the sender's receive right.</summary>
    public PortName ReplyPort { get; set; }

    /// <summary>Send: disposition of <see cref="ReplyPort"/>. Receive: the received type.</summary>
    public PortDisposition ReplyDisposition { get; set; }

    /// <summary>Application message id (<c>msgh_id</c>); the kernel's notifications use <see cref="PortNotification"/> ids.</summary>
    public int MessageId { get; set; }

    /// <summary>Opaque protocol id (a PromiseGrid protocol CID); uninterpreted by the kernel.</summary>
    public ReadOnlyMemory<byte> ProtocolId { get; set; }

    /// <summary>Header flags; <see cref="MessageFlags.Complex"/> and <see cref="MessageFlags.Notification"/> are set by the kernel.</summary>
    public MessageFlags Flags { get; set; }

    /// <summary>Inline payload, at most <see cref="PortKernelOptions.MaxInlinePayload"/> bytes.</summary>
    public ReadOnlyMemory<byte> Payload { get; set; }

    /// <summary>Port descriptors: rights carried in the body, rewritten on receive.</summary>
    public PortDescriptor[]? Ports { get; set; }

    /// <summary>Out-of-line regions, handed over without copying (ownership moves with the message).</summary>
    public OutOfLineRegion[]? OutOfLine { get; set; }

    /// <summary>Stamped by the kernel on send and completed (sequence number) on receive; the timestamp is in UTC.</summary>
    public MessageTrailer Trailer
    {
        get => new(_senderNode, _senderTask, _sequence, new DateTimeOffset(_sentUtcTicks, TimeSpan.Zero));
        internal set
        {
            _senderNode = value.SenderNode;
            _senderTask = value.SenderTask;
            _sequence = value.Sequence;
            _sentUtcTicks = value.Timestamp.UtcTicks;
        }
    }

    /// <summary>The trailer's sequence number alone (set at receive).</summary>
    internal ulong Sequence
    {
        set => _sequence = value;
    }

    // The trailer in fields: UTC ticks instead of a DateTimeOffset keep the message 8 bytes
    // smaller, and the receive writes only the sequence number.
    private PeerId? _senderNode;
    private ulong _senderTask;
    private ulong _sequence;
    private long _sentUtcTicks;

    internal Port? DestPort;
    internal PortRight DestRight;
    internal CarriedRight ReplyRight;
    internal CarriedRight[]? CarriedRights;

    /// <summary>The next message in its port's queue (<see cref="MessageQueue"/>); null when not queued.</summary>
    internal PortMessage? NextQueued;

    /// <summary>A message to <paramref name="destination"/> carrying <paramref name="payload"/>.</summary>
    public static PortMessage Create(PortName destination, ReadOnlyMemory<byte> payload, int messageId = 0) =>
        new() { Destination = destination, Payload = payload, MessageId = messageId };

    /// <summary>Releases the out-of-line owners (call once done with a received message).</summary>
    public void Dispose()
    {
        var regions = OutOfLine;
        if (regions is null)
        {
            return;
        }

        OutOfLine = null;
        foreach (var r in regions)
        {
            r.Owner?.Dispose();
        }
    }
}

/// <summary>A right in a message body: on send, a name and disposition; on receive, the new name and the received type.</summary>
public readonly record struct PortDescriptor(PortName Name, PortDisposition Disposition);

/// <summary>
/// Out-of-line data: memory handed to the receiver without copying. If <see cref="Owner"/> is
/// set, the receiver (or the kernel, if the message is destroyed undelivered) disposes it.
/// </summary>
public readonly record struct OutOfLineRegion(ReadOnlyMemory<byte> Data, IMemoryOwner<byte>? Owner = null);

/// <summary>
/// The kernel-stamped trailer (Mach's seqno and audit trailers): the sending node and task (task 0
/// is the kernel itself, for notifications), the port's sequence number at receive, and send time
/// (with the system clock, to the resolution of the coarse clock tick, a few milliseconds; exact
/// with an injected <see cref="TimeProvider"/>).
/// </summary>
public readonly record struct MessageTrailer(PeerId? SenderNode, ulong SenderTask, ulong Sequence, DateTimeOffset Timestamp);
