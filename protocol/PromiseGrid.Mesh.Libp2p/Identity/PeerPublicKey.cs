using System.Security.Cryptography;
using NSec.Cryptography;

namespace PromiseGrid.Mesh.Identity;

/// <summary>
/// A peer's public identity key (peer-ids spec §2.3). Ed25519 is what this implementation creates;
/// RSA and ECDSA (P-256) keys of remote peers can be verified too.
/// </summary>
public sealed class PeerPublicKey : IEquatable<PeerPublicKey>
{
    private readonly byte[] _encoded;

    private PeerPublicKey(KeyType type, byte[] data, byte[] encoded)
    {
        Type = type;
        Data = data;
        _encoded = encoded;
    }

    public KeyType Type { get; }

    /// <summary>The key material in its spec encoding (raw 32 bytes for Ed25519, DER for RSA/ECDSA).</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>Creates an Ed25519 public key from its 32 raw bytes.</summary>
    public static PeerPublicKey FromEd25519(ReadOnlySpan<byte> raw)
    {
        if (raw.Length != 32)
        {
            throw new InvalidFormatException($"an Ed25519 public key has 32 bytes, not {raw.Length}");
        }

        var data = raw.ToArray();
        return new PeerPublicKey(KeyType.Ed25519, data, KeyProtobuf.Encode(KeyType.Ed25519, data));
    }

    /// <summary>Decodes the <c>PublicKey</c> protobuf.</summary>
    /// <exception cref="InvalidFormatException">Malformed message or key.</exception>
    public static PeerPublicKey Decode(ReadOnlySpan<byte> protobuf)
    {
        var (type, data) = KeyProtobuf.Decode(protobuf);
        if (type == KeyType.Ed25519 && data.Length != 32)
        {
            throw new InvalidFormatException($"an Ed25519 public key has 32 bytes, not {data.Length}");
        }

        // Re-encode canonically: the peer id is derived from the canonical form.
        return new PeerPublicKey(type, data, KeyProtobuf.Encode(type, data));
    }

    /// <summary>The deterministic <c>PublicKey</c> protobuf encoding.</summary>
    public ReadOnlySpan<byte> Encode() => _encoded;

    /// <summary>The peer id this key derives (§2.4).</summary>
    public PeerId ToPeerId() => PeerId.FromPublicKey(this);

    /// <summary>Verifies <paramref name="signature"/> over <paramref name="data"/> with this key.</summary>
    /// <returns><c>false</c> for a bad signature or an unsupported key type.</returns>
    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        switch (Type)
        {
            case KeyType.Ed25519:
                var key = NSec.Cryptography.PublicKey.Import(SignatureAlgorithm.Ed25519, Data.Span, KeyBlobFormat.RawPublicKey);
                return SignatureAlgorithm.Ed25519.Verify(key, data, signature);
            case KeyType.Rsa:
                try
                {
                    using var rsa = RSA.Create();
                    rsa.ImportSubjectPublicKeyInfo(Data.Span, out _);
                    return rsa.KeySize is >= 2048 and <= 8192
                        && rsa.VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
                }
                catch (CryptographicException)
                {
                    return false;
                }

            case KeyType.Ecdsa:
                try
                {
                    using var ecdsa = ECDsa.Create();
                    ecdsa.ImportSubjectPublicKeyInfo(Data.Span, out _);
                    return ecdsa.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
                }
                catch (CryptographicException)
                {
                    return false;
                }

            default:
                return false;
        }
    }

    public bool Equals(PeerPublicKey? other) => other is not null && _encoded.AsSpan().SequenceEqual(other._encoded);

    public override bool Equals(object? obj) => Equals(obj as PeerPublicKey);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(_encoded);
        return hash.ToHashCode();
    }
}
