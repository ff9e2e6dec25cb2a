using System.Buffers;
using System.Text;
using MessagePack;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Ports.Wire;

/// <summary>
/// Encoding of <see cref="PortsFrame"/>s: each frame is an unsigned varint length followed by a
/// MessagePack array whose first element is the <see cref="PortsFrameType"/>
/// (docs/ports-protocol.md, "Frames"). Decoding treats input as untrusted: lengths, counts and
/// nesting are bounded and anything unexpected is an <see cref="InvalidFormatException"/>.
/// </summary>
public static class PortsFrameCodec
{
    /// <summary>The protocol id negotiated with multistream-select.</summary>
    public const string ProtocolId = "/promisegrid/ports/1.0.0";

    /// <summary>
    /// The minor version this implementation speaks inside <see cref="ProtocolId"/>: 2 adds
    /// receive rights in envelopes and the error codes 8 and 9. A server answers hello with the
    /// lower of the client's version and its own; a client accepts any version from 1 to its own.
    /// </summary>
    public const uint Version = 2;

    /// <summary>Most port ids in one port-dead frame.</summary>
    public const int MaxPortsPerFrame = 1024;

    /// <summary>Most ranges, pending entries, refusals or results in one frame.</summary>
    public const int MaxEntriesPerFrame = 65536;

    /// <summary>Longest published name, in UTF-8 bytes.</summary>
    public const int MaxNameLength = 256;

    /// <summary>Longest refusal message, in UTF-8 bytes (longer ones are cut when encoding).</summary>
    public const int MaxMessageLength = 512;

    private const int MaxDepth = 4;

    private static readonly MessagePackSecurity Security = MessagePackSecurity.UntrustedData.WithMaximumObjectGraphDepth(MaxDepth);

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_scratch;

    /// <summary>Encodes one frame, length prefix included, to a new array.</summary>
    public static byte[] Encode(PortsFrame frame)
    {
        var body = Scratch();
        WriteBody(frame, body);
        return Prefix(body);
    }

    /// <summary>Encodes a deliver frame with the envelope written in place (no intermediate copy of the envelope).</summary>
    public static byte[] EncodeDeliver(ulong seq, uint timeoutMilliseconds, in MessageEnvelope envelope)
    {
        var body = Scratch();
        var w = new MessagePackWriter(body);
        WriteDeliverHeader(ref w, seq, timeoutMilliseconds);
        w.Flush();
        MessageEnvelopeCodec.Encode(envelope, body);
        return Prefix(body);
    }

    /// <summary>
    /// Writes the start of a deliver frame's body: the array header, the type, the sequence number
    /// (full width, so <see cref="SetSeq"/> can set it later) and the timeout. The envelope
    /// (<see cref="MessageEnvelopeCodec.Write"/>) must follow as the fourth element.
    /// </summary>
    public static void WriteDeliverHeader(ref MessagePackWriter writer, ulong seq, uint timeoutMilliseconds)
    {
        writer.WriteArrayHeader(4);
        writer.Write((byte)PortsFrameType.Deliver);
        writer.WriteUInt64(seq);
        writer.Write(timeoutMilliseconds);
    }

    /// <summary>Room to leave before a frame body written in place, for its length prefix (<see cref="PrefixInPlace"/>).</summary>
    public const int MaxPrefixLength = 9;

    /// <summary>
    /// Frames a body written at <c>buffer[MaxPrefixLength..]</c>: writes its length prefix right
    /// before it and returns the offset where the frame starts.
    /// </summary>
    public static int PrefixInPlace(Span<byte> buffer, int bodyLength)
    {
        var prefix = Varint.GetLength((ulong)bodyLength);
        var start = MaxPrefixLength - prefix;
        Varint.Write(buffer[start..], (ulong)bodyLength);
        return start;
    }

    /// <summary>
    /// Sets the sequence number of an encoded request frame in place. Requests are encoded with
    /// the sequence number in the full-width uint64 form right after the type, so a frame can be
    /// built before its number is known (outside the sender's lock) and numbered afterwards.
    /// </summary>
    /// <exception cref="ArgumentException">Not a request frame from this encoder.</exception>
    public static void SetSeq(Span<byte> frame, ulong seq)
    {
        if (!Varint.TryRead(frame, out _, out var prefix) || frame.Length < prefix + 11 || frame[prefix + 2] != 0xcf)
        {
            throw new ArgumentException("not an encoded request frame", nameof(frame));
        }

        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(frame[(prefix + 3)..], seq);
    }

    /// <summary>Encodes one frame, length prefix included, into <paramref name="output"/>.</summary>
    public static void Write(PortsFrame frame, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var body = Scratch();
        WriteBody(frame, body);
        Varint.Write(output, (ulong)body.WrittenCount);
        output.Write(body.WrittenSpan);
    }

    /// <summary>
    /// Takes one complete frame body off the front of <paramref name="buffer"/> if it holds one.
    /// </summary>
    /// <exception cref="LimitExceededException">The announced length exceeds <paramref name="maxFrameSize"/>.</exception>
    /// <exception cref="InvalidFormatException">The length prefix is malformed.</exception>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxFrameSize, out ReadOnlySequence<byte> body)
    {
        body = default;
        if (!Varint.TryRead(buffer, out var length, out var prefix))
        {
            if (buffer.Length >= 10)
            {
                throw new InvalidFormatException("malformed frame length");
            }

            return false;
        }

        if (length > (ulong)maxFrameSize)
        {
            throw new LimitExceededException("ports frame size", (long)Math.Min(length, long.MaxValue), maxFrameSize);
        }

        if (buffer.Length - prefix < (long)length)
        {
            return false;
        }

        body = buffer.Slice(prefix, (long)length);
        buffer = buffer.Slice(body.End);
        return true;
    }

    /// <summary>Decodes one frame body (without its length prefix). A deliver's envelope is a slice of <paramref name="body"/>.</summary>
    /// <exception cref="InvalidFormatException">Malformed, unknown type, trailing bytes, or a bound is exceeded.</exception>
    public static PortsFrame Decode(ReadOnlyMemory<byte> body)
    {
        var r = new MessagePackReader(body);
        var security = Security;
        try
        {
            security.DepthStep(ref r);
            var count = r.ReadArrayHeader();
            if (count < 1)
            {
                throw new InvalidFormatException("empty ports frame");
            }

            var type = (PortsFrameType)r.ReadByte();
            PortsFrame frame;
            switch (type)
            {
                case PortsFrameType.Hello:
                    Expect(count, 4, type);
                    frame = new HelloFrame(r.ReadUInt32(), r.ReadUInt64(), r.ReadUInt64());
                    break;
                case PortsFrameType.Deliver:
                    frame = ReadDeliver(count, body, ref r);
                    break;
                case PortsFrameType.Grant or PortsFrameType.Ungrant:
                    Expect(count, 5, type);
                    frame = new GrantFrame(r.ReadUInt64(), ReadPortId(ref r), ReadPeer(ref r), ReadRightType(ref r), type == PortsFrameType.Ungrant);
                    break;
                case PortsFrameType.Release:
                    Expect(count, 5, type);
                    frame = new ReleaseFrame(r.ReadUInt64(), ReadPortId(ref r), r.ReadUInt32(), r.ReadUInt32());
                    break;
                case PortsFrameType.Lookup:
                    Expect(count, 4, type);
                    frame = new LookupFrame(r.ReadUInt64(), r.TryReadNil() ? null : ReadPortId(ref r), ReadName(ref r));
                    break;
                case PortsFrameType.PortDead:
                    Expect(count, 3, type);
                    frame = ReadPortDead(ref r, security);
                    break;
                case PortsFrameType.Confirm:
                    Expect(count, 2, type);
                    frame = new ConfirmFrame(r.ReadUInt64());
                    break;
                case PortsFrameType.Welcome:
                    Expect(count, 7, type);
                    frame = ReadWelcome(ref r, security);
                    break;
                case PortsFrameType.Ack:
                    Expect(count, 2, type);
                    frame = new AckFrame(ReadRanges(ref r, security));
                    break;
                case PortsFrameType.Nack:
                    Expect(count, 4, type);
                    frame = ReadNack(ref r);
                    break;
                case PortsFrameType.Result:
                    Expect(count, 3, type);
                    frame = new ResultFrame(r.ReadUInt64(), ReadPortId(ref r));
                    break;
                default:
                    throw new InvalidFormatException($"unknown ports frame type {(byte)type}");
            }

            if (!r.End)
            {
                throw new InvalidFormatException($"trailing bytes after a {type} frame");
            }

            return frame;
        }
        catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException or InsufficientExecutionStackException or OverflowException or ArgumentException)
        {
            throw new InvalidFormatException("malformed ports frame: " + e.Message, e);
        }
    }

    private static void Expect(int count, int expected, PortsFrameType type)
    {
        if (count != expected)
        {
            throw new InvalidFormatException($"{type} frame has {count} fields, expected {expected}");
        }
    }

    /// <summary>
    /// The fast path for the commonest frame: reads a deliver whose envelope has the usual shape
    /// (no port descriptors or out-of-line regions; see <see cref="MessageEnvelopeCodec.DecodeCopy"/>
    /// for the result) in one pass over a contiguous body, copying only its byte fields. False for
    /// any other frame or shape, and for anything malformed: <see cref="TryReadDeliver"/> and
    /// <see cref="Decode"/> then read the frame and make the error, so this method never rejects.
    /// </summary>
    public static bool TryReadDeliverInPlace(ReadOnlySpan<byte> body, out ulong seq, out uint timeoutMilliseconds, out MessageEnvelope envelope)
    {
        seq = 0;
        timeoutMilliseconds = 0;
        envelope = default;
        var r = new MessagePackSpanReader(body);
        if (!r.TryReadArrayHeader(out var count) || count != 4
            || !r.TryReadByte(out var type) || type != (byte)PortsFrameType.Deliver
            || !r.TryReadUInt64(out var s)
            || !r.TryReadUInt32(out var timeout))
        {
            return false;
        }

        if (!MessageEnvelopeCodec.TryReadSimple(ref r, r.Remaining, out var e) || !r.End)
        {
            return false;
        }

        seq = s;
        timeoutMilliseconds = timeout;
        envelope = e;
        return true;
    }

    /// <summary>
    /// Reads a deliver frame's fields in place, without copying the body: false if the body is
    /// another type of frame (<see cref="Decode"/> reads those). <paramref name="envelope"/> is a
    /// slice of <paramref name="body"/>, checked to be one well-formed MessagePack value.
    /// </summary>
    /// <exception cref="InvalidFormatException">A malformed deliver frame.</exception>
    public static bool TryReadDeliver(in ReadOnlySequence<byte> body, out ulong seq, out uint timeoutMilliseconds, out ReadOnlySequence<byte> envelope)
    {
        seq = 0;
        timeoutMilliseconds = 0;
        envelope = default;
        var r = new MessagePackReader(body);
        try
        {
            Security.DepthStep(ref r);
            var count = r.ReadArrayHeader();
            if (count < 1)
            {
                return false;
            }

            var peek = r.CreatePeekReader();
            if (peek.NextMessagePackType != MessagePackType.Integer || peek.ReadByte() != (byte)PortsFrameType.Deliver)
            {
                return false;
            }

            r.ReadByte();
            Expect(count, 4, PortsFrameType.Deliver);
            seq = r.ReadUInt64();
            timeoutMilliseconds = r.ReadUInt32();
            var start = r.Position;
            r.Skip();
            envelope = body.Slice(start, r.Position);
            if (!r.End)
            {
                throw new InvalidFormatException("trailing bytes after a Deliver frame");
            }

            return true;
        }
        catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException or InsufficientExecutionStackException or OverflowException or ArgumentException)
        {
            throw new InvalidFormatException("malformed ports frame: " + e.Message, e);
        }
    }

    private static DeliverFrame ReadDeliver(int count, ReadOnlyMemory<byte> body, ref MessagePackReader r)
    {
        if (count != 4)
        {
            throw new InvalidFormatException($"Deliver frame has {count} fields, expected 4");
        }

        var seq = r.ReadUInt64();
        var timeout = r.ReadUInt32();
        var start = (int)r.Consumed;
        r.Skip();
        return new DeliverFrame(seq, timeout, body[start..(int)r.Consumed]);
    }

    private static PortDeadFrame ReadPortDead(ref MessagePackReader r, MessagePackSecurity security)
    {
        var seq = r.ReadUInt64();
        security.DepthStep(ref r);
        var n = ReadCount(ref r, MaxPortsPerFrame, "port ids");
        var ports = new PortId[n];
        for (var i = 0; i < n; i++)
        {
            ports[i] = ReadPortId(ref r);
        }

        r.Depth--;
        return new PortDeadFrame(seq, ports);
    }

    private static WelcomeFrame ReadWelcome(ref MessagePackReader r, MessagePackSecurity security)
    {
        var version = r.ReadUInt32();
        var epoch = r.ReadUInt64();
        var acked = ReadRanges(ref r, security);
        security.DepthStep(ref r);
        var n = ReadCount(ref r, MaxEntriesPerFrame, "pending entries");
        var pending = new ulong[n];
        for (var i = 0; i < n; i++)
        {
            pending[i] = r.ReadUInt64();
        }

        r.Depth--;
        security.DepthStep(ref r);
        n = ReadCount(ref r, MaxEntriesPerFrame, "refusals");
        var nacks = new NackFrame[n];
        for (var i = 0; i < n; i++)
        {
            security.DepthStep(ref r);
            if (r.ReadArrayHeader() != 3)
            {
                throw new InvalidFormatException("a refusal entry needs 3 fields");
            }

            nacks[i] = ReadNack(ref r);
            r.Depth--;
        }

        r.Depth--;
        security.DepthStep(ref r);
        n = ReadCount(ref r, MaxEntriesPerFrame, "results");
        var results = new ResultFrame[n];
        for (var i = 0; i < n; i++)
        {
            security.DepthStep(ref r);
            if (r.ReadArrayHeader() != 2)
            {
                throw new InvalidFormatException("a result entry needs 2 fields");
            }

            results[i] = new ResultFrame(r.ReadUInt64(), ReadPortId(ref r));
            r.Depth--;
        }

        r.Depth--;
        return new WelcomeFrame(version, epoch, acked, pending, nacks, results);
    }

    private static NackFrame ReadNack(ref MessagePackReader r)
    {
        var seq = r.ReadUInt64();
        var code = r.ReadByte();
        if (!PortsErrorCodes.IsKnown(code))
        {
            throw new InvalidFormatException($"unknown ports error code {code}");
        }

        var message = ReadString(ref r, MaxMessageLength, "refusal message") ?? string.Empty;
        return new NackFrame(seq, (PortsErrorCode)code, message);
    }

    private static SeqRange[] ReadRanges(ref MessagePackReader r, MessagePackSecurity security)
    {
        security.DepthStep(ref r);
        var n = ReadCount(ref r, 2 * MaxEntriesPerFrame, "range fields");
        if (n % 2 != 0)
        {
            throw new InvalidFormatException("ranges come in (start, count) pairs");
        }

        var ranges = new SeqRange[n / 2];
        ulong end = 0;
        for (var i = 0; i < ranges.Length; i++)
        {
            var start = r.ReadUInt64();
            var length = r.ReadUInt64();
            if (length == 0 || start + length < start || length > (ulong)MaxEntriesPerFrame * 16)
            {
                throw new InvalidFormatException($"bad sequence range ({start}, {length})");
            }

            // Ascending and disjoint, so a reader's work is bounded by the numbers it has outstanding.
            if (start < end)
            {
                throw new InvalidFormatException($"sequence range ({start}, {length}) overlaps or precedes the one before it");
            }

            end = start + length;
            ranges[i] = new SeqRange(start, length);
        }

        r.Depth--;
        return ranges;
    }

    private static int ReadCount(ref MessagePackReader r, int maximum, string what)
    {
        var n = r.ReadArrayHeader();
        if (n > maximum)
        {
            throw new InvalidFormatException($"{n} {what} exceed {maximum}");
        }

        return n;
    }

    private static PortId ReadPortId(ref MessagePackReader r)
    {
        var bytes = r.ReadBytes() ?? throw new InvalidFormatException("expected a port id, found nil");
        if (bytes.Length != PortId.Size)
        {
            throw new InvalidFormatException($"a port id is {PortId.Size} bytes, not {bytes.Length}");
        }

        Span<byte> id = stackalloc byte[PortId.Size];
        bytes.CopyTo(id);
        return PortId.Read(id);
    }

    private static PeerId ReadPeer(ref MessagePackReader r)
    {
        var bytes = r.ReadBytes() ?? throw new InvalidFormatException("expected a peer id, found nil");
        if (bytes.Length > 128)
        {
            throw new InvalidFormatException("peer id too long");
        }

        return PeerId.FromBytes(bytes.ToArray());
    }

    private static PortDisposition ReadRightType(ref MessagePackReader r)
    {
        var value = (PortDisposition)r.ReadByte();
        return value is PortDisposition.PortSend or PortDisposition.PortSendOnce
            ? value
            : throw new InvalidFormatException($"a granted right is send or send-once, not {value}");
    }

    private static string? ReadName(ref MessagePackReader r) => ReadString(ref r, MaxNameLength, "name");

    private static string? ReadString(ref MessagePackReader r, int maxBytes, string what)
    {
        if (r.TryReadNil())
        {
            return null;
        }

        var bytes = r.ReadStringSequence() ?? throw new InvalidFormatException($"expected a {what}");
        if (bytes.Length > maxBytes)
        {
            throw new InvalidFormatException($"{what} of {bytes.Length} bytes exceeds {maxBytes}");
        }

        try
        {
            return new UTF8Encoding(false, true).GetString(bytes.ToArray());
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidFormatException($"{what} is not UTF-8", e);
        }
    }

    private static void WriteBody(PortsFrame frame, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var w = new MessagePackWriter(output);
        switch (frame)
        {
            case HelloFrame h:
                Header(ref w, 4, h.Type);
                w.Write(h.Version);
                w.Write(h.Epoch);
                w.Write(h.ConfirmedThrough);
                break;
            case DeliverFrame d:
                Header(ref w, 4, d.Type);
                w.WriteUInt64(d.Seq);
                w.Write(d.TimeoutMilliseconds);
                w.WriteRaw(d.Envelope.Span);
                break;
            case GrantFrame g:
                Header(ref w, 5, g.Type);
                w.WriteUInt64(g.Seq);
                WritePortId(ref w, g.Port);
                w.Write(g.Holder.Bytes);
                w.Write((byte)g.RightType);
                break;
            case ReleaseFrame rel:
                Header(ref w, 5, rel.Type);
                w.WriteUInt64(rel.Seq);
                WritePortId(ref w, rel.Port);
                w.Write(rel.Send);
                w.Write(rel.SendOnce);
                break;
            case LookupFrame l:
                Header(ref w, 4, l.Type);
                w.WriteUInt64(l.Seq);
                if (l.Port is { } id)
                {
                    WritePortId(ref w, id);
                }
                else
                {
                    w.WriteNil();
                }

                w.Write(l.Name);
                break;
            case PortDeadFrame pd:
                Header(ref w, 3, pd.Type);
                w.WriteUInt64(pd.Seq);
                w.WriteArrayHeader(pd.Ports.Count);
                foreach (var p in pd.Ports)
                {
                    WritePortId(ref w, p);
                }

                break;
            case ConfirmFrame c:
                Header(ref w, 2, c.Type);
                w.Write(c.Through);
                break;
            case WelcomeFrame welcome:
                Header(ref w, 7, welcome.Type);
                w.Write(welcome.Version);
                w.Write(welcome.Epoch);
                WriteRanges(ref w, welcome.Acked);
                w.WriteArrayHeader(welcome.Pending.Count);
                foreach (var s in welcome.Pending)
                {
                    w.Write(s);
                }

                w.WriteArrayHeader(welcome.Nacks.Count);
                foreach (var n in welcome.Nacks)
                {
                    w.WriteArrayHeader(3);
                    WriteNackFields(ref w, n);
                }

                w.WriteArrayHeader(welcome.Results.Count);
                foreach (var res in welcome.Results)
                {
                    w.WriteArrayHeader(2);
                    w.Write(res.Seq);
                    WritePortId(ref w, res.Port);
                }

                break;
            case AckFrame a:
                Header(ref w, 2, a.Type);
                WriteRanges(ref w, a.Ranges);
                break;
            case NackFrame n:
                Header(ref w, 4, n.Type);
                WriteNackFields(ref w, n);
                break;
            case ResultFrame res:
                Header(ref w, 3, res.Type);
                w.Write(res.Seq);
                WritePortId(ref w, res.Port);
                break;
            default:
                throw new ArgumentException($"unknown frame {frame.GetType().Name}", nameof(frame));
        }

        w.Flush();
    }

    private static void Header(ref MessagePackWriter w, int fields, PortsFrameType type)
    {
        w.WriteArrayHeader(fields);
        w.Write((byte)type);
    }

    private static void WriteNackFields(ref MessagePackWriter w, NackFrame n)
    {
        w.Write(n.Seq);
        w.Write((byte)n.Code);
        var message = n.Message;
        if (Encoding.UTF8.GetByteCount(message) > MaxMessageLength)
        {
            message = message[..Math.Min(message.Length, MaxMessageLength / 4)];
        }

        w.Write(message);
    }

    private static void WriteRanges(ref MessagePackWriter w, IReadOnlyList<SeqRange> ranges)
    {
        w.WriteArrayHeader(ranges.Count * 2);
        foreach (var r in ranges)
        {
            w.Write(r.Start);
            w.Write(r.Count);
        }
    }

    private static void WritePortId(ref MessagePackWriter w, PortId id)
    {
        w.WriteBinHeader(PortId.Size);
        id.Write(w.GetSpan(PortId.Size));
        w.Advance(PortId.Size);
    }

    private static ArrayBufferWriter<byte> Scratch()
    {
        var scratch = t_scratch;
        if (scratch is null || scratch.Capacity > 1 << 20)
        {
            // A large message grew the scratch buffer: let it go rather than keep it per thread.
            t_scratch = scratch = new ArrayBufferWriter<byte>(1024);
        }

        scratch.ResetWrittenCount();
        return scratch;
    }

    private static byte[] Prefix(ArrayBufferWriter<byte> body)
    {
        var length = body.WrittenCount;
        var prefix = Varint.GetLength((ulong)length);
        var frame = new byte[prefix + length];
        Varint.Write(frame, (ulong)length);
        body.WrittenSpan.CopyTo(frame.AsSpan(prefix));
        return frame;
    }
}
