using System.Buffers;
using System.IO.Pipelines;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Noise;

namespace PromiseGrid.Mesh.Libp2p.Tests.Noise;

/// <summary>
/// A hand-driven Noise peer over a raw pipe, built from the framework objects, so tests can send
/// exactly the (possibly malformed) bytes they want at any step.
/// </summary>
internal sealed class RawNoisePeer : IDisposable
{
    private readonly IDuplexPipe _pipe;
    private readonly X25519KeyPair _static = X25519KeyPair.Generate();
    private readonly X25519KeyPair _ephemeral = X25519KeyPair.Generate();
    private readonly HandshakeState _state;

    public RawNoisePeer(IDuplexPipe pipe, bool initiator, IdentityKeyPair identity)
    {
        _pipe = pipe;
        Identity = identity;
        _state = new HandshakeState(initiator, [], _static, _ephemeral);
    }

    public IdentityKeyPair Identity { get; }

    public CipherState? Send { get; private set; }

    public CipherState? Receive { get; private set; }

    /// <summary>A valid payload: our identity key signing our static key.</summary>
    public byte[] ValidPayload() => NoisePayloadCodec.Encode(
        Identity.PublicKey.Encode(), Identity.Sign(NoisePayloadCodec.GetSignedMessage(_static.PublicKey)));

    /// <summary>A payload whose signature is made by <paramref name="signer"/> instead of the claimed identity.</summary>
    public byte[] PayloadSignedBy(IdentityKeyPair signer) => NoisePayloadCodec.Encode(
        Identity.PublicKey.Encode(), signer.Sign(NoisePayloadCodec.GetSignedMessage(_static.PublicKey)));

    /// <summary>Writes the next handshake message (framed) without flushing.</summary>
    public void WriteHandshake(ReadOnlySpan<byte> payload)
    {
        var message = new byte[_state.GetMessageLength(payload.Length)];
        var written = _state.WriteMessage(payload, message);
        WriteFrame(message.AsSpan(0, written));
        SplitIfDone();
    }

    /// <summary>Reads the next handshake message and returns its payload.</summary>
    public async Task<byte[]> ReadHandshakeAsync()
    {
        var payload = _state.ReadMessage(await ReadFrameAsync());
        SplitIfDone();
        return payload;
    }

    /// <summary>Encrypts <paramref name="plaintext"/> as one transport frame, without flushing.</summary>
    public byte[] EncryptFrame(ReadOnlySpan<byte> plaintext)
    {
        var message = new byte[plaintext.Length + CipherState.TagLength];
        Send!.EncryptWithAd([], plaintext, message);
        return message;
    }

    public void WriteFrame(ReadOnlySpan<byte> message)
    {
        var span = _pipe.Output.GetSpan(message.Length + 2);
        NoiseFrameCodec.WriteLengthPrefix(span, message.Length);
        message.CopyTo(span[2..]);
        _pipe.Output.Advance(message.Length + 2);
    }

    public void WriteRaw(ReadOnlySpan<byte> bytes) => _pipe.Output.Write(bytes);

    public ValueTask<FlushResult> FlushAsync() => _pipe.Output.FlushAsync();

    public async Task<byte[]> ReadFrameAsync()
    {
        while (true)
        {
            var result = await _pipe.Input.ReadAsync();
            var buffer = result.Buffer;
            if (NoiseFrameCodec.TryReadFrame(ref buffer, out var message))
            {
                var bytes = message.ToArray();
                _pipe.Input.AdvanceTo(buffer.Start);
                return bytes;
            }

            _pipe.Input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new EndOfStreamException();
            }
        }
    }

    /// <summary>Reads and decrypts one transport frame.</summary>
    public async Task<byte[]> ReadTransportAsync()
    {
        var message = await ReadFrameAsync();
        var plaintext = new byte[message.Length - CipherState.TagLength];
        Assert.Equal(plaintext.Length, Receive!.DecryptWithAd([], message, plaintext));
        return plaintext;
    }

    public void Dispose()
    {
        _state.Dispose();
        Send?.Dispose();
        Receive?.Dispose();
        _static.Dispose();
        _ephemeral.Dispose();
    }

    private void SplitIfDone()
    {
        if (_state.IsCompleted && Send is null)
        {
            (Send, Receive) = _state.Split();
        }
    }
}
