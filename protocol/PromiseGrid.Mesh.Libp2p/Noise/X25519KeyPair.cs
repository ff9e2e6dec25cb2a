using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace PromiseGrid.Mesh.Noise;

/// <summary>
/// An X25519 key pair for the Noise DH function (RFC 7748, DHLEN 32). Static Noise keys are fresh per
/// handshake (libp2p-wire §5.1) and never stored.
/// <para>
/// The scalar multiplications are libsodium's (the library NSec ships), called directly on managed
/// memory that is zeroed on <see cref="Dispose"/> and after each agreement. NSec's <c>Key</c> and
/// <c>SharedSecret</c> would put each of the handshake's two key pairs and three shared secrets in
/// guarded pages (<c>sodium_malloc</c>: mmap, mprotect, munmap), and every munmap/mprotect is a TLB
/// shootdown across cores — profiled at several times the cost of the curve arithmetic itself and
/// most of a warm dial's CPU time.
/// </para>
/// </summary>
internal sealed partial class X25519KeyPair : IDisposable
{
    /// <summary>Length of public keys and of the shared secret (Noise DHLEN).</summary>
    public const int KeyLength = 32;

    private readonly byte[] _privateKey;

    static X25519KeyPair()
    {
        // Idempotent; NSec calls it too. Negative only if libsodium cannot initialise at all.
        if (NativeMethods.sodium_init() < 0)
        {
            throw new InvalidOperationException("libsodium failed to initialise");
        }
    }

    private X25519KeyPair(byte[] privateKey)
    {
        _privateKey = privateKey;
        PublicKey = new byte[KeyLength];
        if (NativeMethods.crypto_scalarmult_curve25519_base(PublicKey, _privateKey) != 0)
        {
            throw new CryptographicException("X25519 public key derivation failed");
        }
    }

    /// <summary>The 32-byte public key.</summary>
    public byte[] PublicKey { get; }

    /// <summary><c>GENERATE_KEYPAIR()</c>.</summary>
    public static X25519KeyPair Generate() => new(RandomNumberGenerator.GetBytes(KeyLength));

    /// <summary>A key pair from a fixed 32-byte private key (test vectors).</summary>
    public static X25519KeyPair FromPrivateKey(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != KeyLength)
        {
            throw new ArgumentException($"an X25519 private key has {KeyLength} bytes", nameof(privateKey));
        }

        return new(privateKey.ToArray());
    }

    /// <summary><c>DH(key_pair, public_key)</c>: writes the 32-byte shared secret.</summary>
    /// <exception cref="HandshakeException">The remote key is invalid or yields the all-zero secret.</exception>
    public void Agree(ReadOnlySpan<byte> remotePublicKey, Span<byte> sharedSecret)
    {
        if (remotePublicKey.Length != KeyLength)
        {
            throw new HandshakeException("invalid X25519 public key from the remote peer", new FormatException($"an X25519 public key has {KeyLength} bytes, not {remotePublicKey.Length}"));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(sharedSecret.Length, KeyLength, nameof(sharedSecret));
        var result = sharedSecret[..KeyLength];

        // libsodium returns -1 when the product is the all-zero point (a low-order remote key).
        if (NativeMethods.crypto_scalarmult_curve25519(result, _privateKey, remotePublicKey) != 0)
        {
            CryptographicOperations.ZeroMemory(result);
            throw new HandshakeException("X25519 agreement with the remote key failed (low-order point)");
        }
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(_privateKey);

    private static partial class NativeMethods
    {
        private const string Library = "libsodium";

        [LibraryImport(Library)]
        internal static partial int sodium_init();

        [LibraryImport(Library)]
        internal static partial int crypto_scalarmult_curve25519_base(Span<byte> q, ReadOnlySpan<byte> n);

        [LibraryImport(Library)]
        internal static partial int crypto_scalarmult_curve25519(Span<byte> q, ReadOnlySpan<byte> n, ReadOnlySpan<byte> p);
    }
}
