using System.Buffers.Binary;

namespace PromiseGrid.Mesh.Kernel;

/// <summary>
/// Notification message ids and payloads (Mach <c>osfmk/mach/notify.h</c>, mach-semantics.md §1.9).
/// Each arrives through the send-once right given at request time, so it arrives exactly once.
/// Payload: a 4-byte little-endian value (<see cref="ReadValue"/>): the name for dead-name and
/// port-deleted, the make-send count for no-senders, nothing otherwise. A port-destroyed
/// notification carries the receive right as its single port descriptor.
/// </summary>
public static class PortNotification
{
    /// <summary><c>MACH_NOTIFY_PORT_DELETED</c> (0101): a right with a dead-name request was deallocated.</summary>
    public const int PortDeleted = 65;

    /// <summary><c>MACH_NOTIFY_PORT_DESTROYED</c> (0105): the receive right would have been destroyed; it is in the message.</summary>
    public const int PortDestroyed = 69;

    /// <summary><c>MACH_NOTIFY_NO_SENDERS</c> (0106): no send rights remain; the value is the make-send count.</summary>
    public const int NoSenders = 70;

    /// <summary><c>MACH_NOTIFY_SEND_ONCE</c> (0107): a send-once right was destroyed unused.</summary>
    public const int SendOnce = 71;

    /// <summary><c>MACH_NOTIFY_DEAD_NAME</c> (0110): the port died; the value is the (now dead) name.</summary>
    public const int DeadName = 72;

    /// <summary>The 32-bit value of a notification.</summary>
    /// <exception cref="InvalidFormatException">The payload is not 4 bytes.</exception>
    public static uint ReadValue(PortMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Payload.Length != 4)
        {
            throw new InvalidFormatException($"notification {message.MessageId} has a {message.Payload.Length}-byte payload, expected 4");
        }

        return BinaryPrimitives.ReadUInt32LittleEndian(message.Payload.Span);
    }

    internal static byte[] Encode(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        return bytes;
    }
}

/// <summary>Which notification to request (the <c>msgid</c> argument of <c>mach_port_request_notification</c>).</summary>
public enum PortNotificationKind
{
    /// <summary>Dead-name (and port-deleted) on a send, send-once or dead name.</summary>
    DeadName,

    /// <summary>No-senders on a receive right, with a make-send-count threshold.</summary>
    NoSenders,

    /// <summary>Port-destroyed on a receive right: the right is sent instead of being destroyed.</summary>
    PortDestroyed,
}
