namespace PromiseGrid.Mesh.Identity;

/// <summary>
/// The deterministic encoding of the libp2p <c>PublicKey</c>/<c>PrivateKey</c> protobufs
/// (peer-ids spec §2.2): <c>08 &lt;type&gt; 12 &lt;len&gt; &lt;data&gt;</c>, both fields always present, minimal varints.
/// Hand-written because a proto3 encoder would drop <c>Type = 0</c> (RSA).
/// </summary>
internal static class KeyProtobuf
{
    /// <summary>Refuse key messages longer than this (a 8192-bit RSA key fits easily).</summary>
    public const int MaxKeyMessageLength = 4096;

    public static byte[] Encode(KeyType type, ReadOnlySpan<byte> data)
    {
        var w = new ProtobufWriter();
        w.WriteVarintField(1, (ulong)type);
        w.WriteBytesField(2, data);
        return w.ToArray();
    }

    /// <exception cref="InvalidFormatException">Missing fields, unknown key type, trailing garbage.</exception>
    public static (KeyType Type, byte[] Data) Decode(ReadOnlySpan<byte> message)
    {
        if (message.Length > MaxKeyMessageLength)
        {
            throw new InvalidFormatException($"key message of {message.Length} bytes is longer than {MaxKeyMessageLength}");
        }

        KeyType? type = null;
        byte[]? data = null;
        var reader = new ProtobufReader(message);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch (field, wireType)
            {
                case (1, ProtobufReader.WireVarint):
                    var t = reader.ReadVarint();
                    if (t > 3)
                    {
                        throw new InvalidFormatException($"unknown key type {t}");
                    }

                    type = (KeyType)t;
                    break;
                case (2, ProtobufReader.WireLengthDelimited):
                    data = reader.ReadBytes().ToArray();
                    break;
                default:
                    reader.Skip(wireType);
                    break;
            }
        }

        if (type is null || data is null)
        {
            throw new InvalidFormatException("key message lacks its type or data");
        }

        return (type.Value, data);
    }
}
