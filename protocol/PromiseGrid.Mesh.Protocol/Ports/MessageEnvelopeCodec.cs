using System.Buffers;
using MessagePack;
using PromiseGrid.Mesh.Identity;

namespace PromiseGrid.Mesh.Ports;

/// <summary>
/// MessagePack encoding of <see cref="MessageEnvelope"/> (architecture.md "Messages"). Layout,
/// an array of 11: <c>[dest, destType, reply|nil, replyType, msgId, protocolId(bin), flags,
/// payload(bin), [ [portRef|nil, type] … ], [ bin … ], [senderPeer(bin)|nil, task, seq, time]]</c>,
/// a port reference being <c>[peerId(bin), portId(bin 16)]</c>; an envelope that moves receive
/// rights has a 12th element, <c>[ [slot, seqno, qlimit, mscount, send, sendOnce, hops,
/// noSendersNotify|nil, noSendersSync, portDestroyedNotify|nil] … ]</c>
/// (<see cref="ReceiveRightEnvelope"/>), and only such an envelope has it. Decoding treats the input as
/// untrusted (<see cref="MessagePackSecurity.UntrustedData"/> depth accounting) and enforces
/// <see cref="MessageCodecOptions"/>; byte fields are slices of the input, not copies.
/// </summary>
public static class MessageEnvelopeCodec
{
    private const int EnvelopeFields = 11;

    /// <summary>Fields of an envelope that moves receive rights (the 12th lists them).</summary>
    private const int EnvelopeFieldsWithReceiveRights = 12;

    private const int ReceiveRightFields = 10;

    private static readonly MessagePackSecurity DefaultSecurity = MessagePackSecurity.UntrustedData.WithMaximumObjectGraphDepth(MessageCodecOptions.Default.MaxDepth);

    /// <summary>Encodes to a new array.</summary>
    public static byte[] Encode(in MessageEnvelope envelope)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + envelope.Payload.Length);
        Encode(envelope, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Encodes into <paramref name="output"/>.</summary>
    public static void Encode(in MessageEnvelope envelope, IBufferWriter<byte> output)
    {
        var w = new MessagePackWriter(output);
        ReadOnlySpan<PortDescriptorEnvelope> ports = envelope.Ports is PortDescriptorEnvelope[] array ? array : [.. envelope.Ports];
        ReadOnlySpan<ReadOnlyMemory<byte>> regions = envelope.OutOfLine is ReadOnlyMemory<byte>[] ool ? ool : [.. envelope.OutOfLine];
        Write(
            ref w, envelope.Destination, envelope.DestinationType, envelope.Reply, envelope.ReplyType, envelope.MessageId,
            envelope.ProtocolId.Span, envelope.Flags, envelope.Payload.Span, ports, regions, envelope.Trailer,
            envelope.ReceiveRights is ReceiveRightEnvelope[] moved ? moved : [.. envelope.ReceiveRights]);
        w.Flush();
    }

    /// <summary>
    /// Writes an envelope from its parts, as <see cref="Encode(in MessageEnvelope, IBufferWriter{byte})"/>
    /// would write the <see cref="MessageEnvelope"/> holding them: for a sender that has the parts
    /// at hand and no reason to build the object. <paramref name="receiveRights"/> empty writes
    /// the 11-field envelope of protocol version 1.
    /// </summary>
    public static void Write(
        ref MessagePackWriter w,
        PortRef destination,
        PortDisposition destinationType,
        PortRef? reply,
        PortDisposition replyType,
        int messageId,
        ReadOnlySpan<byte> protocolId,
        MessageFlags flags,
        ReadOnlySpan<byte> payload,
        ReadOnlySpan<PortDescriptorEnvelope> ports,
        ReadOnlySpan<ReadOnlyMemory<byte>> outOfLine,
        in TrailerEnvelope trailer,
        ReadOnlySpan<ReceiveRightEnvelope> receiveRights = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        w.WriteArrayHeader(receiveRights.IsEmpty ? EnvelopeFields : EnvelopeFieldsWithReceiveRights);
        WritePortRef(ref w, destination);
        w.Write((byte)destinationType);
        WritePortRef(ref w, reply);
        w.Write((byte)replyType);
        w.Write(messageId);
        w.Write(protocolId);
        w.Write((uint)flags);
        w.Write(payload);
        w.WriteArrayHeader(ports.Length);
        foreach (var p in ports)
        {
            w.WriteArrayHeader(2);
            WritePortRef(ref w, p.Port);
            w.Write((byte)p.Type);
        }

        w.WriteArrayHeader(outOfLine.Length);
        foreach (var region in outOfLine)
        {
            w.Write(region.Span);
        }

        w.WriteArrayHeader(4);
        if (trailer.SenderNode is null)
        {
            w.WriteNil();
        }
        else
        {
            w.Write(trailer.SenderNode.Bytes);
        }

        w.Write(trailer.SenderTask);
        w.Write(trailer.Sequence);
        w.Write(trailer.TimestampUnixMilliseconds);
        if (receiveRights.IsEmpty)
        {
            return;
        }

        w.WriteArrayHeader(receiveRights.Length);
        foreach (var moved in receiveRights)
        {
            w.WriteArrayHeader(ReceiveRightFields);
            w.Write(moved.Slot);
            w.Write(moved.Sequence);
            w.Write(moved.QueueLimit);
            w.Write(moved.MakeSendCount);
            w.Write(moved.SenderSend);
            w.Write(moved.SenderSendOnce);
            w.Write(moved.Hops);
            WritePortRef(ref w, moved.NoSendersNotify);
            w.Write(moved.NoSendersSync);
            WritePortRef(ref w, moved.PortDestroyedNotify);
        }
    }

    /// <summary>Decodes one envelope that fills <paramref name="bytes"/> exactly.</summary>
    /// <exception cref="MessageTooLargeException">The input is larger than <see cref="MessageCodecOptions.MaxEncodedSize"/>.</exception>
    /// <exception cref="InvalidFormatException">Malformed, too deep, trailing bytes, or a field breaks a limit.</exception>
    public static MessageEnvelope Decode(ReadOnlyMemory<byte> bytes, MessageCodecOptions? options = null)
    {
        var r = new MessagePackReader(bytes);
        return DecodeWhole(ref r, bytes.Length, options, copy: false);
    }

    /// <summary>
    /// Decodes one envelope that fills <paramref name="bytes"/> exactly, copying its byte fields
    /// (payload, protocol id, out-of-line regions) so the result does not refer to
    /// <paramref name="bytes"/>, which may be a pipe's buffer.
    /// </summary>
    /// <exception cref="MessageTooLargeException">The input is larger than <see cref="MessageCodecOptions.MaxEncodedSize"/>.</exception>
    /// <exception cref="InvalidFormatException">Malformed, too deep, trailing bytes, or a field breaks a limit.</exception>
    public static MessageEnvelope DecodeCopy(in ReadOnlySequence<byte> bytes, MessageCodecOptions? options = null)
    {
        var r = new MessagePackReader(bytes);
        return DecodeWhole(ref r, bytes.Length, options, copy: true);
    }

    /// <summary>Reads the one envelope that <paramref name="r"/> holds (<paramref name="length"/> bytes), with the limits of <paramref name="options"/>.</summary>
    private static MessageEnvelope DecodeWhole(ref MessagePackReader r, long length, MessageCodecOptions? options, bool copy)
    {
        options ??= MessageCodecOptions.Default;
        if (length > options.MaxEncodedSize)
        {
            throw new MessageTooLargeException("encoded envelope", length, options.MaxEncodedSize);
        }

        var security = options == MessageCodecOptions.Default ? DefaultSecurity : MessagePackSecurity.UntrustedData.WithMaximumObjectGraphDepth(options.MaxDepth);
        try
        {
            var envelope = ReadEnvelope(ref r, security, options, copy);
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

    /// <summary>
    /// Reads an envelope of the usual shape (bin fields, no port descriptors, no out-of-line
    /// regions) with the default limits from a span, in one pass, copying its byte fields: the
    /// same result as <see cref="DecodeCopy"/>. False for anything else, which
    /// <see cref="DecodeCopy"/> then reads (or refuses).
    /// </summary>
    internal static bool TryReadSimple(ref MessagePackSpanReader r, int encodedLength, out MessageEnvelope envelope)
    {
        envelope = default;
        var options = MessageCodecOptions.Default;
        if (encodedLength > options.MaxEncodedSize
            || !r.TryReadArrayHeader(out var fields) || fields != EnvelopeFields
            || !TryReadSimplePortRef(ref r, out var destination) || destination is null
            || !TryReadSimpleType(ref r, out var destinationType))
        {
            return false;
        }

        PortRef? reply = null;
        if (!r.TryReadNil() && (!TryReadSimplePortRef(ref r, out reply) || reply is null))
        {
            return false;
        }

        if (!TryReadSimpleType(ref r, out var replyType)
            || !r.TryReadInt32(out var messageId)
            || !r.TryReadBinary(out var protocolId) || protocolId.Length > options.MaxProtocolIdLength
            || !r.TryReadUInt32(out var flags)
            || !r.TryReadBinary(out var payload)
            || !r.TryReadArrayHeader(out var ports) || ports != 0
            || !r.TryReadArrayHeader(out var regions) || regions != 0
            || !r.TryReadArrayHeader(out var trailerFields) || trailerFields != 4)
        {
            return false;
        }

        PeerId? sender = null;
        if (!r.TryReadNil() && (!r.TryReadBinary(out var senderBytes) || !TryReadPeer(senderBytes, out sender)))
        {
            return false;
        }

        if (!r.TryReadUInt64(out var senderTask) || !r.TryReadUInt64(out var sequence) || !r.TryReadInt64(out var time))
        {
            return false;
        }

        envelope = new MessageEnvelope
        {
            Destination = destination,
            DestinationType = destinationType,
            Reply = reply,
            ReplyType = replyType,
            MessageId = messageId,
            ProtocolId = protocolId.IsEmpty ? ReadOnlyMemory<byte>.Empty : protocolId.ToArray(),
            Flags = (MessageFlags)flags,
            Payload = payload.IsEmpty ? ReadOnlyMemory<byte>.Empty : payload.ToArray(),
            Trailer = new TrailerEnvelope(sender, senderTask, sequence, time),
        };
        return true;
    }

    private static bool TryReadSimplePortRef(ref MessagePackSpanReader r, out PortRef? reference)
    {
        reference = null;
        if (!r.TryReadArrayHeader(out var fields) || fields != 2
            || !r.TryReadBinary(out var home) || !TryReadPeer(home, out var peer)
            || !r.TryReadBinary(out var id) || id.Length != PortId.Size)
        {
            return false;
        }

        reference = RecentPortRef(peer!, PortId.Read(id));
        return true;
    }

    private static bool TryReadSimpleType(ref MessagePackSpanReader r, out PortDisposition type)
    {
        type = 0;
        if (!r.TryReadByte(out var value) || (value != 0 && (value < (byte)PortDisposition.MoveReceive || value > (byte)PortDisposition.MakeSendOnce)))
        {
            return false;
        }

        type = (PortDisposition)value;
        return true;
    }

    /// <summary>A peer id from its bytes, or false if they are not one (the general decoder then makes the error).</summary>
    private static bool TryReadPeer(ReadOnlySpan<byte> bytes, out PeerId? peer)
    {
        try
        {
            peer = ReadPeer(bytes);
            return true;
        }
        catch (Exception e) when (e is MeshException or ArgumentException or FormatException or OverflowException)
        {
            peer = null;
            return false;
        }
    }

    private static MessageEnvelope ReadEnvelope(ref MessagePackReader r, MessagePackSecurity security, MessageCodecOptions options, bool copy = false)
    {
        security.DepthStep(ref r);
        var fields = r.ReadArrayHeader();
        if (fields is not (EnvelopeFields or EnvelopeFieldsWithReceiveRights))
        {
            throw new InvalidFormatException($"envelope has {fields} fields, expected {EnvelopeFields} or {EnvelopeFieldsWithReceiveRights}");
        }

        var destination = ReadPortRef(ref r, security) ?? throw new InvalidFormatException("envelope without a destination");
        var destinationType = ReadType(ref r);
        var reply = ReadPortRef(ref r, security);
        var replyType = ReadType(ref r);
        var messageId = r.ReadInt32();
        var protocolId = ReadBytes(ref r, copy);
        if (protocolId.Length > options.MaxProtocolIdLength)
        {
            throw new InvalidFormatException($"protocol id of {protocolId.Length} bytes exceeds {options.MaxProtocolIdLength}");
        }

        var flags = (MessageFlags)r.ReadUInt32();
        var payload = ReadBytes(ref r, copy);

        security.DepthStep(ref r);
        var portCount = r.ReadArrayHeader();
        if (portCount > options.MaxPorts)
        {
            throw new InvalidFormatException($"{portCount} port descriptors exceed {options.MaxPorts}");
        }

        var ports = portCount == 0 ? [] : new PortDescriptorEnvelope[portCount];
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

        var ool = oolCount == 0 ? [] : new ReadOnlyMemory<byte>[oolCount];
        for (var i = 0; i < oolCount; i++)
        {
            ool[i] = ReadBytes(ref r, copy);
        }

        r.Depth--;

        security.DepthStep(ref r);
        ExpectArray(ref r, 4, "trailer");
        PeerId? sender = null;
        if (!r.TryReadNil())
        {
            sender = ReadPeer(ReadBytes(ref r).Span);
        }

        var trailer = new TrailerEnvelope(sender, r.ReadUInt64(), r.ReadUInt64(), r.ReadInt64());
        r.Depth--;
        var receiveRights = fields == EnvelopeFieldsWithReceiveRights ? ReadReceiveRights(ref r, security, reply, replyType, ports) : [];
        if (receiveRights.Length == 0 && CountReceiveRights(replyType, ports) > 0)
        {
            throw new InvalidFormatException("a receive right travels without its state");
        }

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
            ReceiveRights = receiveRights,
            Trailer = trailer,
        };
    }

    private static int CountReceiveRights(PortDisposition replyType, PortDescriptorEnvelope[] ports)
    {
        var count = replyType == PortDisposition.PortReceive ? 1 : 0;
        foreach (var d in ports)
        {
            count += d.Type == PortDisposition.PortReceive ? 1 : 0;
        }

        return count;
    }

    /// <summary>
    /// Reads the receive-right list and checks it against the rights it describes: each entry
    /// names the reply (-1) or a descriptor of type <see cref="PortDisposition.PortReceive"/>
    /// with a reference, at most once, and every such right has its entry.
    /// </summary>
    private static ReceiveRightEnvelope[] ReadReceiveRights(ref MessagePackReader r, MessagePackSecurity security, PortRef? reply, PortDisposition replyType, PortDescriptorEnvelope[] ports)
    {
        var expected = CountReceiveRights(replyType, ports);
        security.DepthStep(ref r);
        var count = r.ReadArrayHeader();
        if (count == 0 || count != expected)
        {
            throw new InvalidFormatException($"{count} receive-right entries for {expected} receive rights");
        }

        var moved = new ReceiveRightEnvelope[count];
        for (var i = 0; i < count; i++)
        {
            security.DepthStep(ref r);
            ExpectArray(ref r, ReceiveRightFields, "receive-right entry");
            moved[i] = new ReceiveRightEnvelope(
                r.ReadInt32(), r.ReadUInt64(), r.ReadUInt32(), r.ReadUInt32(), r.ReadUInt32(), r.ReadUInt32(), r.ReadUInt32(),
                ReadPortRef(ref r, security), r.ReadUInt32(), ReadPortRef(ref r, security));
            r.Depth--;
            var slot = moved[i].Slot;
            var (reference, type) = slot == -1 ? (reply, replyType) : slot >= 0 && slot < ports.Length ? (ports[slot].Port, ports[slot].Type) : (null, PortDisposition.None);
            if (type != PortDisposition.PortReceive || reference is null)
            {
                throw new InvalidFormatException($"receive-right entry {i} names slot {slot}, which is not a receive right");
            }

            for (var j = 0; j < i; j++)
            {
                if (moved[j].Slot == slot)
                {
                    throw new InvalidFormatException($"two receive-right entries for slot {slot}");
                }
            }
        }

        r.Depth--;
        return moved;
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
        var peer = ReadPeer(ReadBytes(ref r).Span);
        var id = PortId.Read(ReadBytes(ref r).Span);
        r.Depth--;
        return RecentPortRef(peer, id);
    }

    [ThreadStatic]
    private static PortRef?[]? t_recentRefs;

    /// <summary>
    /// The reference to <paramref name="id"/> at <paramref name="home"/>: a stream of messages names
    /// the same few ports over and over (destination, reply port), so the last few made on this
    /// thread are reused (a <see cref="PortRef"/> is immutable).
    /// </summary>
    private static PortRef RecentPortRef(PeerId home, PortId id)
    {
        var recent = t_recentRefs ??= new PortRef?[4];
        foreach (var known in recent)
        {
            if (known is not null && known.Id == id && ReferenceEquals(known.Home, home))
            {
                return known;
            }
        }

        var reference = new PortRef(home, id);
        Array.Copy(recent, 0, recent, 1, recent.Length - 1);
        recent[0] = reference;
        return reference;
    }

    [ThreadStatic]
    private static PeerId?[]? t_recentPeers;

    /// <summary>
    /// A peer id from its bytes. A stream of messages names the same few peers over and over:
    /// the last few parsed on this thread are reused instead of parsing (and checking the key) again.
    /// </summary>
    private static PeerId ReadPeer(ReadOnlySpan<byte> bytes)
    {
        var recent = t_recentPeers ??= new PeerId?[4];
        foreach (var known in recent)
        {
            if (known is not null && known.Bytes.SequenceEqual(bytes))
            {
                return known;
            }
        }

        var peer = PeerId.FromBytes(bytes);
        Array.Copy(recent, 0, recent, 1, recent.Length - 1);
        recent[0] = peer;
        return peer;
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

    private static ReadOnlyMemory<byte> ReadBytes(ref MessagePackReader r, bool copy = false)
    {
        var sequence = r.ReadBytes() ?? throw new InvalidFormatException("expected bytes, found nil");
        if (sequence.IsEmpty)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        return !copy && sequence.IsSingleSegment ? sequence.First : sequence.ToArray();
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
