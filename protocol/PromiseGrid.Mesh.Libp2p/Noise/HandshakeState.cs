using System.Security.Cryptography;

namespace PromiseGrid.Mesh.Noise;

/// <summary>
/// The Noise <c>HandshakeState</c> for the XX pattern only (noise spec §5.3 and §7.5,
/// libp2p-wire §5.3): <c>-&gt; e; &lt;- e, ee, s, es; -&gt; s, se</c>. Pure and synchronous;
/// the ephemeral key, static key and prologue are injectable so the cacophony vectors can be
/// replayed exactly.
/// </summary>
internal sealed class HandshakeState : IDisposable
{
    /// <summary>The only suite libp2p uses (libp2p-wire §5.1); exactly 32 ASCII bytes.</summary>
    public const string ProtocolName = "Noise_XX_25519_ChaChaPoly_SHA256";

    /// <summary>Number of messages in XX.</summary>
    public const int MessageCount = 3;

    private readonly SymmetricState _symmetric;
    private readonly X25519KeyPair _s;
    private readonly X25519KeyPair _e;
    private byte[]? _re;
    private byte[]? _rs;
    private int _step;

    /// <param name="initiator">True for the initiator (dialer).</param>
    /// <param name="prologue">Empty for libp2p over TCP.</param>
    /// <param name="staticKey">The local static key (owned by the caller).</param>
    /// <param name="ephemeralKey">The local ephemeral key (owned by the caller).</param>
    public HandshakeState(bool initiator, ReadOnlySpan<byte> prologue, X25519KeyPair staticKey, X25519KeyPair ephemeralKey)
    {
        IsInitiator = initiator;
        _s = staticKey;
        _e = ephemeralKey;
        _symmetric = new SymmetricState(ProtocolName);
        _symmetric.MixHash(prologue);
    }

    public bool IsInitiator { get; }

    /// <summary>True once message 3 has been written or read.</summary>
    public bool IsCompleted => _step == MessageCount;

    /// <summary>True when the next message is ours to write.</summary>
    public bool IsMyTurn => !IsCompleted && (_step % 2 == 0) == IsInitiator;

    /// <summary>The remote static key, once received (message 2 for the initiator, 3 for the responder).</summary>
    public ReadOnlySpan<byte> RemoteStaticKey => _rs;

    /// <summary>The handshake hash h.</summary>
    public ReadOnlySpan<byte> HandshakeHash => _symmetric.HandshakeHash;

    /// <summary>Size of the message that carries <paramref name="payloadLength"/> payload bytes at the current step.</summary>
    public int GetMessageLength(int payloadLength) => _step switch
    {
        0 => X25519KeyPair.KeyLength + payloadLength,
        1 => X25519KeyPair.KeyLength + X25519KeyPair.KeyLength + CipherState.TagLength + payloadLength + CipherState.TagLength,
        2 => X25519KeyPair.KeyLength + CipherState.TagLength + payloadLength + CipherState.TagLength,
        _ => throw new InvalidOperationException("the handshake is complete"),
    };

    /// <summary><c>WriteMessage(payload, message_buffer)</c> for the current step.</summary>
    /// <returns>The number of bytes written to <paramref name="message"/>.</returns>
    public int WriteMessage(ReadOnlySpan<byte> payload, Span<byte> message)
    {
        if (!IsMyTurn)
        {
            throw new InvalidOperationException("not this side's turn to write a handshake message");
        }

        var written = 0;
        Span<byte> dh = stackalloc byte[X25519KeyPair.KeyLength];
        switch (_step)
        {
            case 0: // -> e
                written += WriteEphemeral(message);
                break;
            case 1: // <- e, ee, s, es
                written += WriteEphemeral(message);
                MixDh(_e, _re!, dh);
                written += _symmetric.EncryptAndHash(_s.PublicKey, message[written..]);
                MixDh(_s, _re!, dh);
                break;
            case 2: // -> s, se
                written += _symmetric.EncryptAndHash(_s.PublicKey, message);
                MixDh(_s, _re!, dh);
                break;
        }

        written += _symmetric.EncryptAndHash(payload, message[written..]);
        _step++;
        return written;
    }

    /// <summary><c>ReadMessage(message, payload_buffer)</c> for the current step.</summary>
    /// <returns>The decrypted payload.</returns>
    /// <exception cref="HandshakeException">Message too short, bad key, or failed authentication.</exception>
    public byte[] ReadMessage(ReadOnlySpan<byte> message)
    {
        if (IsMyTurn || IsCompleted)
        {
            throw new InvalidOperationException("not this side's turn to read a handshake message");
        }

        var minimum = GetMessageLength(0);
        if (message.Length < minimum)
        {
            throw new HandshakeException($"Noise handshake message {_step + 1} has {message.Length} bytes, fewer than the {minimum} it needs");
        }

        var read = 0;
        Span<byte> dh = stackalloc byte[X25519KeyPair.KeyLength];
        switch (_step)
        {
            case 0: // -> e
                read += ReadEphemeral(message);
                break;
            case 1: // <- e, ee, s, es
                read += ReadEphemeral(message);
                MixDh(_e, _re!, dh);
                _rs = _symmetric.DecryptAndHash(message.Slice(read, X25519KeyPair.KeyLength + CipherState.TagLength));
                read += X25519KeyPair.KeyLength + CipherState.TagLength;
                MixDh(_e, _rs, dh);
                break;
            case 2: // -> s, se
                _rs = _symmetric.DecryptAndHash(message[..(X25519KeyPair.KeyLength + CipherState.TagLength)]);
                read += X25519KeyPair.KeyLength + CipherState.TagLength;
                MixDh(_e, _rs, dh);
                break;
        }

        var payload = _symmetric.DecryptAndHash(message[read..]);
        _step++;
        return payload;
    }

    /// <summary>
    /// <c>Split()</c> after message 3, oriented for this side: the initiator sends with c1 and
    /// receives with c2, the responder the other way round (libp2p-wire §5.3).
    /// </summary>
    public (CipherState Send, CipherState Receive) Split()
    {
        if (!IsCompleted)
        {
            throw new InvalidOperationException("the handshake is not complete");
        }

        var (c1, c2) = _symmetric.Split();
        return IsInitiator ? (c1, c2) : (c2, c1);
    }

    public void Dispose() => _symmetric.Dispose();

    private int WriteEphemeral(Span<byte> message)
    {
        _e.PublicKey.CopyTo(message);
        _symmetric.MixHash(_e.PublicKey);
        return X25519KeyPair.KeyLength;
    }

    private int ReadEphemeral(ReadOnlySpan<byte> message)
    {
        _re = message[..X25519KeyPair.KeyLength].ToArray();
        _symmetric.MixHash(_re);
        return X25519KeyPair.KeyLength;
    }

    private void MixDh(X25519KeyPair local, ReadOnlySpan<byte> remote, Span<byte> dh)
    {
        local.Agree(remote, dh);
        _symmetric.MixKey(dh);
        CryptographicOperations.ZeroMemory(dh);
    }
}
