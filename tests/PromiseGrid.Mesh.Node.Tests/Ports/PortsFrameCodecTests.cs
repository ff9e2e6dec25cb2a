using System.Buffers;
using CsCheck;
using MessagePack;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Ports;
using PromiseGrid.Mesh.Ports.Wire;

namespace PromiseGrid.Mesh.Node.Tests.Ports;

public class PortsFrameCodecTests
{
    private static readonly PortId Id = new(0x0102030405060708, 0x090a0b0c0d0e0f10);

    public static TheoryData<PortsFrame> Frames() => new()
    {
        new HelloFrame(1, 0xdeadbeef, 41),
        new GrantFrame(5, Id, TestPeers.Remote, PortDisposition.PortSend, Revoke: false),
        new GrantFrame(6, Id, TestPeers.Remote, PortDisposition.PortSendOnce, Revoke: true),
        new ReleaseFrame(7, Id, 3, 1),
        new LookupFrame(8, Id, null),
        new LookupFrame(9, null, "inbox"),
        new PortDeadFrame(10, [Id, new PortId(1, 2)]),
        new ConfirmFrame(1000),
        new AckFrame([new SeqRange(1, 10), new SeqRange(20, 1)]),
        new NackFrame(11, PortsErrorCode.NoRight, "no right"),
        new NackFrame(13, PortsErrorCode.PortExists, "id in use"),
        new NackFrame(14, PortsErrorCode.Undeliverable, "the new home refused it"),
        new ResultFrame(12, Id),
        new WelcomeFrame(1, 77, [new SeqRange(3, 2)], [9, 10], [new NackFrame(4, PortsErrorCode.Timeout, "full")], [new ResultFrame(6, Id)]),
    };

    private static PortsFrame RoundTrip(PortsFrame frame)
    {
        var bytes = new ReadOnlySequence<byte>(PortsFrameCodec.Encode(frame));
        Assert.True(PortsFrameCodec.TryReadFrame(ref bytes, 1 << 20, out var body));
        Assert.True(bytes.IsEmpty);
        return PortsFrameCodec.Decode(body.ToArray());
    }

    [Theory]
    [MemberData(nameof(Frames))]
    public void Encode_ThenDecode_GivesTheSameFrame(PortsFrame frame)
    {
        var back = RoundTrip(frame);

        Assert.Equal(frame.Type, back.Type);
        Assert.Equal(Describe(frame), Describe(back));
    }

    [Fact]
    public void Deliver_CarriesTheEnvelopeUntouched()
    {
        var envelope = new MessageEnvelope
        {
            Destination = new PortRef(TestPeers.Remote, Id),
            Payload = "hello"u8.ToArray(),
            MessageId = 3,
            Trailer = new TrailerEnvelope(TestPeers.Local, 9, 0, 1234),
        };

        var back = Assert.IsType<DeliverFrame>(PortsFrameCodec.Decode(Body(PortsFrameCodec.EncodeDeliver(42, 1500, envelope))));

        Assert.Equal(42UL, back.Seq);
        Assert.Equal(1500U, back.TimeoutMilliseconds);
        var decoded = MessageEnvelopeCodec.Decode(back.Envelope);
        Assert.Equal(envelope.Destination, decoded.Destination);
        Assert.Equal("hello"u8.ToArray(), decoded.Payload.ToArray());
        Assert.Equal(envelope.Trailer, decoded.Trailer);
    }

    [Fact]
    public void TryReadDeliver_InPlace_ReadsTheFieldsAndSlicesTheEnvelope()
    {
        var envelope = new MessageEnvelope
        {
            Destination = new PortRef(TestPeers.Remote, Id),
            Payload = "hello"u8.ToArray(),
            Trailer = new TrailerEnvelope(TestPeers.Local, 9, 0, 1234),
        };
        var body = Body(PortsFrameCodec.EncodeDeliver(42, 1500, envelope));

        // Split in two segments, as a pipe may hand it over.
        var sequence = TwoSegments(body, body.Length / 2);
        Assert.True(PortsFrameCodec.TryReadDeliver(sequence, out var seq, out var timeout, out var bytes));

        Assert.Equal(42UL, seq);
        Assert.Equal(1500U, timeout);
        var decoded = MessageEnvelopeCodec.DecodeCopy(bytes);
        Assert.Equal(envelope.Destination, decoded.Destination);
        Assert.Equal("hello"u8.ToArray(), decoded.Payload.ToArray());
        Assert.Equal(envelope.Trailer, decoded.Trailer);
    }

    public static TheoryData<string> SimpleEnvelopes() => ["plain", "reply", "negative-id", "big", "no-sender", "protocol-id", "empty"];

    private static MessageEnvelope SimpleEnvelope(string kind) => kind switch
    {
        "reply" => new MessageEnvelope
        {
            Destination = new PortRef(TestPeers.Remote, Id),
            DestinationType = PortDisposition.PortSendOnce,
            Reply = new PortRef(TestPeers.Local, new PortId(7, 8)),
            ReplyType = PortDisposition.PortSendOnce,
            MessageId = 300,
            Flags = MessageFlags.Complex,
            Payload = "ping"u8.ToArray(),
            Trailer = new TrailerEnvelope(TestPeers.Local, ulong.MaxValue, 5, -1),
        },
        "negative-id" => new MessageEnvelope { Destination = new PortRef(TestPeers.Remote, Id), MessageId = int.MinValue, Payload = new byte[] { 0 } },
        "big" => new MessageEnvelope { Destination = new PortRef(TestPeers.Remote, Id), MessageId = 70000, Payload = Enumerable.Range(0, 70000).Select(i => (byte)i).ToArray(), Trailer = new TrailerEnvelope(TestPeers.Local, 1 << 20, 0, long.MaxValue) },
        "no-sender" => new MessageEnvelope { Destination = new PortRef(TestPeers.Remote, Id), Payload = new byte[200], Trailer = new TrailerEnvelope(null, 3, 4, 5) },
        "protocol-id" => new MessageEnvelope { Destination = new PortRef(TestPeers.Remote, Id), ProtocolId = new byte[40], Payload = new byte[3] },
        "empty" => new MessageEnvelope { Destination = new PortRef(TestPeers.Remote, Id) },
        _ => new MessageEnvelope { Destination = new PortRef(TestPeers.Remote, Id), Payload = new byte[64], MessageId = 12, Trailer = new TrailerEnvelope(TestPeers.Local, 9, 0, 1234) },
    };

    [Theory]
    [MemberData(nameof(SimpleEnvelopes))]
    public void TryReadDeliverInPlace_UsualShape_ReadsWhatTheGeneralDecoderReads(string kind)
    {
        var envelope = SimpleEnvelope(kind);
        var body = Body(PortsFrameCodec.EncodeDeliver(0xfedcba9876543210, 30000, envelope));

        Assert.True(PortsFrameCodec.TryReadDeliverInPlace(body, out var seq, out var timeout, out var quick));
        Assert.True(PortsFrameCodec.TryReadDeliver(new ReadOnlySequence<byte>(body), out var seq2, out var timeout2, out var bytes));
        var general = MessageEnvelopeCodec.DecodeCopy(bytes);

        Assert.Equal(seq2, seq);
        Assert.Equal(timeout2, timeout);
        Assert.Equal(general.Destination, quick.Destination);
        Assert.Equal(general.DestinationType, quick.DestinationType);
        Assert.Equal(general.Reply, quick.Reply);
        Assert.Equal(general.ReplyType, quick.ReplyType);
        Assert.Equal(general.MessageId, quick.MessageId);
        Assert.Equal(general.ProtocolId.ToArray(), quick.ProtocolId.ToArray());
        Assert.Equal(general.Flags, quick.Flags);
        Assert.Equal(general.Payload.ToArray(), quick.Payload.ToArray());
        Assert.Empty(quick.Ports);
        Assert.Empty(quick.OutOfLine);
        Assert.Equal(general.Trailer, quick.Trailer);

        // The payload is a copy: it outlives the buffer it was read from.
        Array.Clear(body);
        Assert.Equal(envelope.Payload.ToArray(), quick.Payload.ToArray());
    }

    [Fact]
    public void TryReadDeliverInPlace_OtherShapesAndBadInput_LeftToTheGeneralDecoder()
    {
        var withPorts = new MessageEnvelope
        {
            Destination = new PortRef(TestPeers.Remote, Id),
            Ports = [new(new PortRef(TestPeers.Local, Id), PortDisposition.PortSend)],
        };
        var withRegions = new MessageEnvelope { Destination = new PortRef(TestPeers.Remote, Id), OutOfLine = [new byte[3]] };
        var plain = Body(PortsFrameCodec.EncodeDeliver(1, 0, SimpleEnvelope("plain")));
        byte[] trailing = [.. plain, 0xc0];
        var badType = Body(PortsFrameCodec.EncodeDeliver(1, 0, SimpleEnvelope("plain") with { DestinationType = (PortDisposition)99 }));

        Assert.False(PortsFrameCodec.TryReadDeliverInPlace(Body(PortsFrameCodec.EncodeDeliver(1, 0, withPorts)), out _, out _, out _));
        Assert.False(PortsFrameCodec.TryReadDeliverInPlace(Body(PortsFrameCodec.EncodeDeliver(1, 0, withRegions)), out _, out _, out _));
        Assert.False(PortsFrameCodec.TryReadDeliverInPlace(Body(PortsFrameCodec.Encode(new ConfirmFrame(3))), out _, out _, out _));
        Assert.False(PortsFrameCodec.TryReadDeliverInPlace(trailing, out _, out _, out _));
        for (var cut = 0; cut < plain.Length; cut++)
        {
            Assert.False(PortsFrameCodec.TryReadDeliverInPlace(plain.AsSpan(0, cut), out _, out _, out _));
        }

        Assert.False(PortsFrameCodec.TryReadDeliverInPlace(badType, out _, out _, out _));
    }

    [Fact]
    public void TryReadDeliver_AnotherFrame_ReturnsFalse()
    {
        var body = Body(PortsFrameCodec.Encode(new ConfirmFrame(12)));

        Assert.False(PortsFrameCodec.TryReadDeliver(new ReadOnlySequence<byte>(body), out _, out _, out _));
    }

    [Fact]
    public void TryReadDeliver_TrailingBytes_IsMalformed()
    {
        var envelope = new MessageEnvelope { Destination = new PortRef(TestPeers.Remote, Id) };
        byte[] body = [.. Body(PortsFrameCodec.EncodeDeliver(1, 0, envelope)), 0xc0];

        Assert.Throws<InvalidFormatException>(() => PortsFrameCodec.TryReadDeliver(new ReadOnlySequence<byte>(body), out _, out _, out _));
    }

    private static ReadOnlySequence<byte> TwoSegments(byte[] bytes, int split)
    {
        var first = new Segment(bytes.AsMemory(0, split), 0);
        var second = first.Append(bytes.AsMemory(split));
        return new ReadOnlySequence<byte>(first, 0, second, second.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }

    [Fact]
    public void Ranges_AreSortedAndMerged()
    {
        var ranges = Node.Ports.InboundLink.ToRanges([5, 1, 2, 3, 9, 10, 2, 7]);

        Assert.Equal([new SeqRange(1, 3), new SeqRange(5, 1), new SeqRange(7, 1), new SeqRange(9, 2)], ranges);
    }

    [Fact]
    public void RandomAckRanges_RoundTrip()
    {
        // Ascending, disjoint ranges: each starts a random gap after the previous one ends.
        Gen.Select(Gen.ULong[0, 1UL << 40], Gen.ULong[1, 1000]).Array[0, 50]
            .Select(steps =>
            {
                var next = 1UL;
                return steps.Select(step =>
                {
                    var range = new SeqRange(next + step.Item1, step.Item2);
                    next = range.Start + range.Count;
                    return range;
                }).ToArray();
            })
            .Sample(ranges =>
            {
                var back = (AckFrame)RoundTrip(new AckFrame(ranges));
                Assert.Equal(ranges, back.Ranges);
            });
    }

    [Fact]
    public void TryReadFrame_IncompleteInput_WaitsForMore()
    {
        var frame = PortsFrameCodec.Encode(new ConfirmFrame(5));
        for (var cut = 0; cut < frame.Length; cut++)
        {
            var partial = new ReadOnlySequence<byte>(frame, 0, cut);
            Assert.False(PortsFrameCodec.TryReadFrame(ref partial, 1024, out _));
        }
    }

    [Fact]
    public void TryReadFrame_LengthBeyondTheLimit_IsRefused()
    {
        var prefix = new ReadOnlySequence<byte>(Varint.Encode(1 << 25));

        var e = Assert.Throws<LimitExceededException>(() => PortsFrameCodec.TryReadFrame(ref prefix, 1 << 24, out _));
        Assert.Contains("ports frame size", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryReadFrame_MalformedVarint_IsRefused()
    {
        var bad = new ReadOnlySequence<byte>(Enumerable.Repeat((byte)0xff, 11).ToArray());

        Assert.Throws<InvalidFormatException>(() => PortsFrameCodec.TryReadFrame(ref bad, 1024, out _));
    }

    public static TheoryData<string, byte[]> MalformedBodies()
    {
        static byte[] Pack(Action<MessagePackWriter> write)
        {
            var buffer = new ArrayBufferWriter<byte>();
            var w = new MessagePackWriter(buffer);
            write(w);
            return buffer.WrittenSpan.ToArray();
        }

        return new()
        {
            { "not an array", Pack(w => { w.Write(5); w.Flush(); }) },
            { "empty array", Pack(w => { w.WriteArrayHeader(0); w.Flush(); }) },
            { "unknown type", Pack(w => { w.WriteArrayHeader(2); w.Write((byte)99); w.Write(1); w.Flush(); }) },
            { "wrong field count", Pack(w => { w.WriteArrayHeader(2); w.Write((byte)PortsFrameType.Hello); w.Write(1); w.Flush(); }) },
            { "short port id", Pack(w => { w.WriteArrayHeader(3); w.Write((byte)PortsFrameType.Result); w.Write(1UL); w.Write(new byte[15]); w.Flush(); }) },
            { "unknown error code", Pack(w => { w.WriteArrayHeader(4); w.Write((byte)PortsFrameType.Nack); w.Write(1UL); w.Write((byte)200); w.Write("x"); w.Flush(); }) },
            { "grant of a receive right", Pack(w => { w.WriteArrayHeader(5); w.Write((byte)PortsFrameType.Grant); w.Write(1UL); w.Write(new byte[16]); w.Write(TestPeers.Remote.Bytes); w.Write((byte)PortDisposition.PortReceive); w.Flush(); }) },
            { "odd range fields", Pack(w => { w.WriteArrayHeader(2); w.Write((byte)PortsFrameType.Ack); w.WriteArrayHeader(3); w.Write(1); w.Write(2); w.Write(3); w.Flush(); }) },
            { "empty range", Pack(w => { w.WriteArrayHeader(2); w.Write((byte)PortsFrameType.Ack); w.WriteArrayHeader(2); w.Write(1); w.Write(0); w.Flush(); }) },
            { "overlapping ranges", Pack(w => { w.WriteArrayHeader(2); w.Write((byte)PortsFrameType.Ack); w.WriteArrayHeader(4); w.Write(1); w.Write(100); w.Write(50); w.Write(10); w.Flush(); }) },
            { "descending ranges", Pack(w => { w.WriteArrayHeader(2); w.Write((byte)PortsFrameType.Ack); w.WriteArrayHeader(4); w.Write(500); w.Write(1); w.Write(1); w.Write(1); w.Flush(); }) },
            { "too many port ids", Pack(w => { w.WriteArrayHeader(3); w.Write((byte)PortsFrameType.PortDead); w.Write(1UL); w.WriteArrayHeader(PortsFrameCodec.MaxPortsPerFrame + 1); w.Flush(); }) },
            { "name too long", Pack(w => { w.WriteArrayHeader(4); w.Write((byte)PortsFrameType.Lookup); w.Write(1UL); w.WriteNil(); w.Write(new string('n', 300)); w.Flush(); }) },
            { "trailing bytes", [.. Body(PortsFrameCodec.Encode(new ConfirmFrame(1))), 0xc0] },
            { "truncated", Body(PortsFrameCodec.Encode(new HelloFrame(1, 2, 3)))[..^2] },
            { "nesting bomb", Pack(w => { w.WriteArrayHeader(2); w.Write((byte)PortsFrameType.Ack); for (var i = 0; i < 40; i++) { w.WriteArrayHeader(1); } w.Write(1); w.Flush(); }) },
        };
    }

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public void Decode_MalformedBody_IsATypedError(string what, byte[] body)
    {
        var e = Assert.Throws<InvalidFormatException>(() => PortsFrameCodec.Decode(body));
        Assert.False(string.IsNullOrEmpty(e.Message), what);
    }

    [Fact]
    public void Decode_RandomBytes_NeverThrowsAnythingButInvalidFormat()
    {
        Gen.Byte.Array[0, 200].Sample(bytes =>
        {
            try
            {
                PortsFrameCodec.Decode(bytes);
            }
            catch (InvalidFormatException)
            {
            }
        }, iter: 20_000);
    }

    [Fact]
    public void Decode_MutatedValidFrames_NeverThrowsAnythingButInvalidFormat()
    {
        var valid = ((IEnumerable<object[]>)Frames()).Select(row => Body(PortsFrameCodec.Encode((PortsFrame)row[0]))).ToArray();
        Gen.Select(Gen.Int[0, valid.Length - 1], Gen.Int[0, 1000], Gen.Byte).Sample((which, at, value) =>
        {
            var bytes = (byte[])valid[which].Clone();
            bytes[at % bytes.Length] = value;
            try
            {
                PortsFrameCodec.Decode(bytes);
            }
            catch (InvalidFormatException)
            {
            }
        }, iter: 20_000);
    }

    private static byte[] Body(byte[] frame)
    {
        Varint.Read(frame, out var prefix);
        return frame[prefix..];
    }

    private static string Describe(PortsFrame frame) => frame switch
    {
        AckFrame a => $"ack {string.Join(',', a.Ranges)}",
        PortDeadFrame p => $"dead {p.Seq} {string.Join(',', p.Ports)}",
        WelcomeFrame w => $"welcome {w.Version} {w.Epoch} {string.Join(',', w.Acked)} {string.Join(',', w.Pending)} {string.Join(',', w.Nacks)} {string.Join(',', w.Results)}",
        _ => frame.ToString(),
    };

    [Theory]
    [InlineData(PortsErrorCode.PortExists, 2u, PortsErrorCode.PortExists)]
    [InlineData(PortsErrorCode.PortExists, 1u, PortsErrorCode.Unsupported)]
    [InlineData(PortsErrorCode.Undeliverable, 1u, PortsErrorCode.PortDied)]
    [InlineData(PortsErrorCode.NoRight, 1u, PortsErrorCode.NoRight)]
    public void ForVersion_CodesAVersionOneClientDoesNotKnow_BecomeOnesOfTheSameKind(PortsErrorCode code, uint version, PortsErrorCode expected)
    {
        Assert.Equal(expected, PortsErrorCodes.ForVersion(code, version));
        Assert.Equal(PortsErrorCodes.IsRefusal(code), PortsErrorCodes.IsRefusal(expected));
    }
}
