using System.Globalization;

namespace PromiseGrid.Mesh.Kernel;

/// <summary>
/// A task-local name for a right (Mach's <c>mach_port_name_t</c>): a small integer meaningful
/// only in the <see cref="PortTask"/> that holds it, so it cannot be forged into a capability.
/// Send and receive rights to one port share a name; each send-once right has its own.
/// </summary>
public readonly record struct PortName(uint Value)
{
    /// <summary><c>MACH_PORT_NULL</c>.</summary>
    public static readonly PortName Null;

    /// <summary><c>MACH_PORT_DEAD</c>: a right carried in a message whose port had died.</summary>
    public static readonly PortName Dead = new(uint.MaxValue);

    /// <summary>True for <see cref="Null"/>.</summary>
    public bool IsNull => Value == 0;

    public override string ToString() => "0x" + Value.ToString("x", CultureInfo.InvariantCulture);
}
