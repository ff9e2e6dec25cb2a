using System.Buffers;

namespace PromiseGrid.Mesh.Multiformats;

/// <summary>
/// The multiformats unsigned varint (https://github.com/multiformats/unsigned-varint): unsigned
/// LEB128, minimal encoding mandatory, at most 9 bytes (63 bits).
/// </summary>
public static class Varint
{
    /// <summary>Longest legal encoding, in bytes.</summary>
    public const int MaxLength = 9;

    /// <summary>Largest encodable value (2^63 - 1).</summary>
    public const ulong MaxValue = long.MaxValue;

    /// <summary>Number of bytes <paramref name="value"/> takes when encoded.</summary>
    public static int GetLength(ulong value)
    {
        var length = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            length++;
        }

        return length;
    }

    /// <summary>Writes <paramref name="value"/> into <paramref name="destination"/>; returns the bytes written.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is above <see cref="MaxValue"/>.</exception>
    public static int Write(Span<byte> destination, ulong value)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxValue);
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>Appends <paramref name="value"/> to <paramref name="writer"/>.</summary>
    public static void Write(IBufferWriter<byte> writer, ulong value)
    {
        var span = writer.GetSpan(MaxLength);
        writer.Advance(Write(span, value));
    }

    /// <summary>Encodes <paramref name="value"/> to a new array.</summary>
    public static byte[] Encode(ulong value)
    {
        var bytes = new byte[GetLength(value)];
        Write(bytes, value);
        return bytes;
    }

    /// <summary>
    /// Decodes a varint at the start of <paramref name="source"/>.
    /// </summary>
    /// <returns><c>true</c> with the value and its length; <c>false</c> if more bytes are needed.</returns>
    /// <exception cref="InvalidFormatException">The encoding is not minimal or is longer than 9 bytes.</exception>
    public static bool TryRead(ReadOnlySpan<byte> source, out ulong value, out int bytesRead)
    {
        value = 0;
        for (var i = 0; i < MaxLength; i++)
        {
            if (i >= source.Length)
            {
                bytesRead = 0;
                value = 0;
                return false;
            }

            var b = source[i];
            value |= (ulong)(b & 0x7f) << (7 * i);
            if ((b & 0x80) == 0)
            {
                if (b == 0 && i > 0)
                {
                    throw new InvalidFormatException("varint is not minimally encoded");
                }

                bytesRead = i + 1;
                return true;
            }
        }

        throw new InvalidFormatException("varint is longer than 9 bytes");
    }

    /// <summary>As <see cref="TryRead(ReadOnlySpan{byte}, out ulong, out int)"/> over a possibly multi-segment sequence.</summary>
    public static bool TryRead(in ReadOnlySequence<byte> source, out ulong value, out int bytesRead)
    {
        if (source.IsSingleSegment || source.FirstSpan.Length >= MaxLength)
        {
            return TryRead(source.FirstSpan, out value, out bytesRead);
        }

        Span<byte> buffer = stackalloc byte[MaxLength];
        var length = (int)Math.Min(source.Length, MaxLength);
        source.Slice(0, length).CopyTo(buffer);
        return TryRead(buffer[..length], out value, out bytesRead);
    }

    /// <summary>Decodes a complete varint; throws if <paramref name="source"/> is truncated.</summary>
    public static ulong Read(ReadOnlySpan<byte> source, out int bytesRead)
    {
        if (!TryRead(source, out var value, out bytesRead))
        {
            throw new InvalidFormatException("truncated varint");
        }

        return value;
    }
}
