namespace PromiseGrid.Mesh.Ports;

/// <summary>
/// How a right named in a message (or in insert/extract) is taken from the sender: Mach's
/// <c>mach_msg_type_name_t</c> with the same values (mach-semantics.md §1.5). On receive the
/// kernel reports what the receiver got as <see cref="PortReceive"/>, <see cref="PortSend"/> or
/// <see cref="PortSendOnce"/> (Mach's <c>MACH_MSG_TYPE_PORT_*</c>, which share the move values).
/// </summary>
public enum PortDisposition : byte
{
    /// <summary>No right (a null port).</summary>
    None = 0,

    /// <summary><c>MACH_MSG_TYPE_MOVE_RECEIVE</c>: the sender gives up its receive right.</summary>
    MoveReceive = 16,

    /// <summary><c>MACH_MSG_TYPE_MOVE_SEND</c>: one user reference of the sender's send right moves.</summary>
    MoveSend = 17,

    /// <summary><c>MACH_MSG_TYPE_MOVE_SEND_ONCE</c>: the sender's send-once right moves.</summary>
    MoveSendOnce = 18,

    /// <summary><c>MACH_MSG_TYPE_COPY_SEND</c>: a new send right; the sender keeps its own.</summary>
    CopySend = 19,

    /// <summary><c>MACH_MSG_TYPE_MAKE_SEND</c>: a new send right made from the sender's receive right (bumps the make-send count).</summary>
    MakeSend = 20,

    /// <summary><c>MACH_MSG_TYPE_MAKE_SEND_ONCE</c>: a new send-once right made from the sender's receive right.</summary>
    MakeSendOnce = 21,

    /// <summary>Received: a receive right (<c>MACH_MSG_TYPE_PORT_RECEIVE</c>).</summary>
    PortReceive = MoveReceive,

    /// <summary>Received: a send right (<c>MACH_MSG_TYPE_PORT_SEND</c>).</summary>
    PortSend = MoveSend,

    /// <summary>Received: a send-once right (<c>MACH_MSG_TYPE_PORT_SEND_ONCE</c>).</summary>
    PortSendOnce = MoveSendOnce,
}

/// <summary>Kinds of right, with Mach's <c>mach_port_right_t</c> values (mach-semantics.md §1.1).</summary>
public enum PortRight
{
    /// <summary><c>MACH_PORT_RIGHT_SEND</c>: user-reference counted.</summary>
    Send = 0,

    /// <summary><c>MACH_PORT_RIGHT_RECEIVE</c>: exactly one holder.</summary>
    Receive = 1,

    /// <summary><c>MACH_PORT_RIGHT_SEND_ONCE</c>: consumed by one send.</summary>
    SendOnce = 2,

    /// <summary><c>MACH_PORT_RIGHT_PORT_SET</c>.</summary>
    PortSet = 3,

    /// <summary><c>MACH_PORT_RIGHT_DEAD_NAME</c>: user-reference counted.</summary>
    DeadName = 4,
}

/// <summary>Which rights a name denotes (Mach's <c>mach_port_type_t</c> bits, <c>1 &lt;&lt; (right + 16)</c>).</summary>
[Flags]
public enum PortRightTypes : uint
{
    /// <summary>The name denotes nothing.</summary>
    None = 0,

    /// <summary><c>MACH_PORT_TYPE_SEND</c>.</summary>
    Send = 1u << 16,

    /// <summary><c>MACH_PORT_TYPE_RECEIVE</c>.</summary>
    Receive = 1u << 17,

    /// <summary><c>MACH_PORT_TYPE_SEND_ONCE</c>.</summary>
    SendOnce = 1u << 18,

    /// <summary><c>MACH_PORT_TYPE_PORT_SET</c>.</summary>
    PortSet = 1u << 19,

    /// <summary><c>MACH_PORT_TYPE_DEAD_NAME</c>.</summary>
    DeadName = 1u << 20,

    /// <summary><c>MACH_PORT_TYPE_DNREQUEST</c>: a dead-name request is registered on the name.</summary>
    DeadNameRequest = 0x80000000,
}
