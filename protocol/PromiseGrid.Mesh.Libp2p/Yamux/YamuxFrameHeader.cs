namespace PromiseGrid.Mesh.Yamux;

/// <summary>Yamux frame types (libp2p-wire.md §6.2, byte 1 of the header).</summary>
internal enum YamuxFrameType : byte
{
    /// <summary>Stream data; <c>Length</c> payload bytes follow the header.</summary>
    Data = 0,

    /// <summary>Stream window update; <c>Length</c> is the window delta.</summary>
    WindowUpdate = 1,

    /// <summary>Session ping (stream 0); <c>Length</c> is an opaque value.</summary>
    Ping = 2,

    /// <summary>Session termination (stream 0); <c>Length</c> is the error code.</summary>
    GoAway = 3,
}

/// <summary>Yamux header flags (libp2p-wire.md §6.2, bytes 2–3 of the header).</summary>
[Flags]
internal enum YamuxFlags : ushort
{
    None = 0,

    /// <summary>Opens a stream, or asks for a ping reply.</summary>
    Syn = 0x1,

    /// <summary>Accepts a stream, or answers a ping.</summary>
    Ack = 0x2,

    /// <summary>Half-closes the sender's direction of a stream.</summary>
    Fin = 0x4,

    /// <summary>Hard-closes a stream.</summary>
    Rst = 0x8,
}

/// <summary>GoAway error codes (libp2p-wire.md §6.6).</summary>
public enum YamuxGoAwayCode : uint
{
    /// <summary>Normal termination.</summary>
    Normal = 0,

    /// <summary>The remote broke the protocol.</summary>
    ProtocolError = 1,

    /// <summary>An internal error ended the session.</summary>
    InternalError = 2,
}

/// <summary>One decoded 12-byte yamux frame header (libp2p-wire.md §6.2).</summary>
internal readonly record struct YamuxFrameHeader(byte Version, YamuxFrameType Type, YamuxFlags Flags, uint StreamId, uint Length)
{
    public static YamuxFrameHeader Data(uint streamId, uint length, YamuxFlags flags = YamuxFlags.None) =>
        new(YamuxCodec.Version, YamuxFrameType.Data, flags, streamId, length);

    public static YamuxFrameHeader WindowUpdate(uint streamId, uint delta, YamuxFlags flags = YamuxFlags.None) =>
        new(YamuxCodec.Version, YamuxFrameType.WindowUpdate, flags, streamId, delta);

    public static YamuxFrameHeader Ping(YamuxFlags flags, uint value) =>
        new(YamuxCodec.Version, YamuxFrameType.Ping, flags, YamuxCodec.SessionStreamId, value);

    public static YamuxFrameHeader GoAway(YamuxGoAwayCode code) =>
        new(YamuxCodec.Version, YamuxFrameType.GoAway, YamuxFlags.None, YamuxCodec.SessionStreamId, (uint)code);

    public bool HasFlag(YamuxFlags flag) => (Flags & flag) != 0;
}
