using NSec.Cryptography;

namespace PromiseGrid.Mesh.Noise;

/// <summary>
/// An X25519 key pair for the Noise DH function (RFC 7748, DHLEN 32) backed by NSec. Static Noise
/// keys are fresh per handshake (libp2p-wire §5.1) and never stored.
/// </summary>
internal sealed class X25519KeyPair : IDisposable
{
    /// <summary>Length of public keys and of the shared secret (Noise DHLEN).</summary>
    public const int KeyLength = 32;

    private static readonly KeyAgreementAlgorithm Algorithm = KeyAgreementAlgorithm.X25519;

    private readonly Key _key;

    private X25519KeyPair(Key key)
    {
        _key = key;
        PublicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    /// <summary>The 32-byte public key.</summary>
    public byte[] PublicKey { get; }

    /// <summary><c>GENERATE_KEYPAIR()</c>.</summary>
    public static X25519KeyPair Generate() => new(Key.Create(Algorithm));

    /// <summary>A key pair from a fixed 32-byte private key (test vectors).</summary>
    public static X25519KeyPair FromPrivateKey(ReadOnlySpan<byte> privateKey)
        => new(Key.Import(Algorithm, privateKey, KeyBlobFormat.RawPrivateKey));

    /// <summary><c>DH(key_pair, public_key)</c>: writes the 32-byte shared secret.</summary>
    /// <exception cref="HandshakeException">The remote key is invalid or yields the all-zero secret.</exception>
    public void Agree(ReadOnlySpan<byte> remotePublicKey, Span<byte> sharedSecret)
    {
        NSec.Cryptography.PublicKey remote;
        try
        {
            remote = NSec.Cryptography.PublicKey.Import(Algorithm, remotePublicKey, KeyBlobFormat.RawPublicKey);
        }
        catch (FormatException e)
        {
            throw new HandshakeException("invalid X25519 public key from the remote peer", e);
        }

        using var secret = Algorithm.Agree(_key, remote, new SharedSecretCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport })
            ?? throw new HandshakeException("X25519 agreement with the remote key failed (low-order point)");
        var raw = secret.Export(SharedSecretBlobFormat.RawSharedSecret);
        raw.CopyTo(sharedSecret);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(raw);
    }

    public void Dispose() => _key.Dispose();
}
