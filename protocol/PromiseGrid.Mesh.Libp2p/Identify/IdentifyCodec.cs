using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Identify;

/// <summary>
/// Hand-written protobuf codec of the <c>Identify</c> message (libp2p-wire.md §7). Fields are
/// written in field-number order; unknown fields are skipped when reading.
/// </summary>
internal static class IdentifyCodec
{
    public const int FieldPublicKey = 1;
    public const int FieldListenAddrs = 2;
    public const int FieldProtocols = 3;
    public const int FieldObservedAddr = 4;
    public const int FieldProtocolVersion = 5;
    public const int FieldAgentVersion = 6;
    public const int FieldSignedPeerRecord = 8;

    public static byte[] Encode(IdentifyInfo info)
    {
        var writer = new ProtobufWriter();
        if (info.PublicKey is not null)
        {
            writer.WriteBytesField(FieldPublicKey, info.PublicKey.Encode());
        }

        foreach (var address in info.ListenAddrs)
        {
            writer.WriteBytesField(FieldListenAddrs, address.ToByteArray());
        }

        foreach (var protocol in info.Protocols)
        {
            writer.WriteStringField(FieldProtocols, protocol);
        }

        if (info.ObservedAddr is not null)
        {
            writer.WriteBytesField(FieldObservedAddr, info.ObservedAddr.ToByteArray());
        }

        if (info.ProtocolVersion is not null)
        {
            writer.WriteStringField(FieldProtocolVersion, info.ProtocolVersion);
        }

        if (info.AgentVersion is not null)
        {
            writer.WriteStringField(FieldAgentVersion, info.AgentVersion);
        }

        if (info.SignedPeerRecord is { } record)
        {
            writer.WriteBytesField(FieldSignedPeerRecord, record.Span);
        }

        return writer.ToArray();
    }

    /// <summary>
    /// Decodes one message and merges it into <paramref name="previous"/> the protobuf way:
    /// scalars present here replace, repeated fields append.
    /// </summary>
    /// <exception cref="InvalidFormatException">Malformed protobuf, public key or observed address.</exception>
    public static IdentifyInfo Decode(ReadOnlySpan<byte> message, IdentifyInfo? previous = null)
    {
        var info = previous ?? new IdentifyInfo();
        var listenAddrs = new List<Multiaddr>(info.ListenAddrs);
        var protocols = new List<string>(info.Protocols);
        var reader = new ProtobufReader(message);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (wireType != ProtobufReader.WireLengthDelimited || field is not (FieldPublicKey or FieldListenAddrs or FieldProtocols or FieldObservedAddr or FieldProtocolVersion or FieldAgentVersion or FieldSignedPeerRecord))
            {
                reader.Skip(wireType);
                continue;
            }

            switch (field)
            {
                case FieldPublicKey:
                    info = info with { PublicKey = PeerPublicKey.Decode(reader.ReadBytes()) };
                    break;
                case FieldListenAddrs:
                    var bytes = reader.ReadBytes();
                    try
                    {
                        listenAddrs.Add(Multiaddr.Decode(bytes));
                    }
                    catch (InvalidFormatException)
                    {
                        // An address with a protocol we do not know; others may still be usable.
                    }

                    break;
                case FieldProtocols:
                    protocols.Add(reader.ReadString());
                    break;
                case FieldObservedAddr:
                    var observed = reader.ReadBytes();
                    try
                    {
                        info = info with { ObservedAddr = Multiaddr.Decode(observed) };
                    }
                    catch (InvalidFormatException)
                    {
                        // Informational only.
                    }

                    break;
                case FieldProtocolVersion:
                    info = info with { ProtocolVersion = reader.ReadString() };
                    break;
                case FieldAgentVersion:
                    info = info with { AgentVersion = reader.ReadString() };
                    break;
                default:
                    info = info with { SignedPeerRecord = reader.ReadBytes().ToArray() };
                    break;
            }
        }

        return info with { ListenAddrs = listenAddrs, Protocols = protocols };
    }
}
