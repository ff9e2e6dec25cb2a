namespace PromiseGrid.Mesh.Kernel;

/// <summary>Limits of a <see cref="PortKernel"/>. Every limit is enforced with a typed error.</summary>
public sealed record PortKernelOptions
{
    /// <summary>Defaults as documented on each property.</summary>
    public static readonly PortKernelOptions Default = new();

    /// <summary>qlimit of a new port (default 16, XNU's <c>MACH_PORT_QLIMIT_SMALL</c>; GM's default is 5).</summary>
    public int DefaultQueueLimit { get; init; } = 16;

    /// <summary>Largest settable qlimit (default 1024, XNU's <c>MACH_PORT_QLIMIT_MAX</c>).</summary>
    public int MaxQueueLimit { get; init; } = 1024;

    /// <summary>Largest inline payload (default 64 KiB); bigger data goes out of line.</summary>
    public int MaxInlinePayload { get; init; } = 64 << 10;

    /// <summary>Most port descriptors per message (default 64).</summary>
    public int MaxPortDescriptors { get; init; } = 64;

    /// <summary>Most out-of-line regions per message (default 16).</summary>
    public int MaxOutOfLineRegions { get; init; } = 16;

    /// <summary>Largest total out-of-line size per message (default 16 MiB).</summary>
    public long MaxOutOfLineBytes { get; init; } = 16 << 20;

    /// <summary>Largest user-reference count of a send or dead name (default 65534, Mach's <c>MACH_PORT_UREFS_MAX</c> - 1).</summary>
    public int MaxUserReferences { get; init; } = 65534;

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public PortKernelOptions Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxQueueLimit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(DefaultQueueLimit, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(DefaultQueueLimit, MaxQueueLimit);
        ArgumentOutOfRangeException.ThrowIfNegative(MaxInlinePayload);
        ArgumentOutOfRangeException.ThrowIfNegative(MaxPortDescriptors);
        ArgumentOutOfRangeException.ThrowIfNegative(MaxOutOfLineRegions);
        ArgumentOutOfRangeException.ThrowIfNegative(MaxOutOfLineBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxUserReferences, 1);
        return this;
    }
}
