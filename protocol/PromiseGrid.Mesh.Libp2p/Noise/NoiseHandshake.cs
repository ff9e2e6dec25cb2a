using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using PromiseGrid.Mesh.Identity;

namespace PromiseGrid.Mesh.Noise;

/// <summary>The outcome of a Noise handshake: the transport cipher states and the authenticated remote.</summary>
internal sealed record NoiseHandshakeResult(CipherState Send, CipherState Receive, PeerPublicKey RemoteKey, PeerId RemotePeer);

/// <summary>
/// Drives the libp2p Noise XX handshake (libp2p-wire §5.3–5.4) over a duplex pipe: frames the
/// three messages, signs and checks the identity payloads. Reads exactly the three handshake
/// frames, so bytes pipelined after message 3 stay in the pipe for the secure channel.
/// Sends no extensions (the muxer is negotiated by multistream-select afterwards, §5.5) and
/// ignores any the remote sends.
/// </summary>
internal static class NoiseHandshake
{
    /// <summary>Prologue for TCP (libp2p-wire §5.1).</summary>
    public static ReadOnlySpan<byte> Prologue => [];

    /// <exception cref="HandshakeException">Bad message, bad payload, bad signature, or EOF.</exception>
    /// <exception cref="PeerIdMismatchException">The responder is not <paramref name="expectedRemote"/>.</exception>
    public static async ValueTask<NoiseHandshakeResult> RunAsync(
        IDuplexPipe pipe, IdentityKeyPair identity, bool initiator, PeerId? expectedRemote, CancellationToken cancellationToken)
    {
        using var staticKey = X25519KeyPair.Generate();
        using var ephemeralKey = X25519KeyPair.Generate();
        using var state = new HandshakeState(initiator, Prologue, staticKey, ephemeralKey);
        var payload = NoisePayloadCodec.Encode(
            identity.PublicKey.Encode(), identity.Sign(NoisePayloadCodec.GetSignedMessage(staticKey.PublicKey)));

        PeerPublicKey remoteKey;
        if (initiator)
        {
            await WriteMessageAsync(pipe.Output, state, [], cancellationToken).ConfigureAwait(false);
            var remotePayload = await ReadMessageAsync(pipe.Input, state, cancellationToken).ConfigureAwait(false);
            remoteKey = Authenticate(state, remotePayload, expectedRemote);
            await WriteMessageAsync(pipe.Output, state, payload, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // Message 1 carries an empty payload in libp2p; anything there is ignored (§5.4).
            await ReadMessageAsync(pipe.Input, state, cancellationToken).ConfigureAwait(false);
            await WriteMessageAsync(pipe.Output, state, payload, cancellationToken).ConfigureAwait(false);
            var remotePayload = await ReadMessageAsync(pipe.Input, state, cancellationToken).ConfigureAwait(false);
            remoteKey = Authenticate(state, remotePayload, null);
        }

        var (send, receive) = state.Split();
        return new NoiseHandshakeResult(send, receive, remoteKey, remoteKey.ToPeerId());
    }

    /// <summary>
    /// Checks a received payload: decodes the identity key, verifies its signature over the
    /// remote static key just received, and compares the derived peer id with the expected one.
    /// </summary>
    internal static PeerPublicKey Authenticate(HandshakeState state, ReadOnlySpan<byte> payload, PeerId? expectedRemote)
    {
        NoiseHandshakePayload decoded;
        PeerPublicKey key;
        try
        {
            decoded = NoisePayloadCodec.Decode(payload);
            key = PeerPublicKey.Decode(decoded.IdentityKey);
        }
        catch (InvalidFormatException e)
        {
            throw new HandshakeException("malformed Noise handshake payload", e);
        }

        bool valid;
        try
        {
            valid = key.Verify(NoisePayloadCodec.GetSignedMessage(state.RemoteStaticKey), decoded.IdentitySignature);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or CryptographicException)
        {
            valid = false;
        }

        if (!valid)
        {
            throw new HandshakeException("the remote's identity signature over its Noise static key does not verify");
        }

        var peer = key.ToPeerId();
        if (expectedRemote is not null && peer != expectedRemote)
        {
            throw new PeerIdMismatchException(expectedRemote.ToString(), peer.ToString());
        }

        return key;
    }

    private static async ValueTask WriteMessageAsync(PipeWriter output, HandshakeState state, byte[] payload, CancellationToken cancellationToken)
    {
        WriteFrame(output, state, payload);
        var flush = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (flush.IsCompleted)
        {
            throw new HandshakeException("connection closed during the Noise handshake", new ConnectionClosedException("the transport stopped accepting data", isRemote: true));
        }
    }

    private static void WriteFrame(PipeWriter output, HandshakeState state, ReadOnlySpan<byte> payload)
    {
        var length = state.GetMessageLength(payload.Length);
        var frame = output.GetSpan(NoiseFrameCodec.LengthPrefixSize + length);
        NoiseFrameCodec.WriteLengthPrefix(frame, length);
        var written = state.WriteMessage(payload, frame.Slice(NoiseFrameCodec.LengthPrefixSize, length));
        output.Advance(NoiseFrameCodec.LengthPrefixSize + written);
    }

    private static async ValueTask<byte[]> ReadMessageAsync(PipeReader input, HandshakeState state, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (NoiseFrameCodec.TryReadFrame(ref buffer, out var message))
            {
                var bytes = message.ToArray();
                input.AdvanceTo(buffer.Start);
                return state.ReadMessage(bytes);
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                throw new HandshakeException("connection closed during the Noise handshake", new ConnectionClosedException("the remote closed the connection", isRemote: true));
            }
        }
    }
}
