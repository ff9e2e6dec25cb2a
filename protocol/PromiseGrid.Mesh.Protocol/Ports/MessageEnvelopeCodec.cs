using System.Buffers;
using MessagePack;
using PromiseGrid.Mesh.Identity;

namespace PromiseGrid.Mesh.Ports;

/// <summary>
/// MessagePack encoding of <see cref="MessageEnvelope"/> (architecture.md "Messages"). Layout,
/// an array of 11: <c>[dest, destType, reply|nil, replyType, msgId, protocolId(bin), flags,
/// payload(bin), [ [portRef|nil, type] … ], [ bin … ], [senderPeer(bin)|nil, task, seq, time]]</c>,
/// a port reference being <c>[peerId(bin), portId(bin 16)]</c>. Decoding treats the input as
/// untrusted (<see cref="MessagePackSecurity.UntrustedData"/> depth accounting) and enforces
/// <see cref="MessageCodecOptions"/>; byte fields are slices of the input, not copies.
/// </summary>
public static class MessageEnvelopeCodec
{
    private const int EnvelopeFields = 11;

    /// <summary>Encodes to a new array.</summary>
    public static byte[] Encode(MessageEnvelope envelope)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + envelope.Payload.Length);
        Encode(envelope, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Encodes into <paramref name="output"/>.</summary>
    public static void Encode(MessageEnvelope envelope, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        var w = new MessagePackWriter(output);
        w.WriteArrayHeader(EnvelopeFields);
        WritePortRef(ref w, envelope.Destination);
        w.Write((byte)envelope.DestinationType);
        WritePortRef(ref w, envelope.Reply);
        w.Write((byte)envelope.ReplyType);
        w.Write(envelope.MessageId);
        w.Write(envelope.ProtocolId.Span);
        w.Write((uint)envelope.Flags);
        w.Write(envelope.Payload.Span);
        w.WriteArrayHeader(envelope.Ports.Count);
        foreach (var p in envelope.Ports)
        {
            w.WriteArrayHeader(2);
            WritePortRef(ref w, p.Port);
            w.Write((byte)p.Type);
        }

        w.WriteArrayHeader(envelope.OutOfLine.Count);
        foreach (var region in envelope.OutOfLine)
        {
            w.Write(region.Span);
        }

        var t = envelope.Trailer;
        w.WriteArrayHeader(4);
        if (t.SenderNode is null)
        {
            w.WriteNil();
        }
        else
        {
            w.Write(t.SenderNode.Bytes);
        }

        w.Write(t.SenderTask);
        w.Write(t.Sequence);
        w.Write(t.TimestampUnixMilliseconds);
        w.Flush();
    }

    /// <summary>Decodes one envelope that fills <paramref name="bytes"/> exactly.</summary>
    /// <exception cref="MessageTooLargeException">The input is larger than <see cref="MessageCodecOptions.MaxEncodedSize"/>.</exception>
    /// <exception cref="InvalidFormatException">Malformed, too deep, trailing bytes, or a field breaks a limit.</exception>
    public static MessageEnvelope Decode(ReadOnlyMemory<byte> bytes, MessageCodecOptions? options = null)
    {
        options ??= MessageCodecOptions.Default;
        if (bytes.Length > options.MaxEncodedSize)
        {
            throw new MessageTooLargeException("encoded envelope", bytes.Length, options.MaxEncodedSize);
        }

        var security = MessagePackSecurity.UntrustedData.WithMaximumObjectGraphDepth(options.MaxDepth);
        var r = new MessagePackReader(bytes);
        try
        {
            var envelope = ReadEnvelope(ref r, security, options);
            if (!r.End)
            {
                throw new InvalidFormatException("trailing bytes after the message envelope");
            }

            return envelope;
        }
        catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException or InsufficientExecutionStackException or OverflowException or ArgumentException)
        {
            throw new InvalidFormatException("malformed message envelope: " + e.Message, e);
        }
    }

    private static MessageEnvelope ReadEnvelope(ref MessagePackReader r, MessagePackSecurity security, MessageCodecOptions options)
    {
        security.DepthStep(ref r);
        ExpectArray(ref r, EnvelopeFields, "envelope");
        var destination = ReadPortRef(ref r, security) ?? throw new InvalidFormatException("envelope without a destination");
        var destinationType = ReadType(ref r);
        var reply = ReadPortRef(ref r, security);
        var replyType = ReadType(ref r);
        var messageId = r.ReadInt32();
        var protocolId = ReadBytes(ref r);
        if (protocolId.Length > options.MaxProtocolIdLength)
        {
            throw new InvalidFormatException($"protocol id of {protocolId.Length} bytes exceeds {options.MaxProtocolIdLength}");
        }

        var flags = (MessageFlags)r.ReadUInt32();
        var payload = ReadBytes(ref r);

        security.DepthStep(ref r);
        var portCount = r.ReadArrayHeader();
        if (portCount > options.MaxPorts)
        {
            throw new InvalidFormatException($"{portCount} port descriptors exceed {options.MaxPorts}");
        }

        var ports = new PortDescriptorEnvelope[portCount];
        for (var i = 0; i < portCount; i++)
        {
            security.DepthStep(ref r);
            ExpectArray(ref r, 2, "port descriptor");
            ports[i] = new PortDescriptorEnvelope(ReadPortRef(ref r, security), ReadType(ref r));
            r.Depth--;
        }

        r.Depth--;

        security.DepthStep(ref r);
        var oolCount = r.ReadArrayHeader();
        if (oolCount > options.MaxOutOfLine)
        {
            throw new InvalidFormatException($"{oolCount} out-of-line regions exceed {options.MaxOutOfLine}");
        }

        var ool = new ReadOnlyMemory<byte>[oolCount];
        for (var i = 0; i < oolCount; i++)
        {
            ool[i] = ReadBytes(ref r);
        }

        r.Depth--;

        security.DepthStep(ref r);
        ExpectArray(ref r, 4, "trailer");
        PeerId? sender = null;
        if (!r.TryReadNil())
        {
            sender = PeerId.FromBytes(ReadBytes(ref r).Span);
        }

        var trailer = new TrailerEnvelope(sender, r.ReadUInt64(), r.ReadUInt64(), r.ReadInt64());
        r.Depth--;
        r.Depth--;

        return new MessageEnvelope
        {
            Destination = destination,
            DestinationType = destinationType,
            Reply = reply,
            ReplyType = replyType,
            MessageId = messageId,
            ProtocolId = protocolId,
            Flags = flags,
            Payload = payload,
            Ports = ports,
            OutOfLine = ool,
            Trailer = trailer,
        };
    }

    private static void WritePortRef(ref MessagePackWriter w, PortRef? port)
    {
        if (port is null)
        {
            w.WriteNil();
            return;
        }

        w.WriteArrayHeader(2);
        w.Write(port.Home.Bytes);
        w.WriteBinHeader(PortId.Size);
        var id = w.GetSpan(PortId.Size);
        port.Id.Write(id);
        w.Advance(PortId.Size);
    }

    private static PortRef? ReadPortRef(ref MessagePackReader r, MessagePackSecurity security)
    {
        if (r.TryReadNil())
        {
            return null;
        }

        security.DepthStep(ref r);
        ExpectArray(ref r, 2, "port reference");
        var peer = PeerId.FromBytes(ReadBytes(ref r).Span);
        var id = PortId.Read(ReadBytes(ref r).Span);
        r.Depth--;
        return new PortRef(peer, id);
    }

    private static PortDisposition ReadType(ref MessagePackReader r)
    {
        var value = r.ReadByte();
        if (value != 0 && (value < (byte)PortDisposition.MoveReceive || value > (byte)PortDisposition.MakeSendOnce))
        {
            throw new InvalidFormatException($"unknown port disposition {value}");
        }

        return (PortDisposition)value;
    }

    private static ReadOnlyMemory<byte> ReadBytes(ref MessagePackReader r)
    {
        var sequence = r.ReadBytes() ?? throw new InvalidFormatException("expected bytes, found nil");
        return sequence.IsSingleSegment ? sequence.First : sequence.ToArray();
    }

    private static void ExpectArray(ref MessagePackReader r, int count, string what)
    {
        var actual = r.ReadArrayHeader();
        if (actual != count)
        {
            throw new InvalidFormatException($"{what} has {actual} fields, expected {count}");
        }
    }
}
