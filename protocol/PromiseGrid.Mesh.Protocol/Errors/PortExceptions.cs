namespace PromiseGrid.Mesh;

/// <summary>
/// The port is dead (its receive right was destroyed), or a blocked send or receive was failed
/// because the port died or its receive right left the receiving task
/// (Mach <c>MACH_SEND_INVALID_DEST</c> on a dead name, <c>MACH_RCV_PORT_DIED</c>).
/// </summary>
public sealed class PortDeadException : MeshException
{
    public PortDeadException(string message) : base(message) { }
}

/// <summary>A name denotes no right in the task's name space (Mach <c>KERN_INVALID_NAME</c>, <c>MACH_RCV_INVALID_NAME</c>).</summary>
public sealed class InvalidNameException : MeshException
{
    public InvalidNameException(uint name) : base($"name 0x{name:x} denotes no right") => Name = name;

    /// <summary>The offending name.</summary>
    public uint Name { get; }
}

/// <summary>
/// A name denotes a right, but not the one the operation needs, or the operation would break
/// the rights accounting (Mach <c>KERN_INVALID_RIGHT</c>, <c>MACH_SEND_INVALID_RIGHT</c>,
/// <c>KERN_INVALID_VALUE</c>, <c>MACH_RCV_IN_SET</c>).
/// </summary>
public sealed class InvalidRightException : MeshException
{
    public InvalidRightException(string message) : base(message) { }
}

/// <summary>A send did not get into the queue before its timeout (Mach <c>MACH_SEND_TIMED_OUT</c>).</summary>
public sealed class SendTimeoutException : MeshException
{
    public SendTimeoutException(string message) : base(message) { }
}

/// <summary>A receive found no message before its timeout (Mach <c>MACH_RCV_TIMED_OUT</c>).</summary>
public sealed class ReceiveTimeoutException : MeshException
{
    public ReceiveTimeoutException(string message) : base(message) { }
}

/// <summary>A message exceeds a size limit (inline payload, descriptors, out-of-line data, encoded envelope).</summary>
public sealed class MessageTooLargeException : MeshException
{
    public MessageTooLargeException(string what, long size, long maximum)
        : base($"{what} of {size} exceeds the limit {maximum}")
    {
        Size = size;
        Maximum = maximum;
    }

    /// <summary>A refusal whose sizes are not known here (another node's limit).</summary>
    public MessageTooLargeException(string message)
        : base(message)
    {
    }

    public long Size { get; }

    public long Maximum { get; }
}

/// <summary>The destination's home is another node and no router is attached to carry the message there.</summary>
public sealed class NoRouteException : MeshException
{
    public NoRouteException(string message) : base(message) { }
}

/// <summary>
/// The port's home node refused the message because the sending node holds no send (or
/// send-once) right to the port: a port reference alone is not a capability.
/// </summary>
public sealed class NoRightException : MeshException
{
    public NoRightException(string message) : base(message) { }
}

/// <summary>
/// The destination's home node could not be reached (or did not acknowledge) before the send
/// timeout. If the message was written to a connection that then broke, it may have been
/// enqueued there: <see cref="MayHaveBeenDelivered"/> says so; otherwise it certainly was not.
/// </summary>
public sealed class NodeUnreachableException : MeshException
{
    public NodeUnreachableException(string message, bool mayHaveBeenDelivered) : base(message) => MayHaveBeenDelivered = mayHaveBeenDelivered;

    /// <summary>The message was written to the home node at least once, and the answer was lost.</summary>
    public bool MayHaveBeenDelivered { get; }
}

/// <summary>
/// A receive right arrived at a node for a port whose 128-bit id is already in use there (a
/// port moving between nodes keeps its id): the node refused it, so the right is released the
/// Mach way and the port dies (docs/ports-protocol.md, "Receive rights").
/// </summary>
public sealed class PortIdInUseException : MeshException
{
    public PortIdInUseException(string message) : base(message) { }
}

/// <summary>
/// The message reached a node the port's receive right had moved away from, which took it and
/// forwarded it towards the port's current home; that home did not take it (a refusal, or it
/// could not be reached), so the forwarding node destroyed the message and released its rights.
/// </summary>
public sealed class MessageUndeliverableException : MeshException
{
    public MessageUndeliverableException(string message) : base(message) { }
}
