using System.Security.Cryptography;

namespace PromiseGrid.Mesh.Multiformats;

/// <summary>
/// Multihash (https://github.com/multiformats/multihash): <c>uvarint(code) || uvarint(length) || digest</c>.
/// Only the codes libp2p peer ids use are named here.
/// </summary>
public static class Multihash
{
    /// <summary>The identity "hash": the digest is the input itself.</summary>
    public const ulong Identity = 0x00;

    /// <summary>SHA2-256, 32-byte digest.</summary>
    public const ulong Sha2_256 = 0x12;

    /// <summary>Builds a multihash from a code and a digest.</summary>
    public static byte[] Create(ulong code, ReadOnlySpan<byte> digest)
    {
        var result = new byte[Varint.GetLength(code) + Varint.GetLength((ulong)digest.Length) + digest.Length];
        var n = Varint.Write(result, code);
        n += Varint.Write(result.AsSpan(n), (ulong)digest.Length);
        digest.CopyTo(result.AsSpan(n));
        return result;
    }

    /// <summary>SHA2-256 multihash of <paramref name="data"/>.</summary>
    public static byte[] ComputeSha256(ReadOnlySpan<byte> data)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(data, digest);
        return Create(Sha2_256, digest);
    }

    /// <summary>
    /// Splits a multihash into code and digest, checking that the length field matches the input exactly.
    /// </summary>
    /// <exception cref="InvalidFormatException">Malformed multihash.</exception>
    public static (ulong Code, ReadOnlyMemory<byte> Digest) Decode(ReadOnlyMemory<byte> multihash)
    {
        var span = multihash.Span;
        var code = Varint.Read(span, out var n1);
        var length = Varint.Read(span[n1..], out var n2);
        var headerLength = n1 + n2;
        if ((ulong)(span.Length - headerLength) != length)
        {
            throw new InvalidFormatException($"multihash length field {length} does not match the {span.Length - headerLength} digest bytes");
        }

        return (code, multihash[headerLength..]);
    }
}
