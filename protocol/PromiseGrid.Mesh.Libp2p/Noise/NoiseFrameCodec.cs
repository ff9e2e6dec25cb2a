using System.Buffers;
using System.Buffers.Binary;

namespace PromiseGrid.Mesh.Noise;

/// <summary>
/// The libp2p Noise wire framing (libp2p-wire §5.6): every handshake and transport message is
/// <c>BE u16 length || message</c>.
/// </summary>
internal static class NoiseFrameCodec
{
    /// <summary>Size of the big-endian length prefix.</summary>
    public const int LengthPrefixSize = 2;

    /// <summary>Largest Noise message (noise spec §3, libp2p-wire §5.6).</summary>
    public const int MaxMessageLength = ushort.MaxValue;

    /// <summary>Largest plaintext of one transport message: 65535 − 16-byte tag (libp2p-wire §5.6).</summary>
    public const int MaxPlaintextLength = MaxMessageLength - CipherState.TagLength;

    /// <summary>Largest frame on the wire, prefix included.</summary>
    public const int MaxFrameLength = LengthPrefixSize + MaxMessageLength;

    /// <summary>Writes the length prefix of a <paramref name="messageLength"/>-byte message.</summary>
    public static void WriteLengthPrefix(Span<byte> destination, int messageLength)
    {
        if ((uint)messageLength > MaxMessageLength)
        {
            throw new LimitExceededException("Noise message length", messageLength, MaxMessageLength);
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)messageLength);
    }

    /// <summary>
    /// Takes one complete frame off the front of <paramref name="buffer"/>.
    /// </summary>
    /// <param name="buffer">Unread bytes; on success advanced past the frame.</param>
    /// <param name="message">The message without its prefix (a slice of the input).</param>
    /// <returns>False when the buffer does not yet hold a complete frame.</returns>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> message)
    {
        if (!TryPeekLength(buffer, out var length) || buffer.Length < LengthPrefixSize + length)
        {
            message = default;
            return false;
        }

        message = buffer.Slice(LengthPrefixSize, length);
        buffer = buffer.Slice(message.End);
        return true;
    }

    /// <summary>Reads the length prefix at the front of <paramref name="buffer"/> without consuming it.</summary>
    public static bool TryPeekLength(in ReadOnlySequence<byte> buffer, out int length)
    {
        var first = buffer.FirstSpan;
        if (first.Length >= LengthPrefixSize)
        {
            length = BinaryPrimitives.ReadUInt16BigEndian(first);
            return true;
        }

        if (buffer.Length < LengthPrefixSize)
        {
            length = 0;
            return false;
        }

        Span<byte> prefix = stackalloc byte[LengthPrefixSize];
        buffer.Slice(0, LengthPrefixSize).CopyTo(prefix);
        length = BinaryPrimitives.ReadUInt16BigEndian(prefix);
        return true;
    }
}
