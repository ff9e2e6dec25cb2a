using PromiseGrid.Mesh.Identity;

namespace PromiseGrid.Mesh.Ports.Wire;

/// <summary>
/// One frame of <c>/promisegrid/ports/1.0.0</c> (docs/ports-protocol.md). The node that opened
/// the stream (the client) sends requests, each numbered with a sequence number of its link;
/// the other node (the server, home of the ports concerned) answers with outcomes.
/// </summary>
public abstract record PortsFrame
{
    /// <summary>The frame's type code on the wire.</summary>
    public abstract PortsFrameType Type { get; }
}

/// <summary>Frame type codes: 1-15 client to server, 16-31 server to client.</summary>
public enum PortsFrameType : byte
{
    Hello = 1,
    Deliver = 2,
    Grant = 3,
    Release = 4,
    Lookup = 5,
    PortDead = 6,
    Ungrant = 7,
    Confirm = 8,
    Welcome = 16,
    Ack = 17,
    Nack = 18,
    Result = 19,
}

/// <summary>A sequenced request (every client frame except hello and confirm).</summary>
public abstract record PortsRequest(ulong Seq) : PortsFrame;

/// <summary>First client frame: protocol minor version, the client's epoch, and every sequence number below <see cref="ConfirmedThrough"/>+1 it no longer asks about.</summary>
public sealed record HelloFrame(uint Version, ulong Epoch, ulong ConfirmedThrough) : PortsFrame
{
    public override PortsFrameType Type => PortsFrameType.Hello;
}

/// <summary>
/// Enqueue a message (<see cref="Envelope"/>: the <see cref="MessageEnvelopeCodec"/> bytes, a
/// slice of the frame) in a port of the server; <see cref="TimeoutMilliseconds"/> is how long
/// it may wait for room (0 = no limit, the sender's own deadline applies).
/// </summary>
public sealed record DeliverFrame(ulong Seq, uint TimeoutMilliseconds, ReadOnlyMemory<byte> Envelope) : PortsRequest(Seq)
{
    public override PortsFrameType Type => PortsFrameType.Deliver;
}

/// <summary>
/// Grant (<see cref="Revoke"/> false) or withdraw a grant of: the client hands <see cref="Holder"/>
/// a right of <see cref="RightType"/> (<see cref="PortDisposition.PortSend"/> or
/// <see cref="PortDisposition.PortSendOnce"/>) to the server's port <see cref="Port"/>.
/// </summary>
public sealed record GrantFrame(ulong Seq, PortId Port, PeerId Holder, PortDisposition RightType, bool Revoke) : PortsRequest(Seq)
{
    public override PortsFrameType Type => Revoke ? PortsFrameType.Ungrant : PortsFrameType.Grant;
}

/// <summary>The client gives back rights it was granted to the server's port <see cref="Port"/>.</summary>
public sealed record ReleaseFrame(ulong Seq, PortId Port, uint Send, uint SendOnce) : PortsRequest(Seq)
{
    public override PortsFrameType Type => PortsFrameType.Release;
}

/// <summary>Ask for a send right to a published port, by id or by the name it was published under.</summary>
public sealed record LookupFrame(ulong Seq, PortId? Port, string? Name) : PortsRequest(Seq)
{
    public override PortsFrameType Type => PortsFrameType.Lookup;
}

/// <summary>The client (home of <see cref="Ports"/>) tells a holder of rights that these ports died.</summary>
public sealed record PortDeadFrame(ulong Seq, IReadOnlyList<PortId> Ports) : PortsRequest(Seq)
{
    public override PortsFrameType Type => PortsFrameType.PortDead;
}

/// <summary>The client has every outcome up to and including <see cref="Through"/>: the server may forget them.</summary>
public sealed record ConfirmFrame(ulong Through) : PortsFrame
{
    public override PortsFrameType Type => PortsFrameType.Confirm;
}

/// <summary>
/// Answer to hello: the version chosen, the server's epoch, and what the server already knows
/// of the client's requests above the confirmed mark (acknowledged, still pending, refused, answered),
/// so the client resends exactly the requests the server never saw.
/// </summary>
public sealed record WelcomeFrame(
    uint Version,
    ulong Epoch,
    IReadOnlyList<SeqRange> Acked,
    IReadOnlyList<ulong> Pending,
    IReadOnlyList<NackFrame> Nacks,
    IReadOnlyList<ResultFrame> Results) : PortsFrame
{
    public override PortsFrameType Type => PortsFrameType.Welcome;
}

/// <summary>Requests completed successfully (a deliver: the message is in the port's queue).</summary>
public sealed record AckFrame(IReadOnlyList<SeqRange> Ranges) : PortsFrame
{
    public override PortsFrameType Type => PortsFrameType.Ack;
}

/// <summary>A request failed; <see cref="PortsErrorCodes.IsRefusal"/> tells whether the server took the message's rights.</summary>
public sealed record NackFrame(ulong Seq, PortsErrorCode Code, string Message) : PortsFrame
{
    public override PortsFrameType Type => PortsFrameType.Nack;
}

/// <summary>Answer to a lookup: the port a send right was granted to.</summary>
public sealed record ResultFrame(ulong Seq, PortId Port) : PortsFrame
{
    public override PortsFrameType Type => PortsFrameType.Result;
}

/// <summary>Sequence numbers <see cref="Start"/> .. <see cref="Start"/>+<see cref="Count"/>-1.</summary>
public readonly record struct SeqRange(ulong Start, ulong Count);
