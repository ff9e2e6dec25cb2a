using System.Text;
using PromiseGrid.Mesh.Identity;

namespace PromiseGrid.Mesh.Noise;

/// <summary>The decoded libp2p <c>NoiseHandshakePayload</c> (libp2p-wire §5.4).</summary>
/// <param name="IdentityKey">The serialized <c>PublicKey</c> protobuf of the sender's identity.</param>
/// <param name="IdentitySignature">The identity key's signature over the static-key message.</param>
/// <param name="StreamMuxers">The <c>stream_muxers</c> extension, empty when absent (read but never acted on).</param>
internal sealed record NoiseHandshakePayload(byte[] IdentityKey, byte[] IdentitySignature, IReadOnlyList<string> StreamMuxers);

/// <summary>
/// Codec of the libp2p <c>NoiseHandshakePayload</c> protobuf (libp2p-wire §5.4) and of the
/// static-key message its signature covers. Unknown fields and extensions are skipped.
/// </summary>
internal static class NoisePayloadCodec
{
    /// <summary>Prefix of the signed message: <c>"noise-libp2p-static-key:" || static public key</c>.</summary>
    public const string SignaturePrefix = "noise-libp2p-static-key:";

    /// <summary>Refuse payloads larger than a handshake message can carry.</summary>
    public const int MaxPayloadLength = NoiseFrameCodec.MaxMessageLength;

    private const int FieldIdentityKey = 1;
    private const int FieldIdentitySig = 2;
    private const int FieldExtensions = 4;
    private const int FieldExtStreamMuxers = 2;

    /// <summary>The 56-byte message the identity key signs.</summary>
    public static byte[] GetSignedMessage(ReadOnlySpan<byte> staticPublicKey)
    {
        var prefix = Encoding.ASCII.GetBytes(SignaturePrefix);
        var message = new byte[prefix.Length + staticPublicKey.Length];
        prefix.CopyTo(message, 0);
        staticPublicKey.CopyTo(message.AsSpan(prefix.Length));
        return message;
    }

    /// <summary>Encodes a payload; <paramref name="streamMuxers"/> only for tests (this stack never sends it, §5.5).</summary>
    public static byte[] Encode(ReadOnlySpan<byte> identityKey, ReadOnlySpan<byte> identitySignature, IReadOnlyList<string>? streamMuxers = null)
    {
        var writer = new ProtobufWriter();
        writer.WriteBytesField(FieldIdentityKey, identityKey);
        writer.WriteBytesField(FieldIdentitySig, identitySignature);
        if (streamMuxers is { Count: > 0 })
        {
            var extensions = new ProtobufWriter();
            foreach (var muxer in streamMuxers)
            {
                extensions.WriteStringField(FieldExtStreamMuxers, muxer);
            }

            writer.WriteBytesField(FieldExtensions, extensions.WrittenSpan);
        }

        return writer.ToArray();
    }

    /// <summary>Decodes a payload.</summary>
    /// <exception cref="InvalidFormatException">Malformed protobuf, or identity key or signature missing.</exception>
    public static NoiseHandshakePayload Decode(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxPayloadLength)
        {
            throw new InvalidFormatException($"Noise handshake payload of {payload.Length} bytes is too long");
        }

        byte[]? key = null;
        byte[]? signature = null;
        var muxers = new List<string>();
        var reader = new ProtobufReader(payload);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch (field)
            {
                case FieldIdentityKey:
                    RequireLengthDelimited(wireType, "identity_key");
                    key = reader.ReadBytes().ToArray();
                    break;
                case FieldIdentitySig:
                    RequireLengthDelimited(wireType, "identity_sig");
                    signature = reader.ReadBytes().ToArray();
                    break;
                case FieldExtensions:
                    RequireLengthDelimited(wireType, "extensions");
                    DecodeExtensions(reader.ReadBytes(), muxers);
                    break;
                default:
                    reader.Skip(wireType);
                    break;
            }
        }

        if (key is null || signature is null)
        {
            throw new InvalidFormatException("Noise handshake payload lacks identity_key or identity_sig");
        }

        return new NoiseHandshakePayload(key, signature, muxers);
    }

    private static void DecodeExtensions(ReadOnlySpan<byte> extensions, List<string> muxers)
    {
        var reader = new ProtobufReader(extensions);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field == FieldExtStreamMuxers && wireType == ProtobufReader.WireLengthDelimited)
            {
                muxers.Add(reader.ReadString());
            }
            else
            {
                reader.Skip(wireType);
            }
        }
    }

    private static void RequireLengthDelimited(int wireType, string name)
    {
        if (wireType != ProtobufReader.WireLengthDelimited)
        {
            throw new InvalidFormatException($"Noise handshake payload field {name} has wire type {wireType}, not length-delimited");
        }
    }
}
