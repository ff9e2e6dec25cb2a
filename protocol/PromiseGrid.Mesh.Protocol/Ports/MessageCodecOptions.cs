namespace PromiseGrid.Mesh.Ports;

/// <summary>Limits the envelope codec enforces on untrusted input.</summary>
public sealed record MessageCodecOptions
{
    /// <summary>Defaults: 16 MiB + 64 KiB envelope, 64 port descriptors, 16 out-of-line regions, 128-byte protocol id, depth 8.</summary>
    public static readonly MessageCodecOptions Default = new();

    /// <summary>Largest encoded envelope accepted (default 16 MiB + 64 KiB).</summary>
    public int MaxEncodedSize { get; init; } = (16 << 20) + (64 << 10);

    /// <summary>Most port descriptors in one message (default 64).</summary>
    public int MaxPorts { get; init; } = 64;

    /// <summary>Most out-of-line regions in one message (default 16).</summary>
    public int MaxOutOfLine { get; init; } = 16;

    /// <summary>Longest protocol id (default 128 bytes).</summary>
    public int MaxProtocolIdLength { get; init; } = 128;

    /// <summary>Deepest nesting of MessagePack containers (default 8; the envelope needs 3).</summary>
    public int MaxDepth { get; init; } = 8;

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit is not positive, or the depth is below 3.</exception>
    public MessageCodecOptions Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxEncodedSize, 64);
        ArgumentOutOfRangeException.ThrowIfNegative(MaxPorts);
        ArgumentOutOfRangeException.ThrowIfNegative(MaxOutOfLine);
        ArgumentOutOfRangeException.ThrowIfNegative(MaxProtocolIdLength);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDepth, 3);
        return this;
    }
}
