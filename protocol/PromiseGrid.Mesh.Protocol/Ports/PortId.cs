using System.Buffers.Binary;
using System.Security.Cryptography;
using SimpleBase;

namespace PromiseGrid.Mesh.Ports;

/// <summary>
/// The 128-bit random identity of a port on its home node (architecture.md "Ports"): drawn from
/// <see cref="RandomNumberGenerator"/>, so it is unique for the node's lifetime and cannot be
/// guessed. Tasks never see it; they hold names. Text form: lowercase RFC 4648 base32, no padding.
/// </summary>
public readonly record struct PortId(ulong High, ulong Low)
{
    /// <summary>Length of the binary form.</summary>
    public const int Size = 16;

    /// <summary>A fresh random id.</summary>
    public static PortId NewRandom()
    {
        Span<byte> bytes = stackalloc byte[Size];
        RandomNumberGenerator.Fill(bytes);
        return Read(bytes);
    }

    /// <summary>Reads the 16-byte big-endian binary form.</summary>
    /// <exception cref="InvalidFormatException">Not 16 bytes.</exception>
    public static PortId Read(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new InvalidFormatException($"a port id is {Size} bytes, not {bytes.Length}");
        }

        return new PortId(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]));
    }

    /// <summary>Writes the 16-byte big-endian binary form.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, High);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], Low);
    }

    /// <summary>The binary form as a new array.</summary>
    public byte[] ToByteArray()
    {
        var bytes = new byte[Size];
        Write(bytes);
        return bytes;
    }

    /// <summary>Parses the base32 text form.</summary>
    /// <exception cref="InvalidFormatException">Not base32 or not 128 bits.</exception>
    public static PortId Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] bytes;
        try
        {
            bytes = Base32.Rfc4648.Decode(text);
        }
        catch (ArgumentException e)
        {
            throw new InvalidFormatException($"'{text}' is not base32", e);
        }

        return Read(bytes);
    }

    /// <summary>Lowercase base32 without padding (26 characters).</summary>
    public override string ToString() => Base32.Rfc4648.Encode(ToByteArray(), padding: false).ToLowerInvariant();
}
