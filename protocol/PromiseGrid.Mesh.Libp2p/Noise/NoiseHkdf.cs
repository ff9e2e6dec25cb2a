using System.Security.Cryptography;

namespace PromiseGrid.Mesh.Noise;

/// <summary>
/// The Noise <c>HKDF(chaining_key, input_key_material)</c> with HMAC-SHA256 (noise spec §4.3,
/// libp2p-wire §5.2): RFC 5869 with salt = chaining key and empty info, 2 or 3 outputs of 32 bytes.
/// </summary>
internal static class NoiseHkdf
{
    /// <summary>SHA-256 output length (Noise HASHLEN).</summary>
    public const int HashLength = 32;

    /// <summary>Derives two outputs.</summary>
    public static void Derive(ReadOnlySpan<byte> chainingKey, ReadOnlySpan<byte> inputKeyMaterial, Span<byte> output1, Span<byte> output2)
        => Derive(chainingKey, inputKeyMaterial, output1, output2, []);

    /// <summary>Derives two or three outputs (<paramref name="output3"/> empty for two).</summary>
    public static void Derive(ReadOnlySpan<byte> chainingKey, ReadOnlySpan<byte> inputKeyMaterial, Span<byte> output1, Span<byte> output2, Span<byte> output3)
    {
        Span<byte> temp = stackalloc byte[HashLength];
        Span<byte> block = stackalloc byte[HashLength + 1];
        HMACSHA256.HashData(chainingKey, inputKeyMaterial, temp);

        block[0] = 0x01;
        HMACSHA256.HashData(temp, block[..1], output1);

        output1.CopyTo(block);
        block[HashLength] = 0x02;
        HMACSHA256.HashData(temp, block, output2);

        if (!output3.IsEmpty)
        {
            output2.CopyTo(block);
            block[HashLength] = 0x03;
            HMACSHA256.HashData(temp, block, output3);
        }

        CryptographicOperations.ZeroMemory(temp);
        CryptographicOperations.ZeroMemory(block);
    }
}
