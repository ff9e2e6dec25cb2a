using System.Buffers;
using System.Buffers.Binary;

namespace PromiseGrid.Mesh.Yamux;

/// <summary>
/// Pure encode/decode of the yamux frame header (libp2p-wire.md §6.2): version, type, flags,
/// stream id and length, all big-endian. Validation of the values is the session's job.
/// </summary>
internal static class YamuxCodec
{
    /// <summary>Size of every frame header.</summary>
    public const int HeaderSize = 12;

    /// <summary>The only protocol version (§6.2).</summary>
    public const byte Version = 0;

    /// <summary>Stream id of session-level frames (Ping, GoAway) (§6.1).</summary>
    public const uint SessionStreamId = 0;

    /// <summary>Window every stream direction starts with, without signalling (§6.4): 256 KiB.</summary>
    public const int InitialWindow = 256 * 1024;

    public static void Write(Span<byte> destination, in YamuxFrameHeader header)
    {
        if (destination.Length < HeaderSize)
        {
            throw new ArgumentException("the destination is shorter than a yamux header", nameof(destination));
        }

        destination[0] = header.Version;
        destination[1] = (byte)header.Type;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)header.Flags);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], header.StreamId);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], header.Length);
    }

    /// <summary>Writes a header into <paramref name="writer"/> and advances it.</summary>
    public static void Write(IBufferWriter<byte> writer, in YamuxFrameHeader header)
    {
        Write(writer.GetSpan(HeaderSize), header);
        writer.Advance(HeaderSize);
    }

    public static YamuxFrameHeader Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < HeaderSize)
        {
            throw new ArgumentException("the source is shorter than a yamux header", nameof(source));
        }

        return new YamuxFrameHeader(
            source[0],
            (YamuxFrameType)source[1],
            (YamuxFlags)BinaryPrimitives.ReadUInt16BigEndian(source[2..]),
            BinaryPrimitives.ReadUInt32BigEndian(source[4..]),
            BinaryPrimitives.ReadUInt32BigEndian(source[8..]));
    }

    /// <summary>Decodes a header from the start of <paramref name="buffer"/> if 12 bytes are there.</summary>
    public static bool TryRead(in ReadOnlySequence<byte> buffer, out YamuxFrameHeader header)
    {
        if (buffer.Length < HeaderSize)
        {
            header = default;
            return false;
        }

        var first = buffer.FirstSpan;
        if (first.Length >= HeaderSize)
        {
            header = Read(first);
            return true;
        }

        Span<byte> copy = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(copy);
        header = Read(copy);
        return true;
    }
}
