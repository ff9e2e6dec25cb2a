using System.Buffers.Binary;
using System.Security.Cryptography;

namespace PromiseGrid.Mesh.Noise;

/// <summary>
/// The Noise <c>CipherState</c> (noise spec §5.1, libp2p-wire §5.2): a ChaCha20-Poly1305 key and
/// a 64-bit message counter. The 12-byte nonce is four zero bytes followed by the counter in
/// little-endian order (§5.1). Without a key, encryption is the identity (handshake message 1).
/// Not thread-safe: one direction of one connection owns each instance.
/// </summary>
internal sealed class CipherState : IDisposable
{
    /// <summary>ChaCha20-Poly1305 key length.</summary>
    public const int KeyLength = 32;

    /// <summary>Poly1305 tag appended to every ciphertext.</summary>
    public const int TagLength = 16;

    /// <summary>Nonce length of ChaCha20-Poly1305 (RFC 8439).</summary>
    public const int NonceLength = 12;

    /// <summary>The reserved nonce 2^64−1 (noise spec §5.1): the counter never reaches it.</summary>
    public const ulong ReservedNonce = ulong.MaxValue;

    private ChaCha20Poly1305? _aead;

    /// <summary>A cipher state with no key (encryption passes bytes through).</summary>
    public CipherState()
    {
    }

    /// <summary>A cipher state with <paramref name="key"/> and the counter at zero.</summary>
    public CipherState(ReadOnlySpan<byte> key) => InitializeKey(key);

    public bool HasKey => _aead is not null;

    /// <summary>The counter of the next message (exposed for tests of the nonce limit).</summary>
    public ulong Nonce { get; internal set; }

    /// <summary><c>InitializeKey(k)</c>: sets the key and resets the counter.</summary>
    public void InitializeKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeyLength)
        {
            throw new ArgumentException($"a ChaCha20-Poly1305 key has {KeyLength} bytes", nameof(key));
        }

        _aead?.Dispose();
        _aead = new ChaCha20Poly1305(key);
        Nonce = 0;
    }

    /// <summary>
    /// <c>EncryptWithAd</c>: writes the ciphertext and tag of <paramref name="plaintext"/> into
    /// <paramref name="destination"/> (or copies the plaintext when there is no key).
    /// <paramref name="plaintext"/> may be the same memory as the start of
    /// <paramref name="destination"/> (in-place encryption).
    /// </summary>
    /// <returns>The number of bytes written.</returns>
    public int EncryptWithAd(ReadOnlySpan<byte> ad, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        if (_aead is null)
        {
            plaintext.CopyTo(destination);
            return plaintext.Length;
        }

        CheckNonce();
        Span<byte> nonce = stackalloc byte[NonceLength];
        WriteNonce(nonce, Nonce);
        _aead.Encrypt(nonce, plaintext, destination[..plaintext.Length], destination.Slice(plaintext.Length, TagLength), ad);
        Nonce++;
        return plaintext.Length + TagLength;
    }

    /// <summary>
    /// <c>DecryptWithAd</c>: authenticates and decrypts <paramref name="ciphertext"/> (which ends
    /// with the tag) into <paramref name="destination"/>. On failure the counter is unchanged.
    /// </summary>
    /// <returns>The plaintext length, or -1 when authentication failed.</returns>
    public int DecryptWithAd(ReadOnlySpan<byte> ad, ReadOnlySpan<byte> ciphertext, Span<byte> destination)
    {
        if (_aead is null)
        {
            ciphertext.CopyTo(destination);
            return ciphertext.Length;
        }

        if (ciphertext.Length < TagLength)
        {
            return -1;
        }

        var length = ciphertext.Length - TagLength;
        return TryDecrypt(ad, ciphertext[..length], ciphertext[length..], destination[..length]) ? length : -1;
    }

    /// <summary>
    /// Transport-phase encryption with empty associated data: <paramref name="plaintext"/> →
    /// <paramref name="ciphertext"/> (same length, may be the same memory) and <paramref name="tag"/>.
    /// </summary>
    public void Encrypt(ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag)
    {
        var aead = _aead ?? throw new InvalidOperationException("cipher state has no key");
        CheckNonce();
        Span<byte> nonce = stackalloc byte[NonceLength];
        WriteNonce(nonce, Nonce);
        aead.Encrypt(nonce, plaintext, ciphertext, tag);
        Nonce++;
    }

    /// <summary>
    /// Authenticates and decrypts; <paramref name="plaintext"/> may be the same memory as
    /// <paramref name="ciphertext"/>. On failure the counter is unchanged and the plaintext
    /// buffer is cleared.
    /// </summary>
    public bool TryDecrypt(ReadOnlySpan<byte> ad, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext)
    {
        var aead = _aead ?? throw new InvalidOperationException("cipher state has no key");
        CheckNonce();
        Span<byte> nonce = stackalloc byte[NonceLength];
        WriteNonce(nonce, Nonce);
        try
        {
            aead.Decrypt(nonce, ciphertext, tag, plaintext, ad);
        }
        catch (CryptographicException)
        {
            return false;
        }

        Nonce++;
        return true;
    }

    public void Dispose()
    {
        _aead?.Dispose();
        _aead = null;
    }

    private static void WriteNonce(Span<byte> nonce, ulong n)
    {
        nonce[..4].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(nonce[4..], n);
    }

    private void CheckNonce()
    {
        if (Nonce >= ReservedNonce)
        {
            throw new LimitExceededException("Noise message counter", unchecked((long)Nonce), long.MaxValue);
        }
    }
}
