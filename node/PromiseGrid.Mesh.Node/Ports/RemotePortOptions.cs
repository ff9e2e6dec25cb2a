namespace PromiseGrid.Mesh.Node.Ports;

/// <summary>Settings of the remote-port layer (<c>/promisegrid/ports/1.0.0</c>, docs/ports-protocol.md).</summary>
public sealed record RemotePortOptions
{
    /// <summary>Defaults.</summary>
    public static readonly RemotePortOptions Default = new();

    /// <summary>Most unacknowledged requests per destination node (default 16384); a send beyond it waits for room.</summary>
    public int SendWindow { get; init; } = 16384;

    /// <summary>Send timeout applied when the caller gives none (default: none, a send waits until acknowledged or failed).</summary>
    public TimeSpan? DefaultSendTimeout { get; init; }

    /// <summary>Delays between redials of a node with unacknowledged requests (each with ±20 % jitter); the last repeats.</summary>
    public IReadOnlyList<TimeSpan> RedialDelays { get; init; } =
        [TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3)];

    /// <summary>How long a node that holds rights to our ports may stay disconnected before its rights count as released (default 5 minutes).</summary>
    public TimeSpan HolderLease { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long the hello exchange on a new stream may take (default 10 s).</summary>
    public TimeSpan HelloTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Largest frame accepted or sent (default 16 MiB + 128 KiB, an envelope at the codec's limit plus framing).</summary>
    public int MaxFrameSize { get; init; } = (16 << 20) + (128 << 10);

    /// <summary>
    /// Most requests of one other node whose outcomes this node keeps (seen and not yet confirmed
    /// by that node; default 65,536). A node that goes past it is cut off: its stream is closed. A
    /// well-behaved node stays below its send window plus 1,024.
    /// </summary>
    public int MaxUnconfirmedPerPeer { get; init; } = 65536;

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public RemotePortOptions Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(SendWindow, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxUnconfirmedPerPeer, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(HolderLease, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(HelloTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxFrameSize, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(RedialDelays.Count, 1);
        return this;
    }
}
