namespace PromiseGrid.Mesh.Ports;

/// <summary>Header flags of a message (the "other" bits of Mach's <c>msgh_bits</c>).</summary>
[Flags]
public enum MessageFlags : uint
{
    /// <summary>No flags.</summary>
    None = 0,

    /// <summary>The body carries port descriptors or out-of-line data (<c>MACH_MSGH_BITS_COMPLEX</c>); set by the kernel.</summary>
    Complex = 1u << 0,

    /// <summary>The message is a kernel notification (dead-name, no-senders, port-destroyed, send-once, port-deleted).</summary>
    Notification = 1u << 1,
}
