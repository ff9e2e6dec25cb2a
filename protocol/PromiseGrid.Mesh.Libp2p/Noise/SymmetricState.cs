using System.Security.Cryptography;
using System.Text;

namespace PromiseGrid.Mesh.Noise;

/// <summary>
/// The Noise <c>SymmetricState</c> (noise spec §5.2, libp2p-wire §5.2): chaining key, handshake
/// hash and the handshake cipher state.
/// </summary>
internal sealed class SymmetricState : IDisposable
{
    private readonly byte[] _ck = new byte[NoiseHkdf.HashLength];
    private readonly byte[] _h = new byte[NoiseHkdf.HashLength];
    private readonly CipherState _cs = new();

    /// <summary><c>InitializeSymmetric(protocol_name)</c>.</summary>
    public SymmetricState(string protocolName)
    {
        var name = Encoding.ASCII.GetBytes(protocolName);
        if (name.Length <= NoiseHkdf.HashLength)
        {
            name.CopyTo(_h, 0);
        }
        else
        {
            SHA256.HashData(name, _h);
        }

        _h.CopyTo(_ck, 0);
    }

    /// <summary>The handshake hash <c>h</c> (channel binding value once the handshake is done).</summary>
    public ReadOnlySpan<byte> HandshakeHash => _h;

    public bool HasKey => _cs.HasKey;

    /// <summary><c>MixHash(data)</c>: h = SHA-256(h || data).</summary>
    public void MixHash(ReadOnlySpan<byte> data)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(_h);
        hash.AppendData(data);
        hash.GetHashAndReset(_h);
    }

    /// <summary><c>MixKey(ikm)</c>: (ck, k) = HKDF(ck, ikm); the cipher state gets k with n = 0.</summary>
    public void MixKey(ReadOnlySpan<byte> inputKeyMaterial)
    {
        Span<byte> key = stackalloc byte[NoiseHkdf.HashLength];
        NoiseHkdf.Derive(_ck, inputKeyMaterial, _ck, key);
        _cs.InitializeKey(key);
        CryptographicOperations.ZeroMemory(key);
    }

    /// <summary><c>EncryptAndHash(p)</c>: encrypts with h as associated data, then mixes the ciphertext.</summary>
    /// <returns>The bytes written to <paramref name="destination"/>.</returns>
    public int EncryptAndHash(ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        var written = _cs.EncryptWithAd(_h, plaintext, destination);
        MixHash(destination[..written]);
        return written;
    }

    /// <summary><c>DecryptAndHash(c)</c>: decrypts with h as associated data, then mixes the ciphertext.</summary>
    /// <exception cref="HandshakeException">Authentication failed.</exception>
    public byte[] DecryptAndHash(ReadOnlySpan<byte> ciphertext)
    {
        var plaintext = new byte[_cs.HasKey ? Math.Max(0, ciphertext.Length - CipherState.TagLength) : ciphertext.Length];
        if (_cs.DecryptWithAd(_h, ciphertext, plaintext) < 0)
        {
            throw new HandshakeException("Noise handshake message failed authentication");
        }

        MixHash(ciphertext);
        return plaintext;
    }

    /// <summary><c>Split()</c>: the two transport cipher states (initiator→responder first).</summary>
    public (CipherState First, CipherState Second) Split()
    {
        Span<byte> k1 = stackalloc byte[NoiseHkdf.HashLength];
        Span<byte> k2 = stackalloc byte[NoiseHkdf.HashLength];
        NoiseHkdf.Derive(_ck, [], k1, k2);
        var result = (new CipherState(k1), new CipherState(k2));
        CryptographicOperations.ZeroMemory(k1);
        CryptographicOperations.ZeroMemory(k2);
        return result;
    }

    public void Dispose()
    {
        _cs.Dispose();
        CryptographicOperations.ZeroMemory(_ck);
    }
}
