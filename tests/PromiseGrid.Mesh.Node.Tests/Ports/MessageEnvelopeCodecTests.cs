using CsCheck;
using MessagePack;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Node.Tests.Ports;

public class MessageEnvelopeCodecTests
{
    private static readonly PeerId[] Peers = [TestPeers.Local, TestPeers.Remote];

    private static readonly Gen<PortRef> GenPortRef =
        Gen.Select(Gen.Int[0, 1], Gen.ULong, Gen.ULong, (p, h, l) => new PortRef(Peers[p], new PortId(h, l)));

    private static readonly Gen<PortDisposition> GenType =
        Gen.OneOfConst(PortDisposition.None, PortDisposition.PortReceive, PortDisposition.PortSend, PortDisposition.PortSendOnce,
            PortDisposition.CopySend, PortDisposition.MakeSend, PortDisposition.MakeSendOnce);

    private static readonly Gen<MessageEnvelope> GenEnvelope =
        Gen.Select(
            GenPortRef,
            GenPortRef.Null(),
            Gen.Int,
            Gen.Byte.Array[0, 40],
            Gen.Byte.Array[0, 300],
            Gen.Select(GenPortRef.Null(), GenType, (p, t) => new PortDescriptorEnvelope(p, t)).Array[0, 6],
            Gen.Byte.Array[0, 2000].Array[0, 3],
            Gen.Select(Gen.Bool, Gen.ULong, Gen.ULong, Gen.Long, (s, task, seq, time) => new TrailerEnvelope(s ? TestPeers.Local : null, task, seq, time)))
        .Select(t => (t.Item1, t.Item2, t.Item3, t.Item4, t.Item5, Ports: t.Item6.Select(d => d.Type == PortDisposition.PortReceive && d.Port is null ? d with { Type = PortDisposition.None } : d).ToArray(), t.Item7, t.Item8))
        .Select(t => new MessageEnvelope
        {
            Destination = t.Item1,
            DestinationType = PortDisposition.PortSendOnce,
            Reply = t.Item2,
            ReplyType = t.Item2 is null ? PortDisposition.None : PortDisposition.PortSendOnce,
            MessageId = t.Item3,
            ProtocolId = t.Item4,
            Flags = MessageFlags.Complex,
            Payload = t.Item5,
            Ports = t.Ports,
            OutOfLine = [.. t.Item7.Select(b => (ReadOnlyMemory<byte>)b)],
            ReceiveRights = [.. t.Ports.Select((d, i) => (d, i)).Where(x => x.d.Type == PortDisposition.PortReceive)
                .Select(x => new ReceiveRightEnvelope(x.i, t.Item8.Sequence + (ulong)x.i, (uint)x.i, (uint)t.Item3, 1, (uint)x.i * 3))],
            Trailer = t.Item8,
        });

    [Fact]
    public void Decode_RandomEnvelopes_RoundTrip() =>
        GenEnvelope.Sample(e => AssertSame(e, MessageEnvelopeCodec.Decode(MessageEnvelopeCodec.Encode(e))), iter: 500);

    [Fact]
    public void Decode_Example_KeepsEveryField()
    {
        var envelope = new MessageEnvelope
        {
            Destination = new PortRef(TestPeers.Local, PortId.NewRandom()),
            Reply = new PortRef(TestPeers.Remote, PortId.NewRandom()),
            ReplyType = PortDisposition.PortSendOnce,
            MessageId = 7,
            Payload = "example_payload"u8.ToArray(),
            Ports = [new(null, PortDisposition.None)],
            Trailer = new TrailerEnvelope(TestPeers.Local, 3, 9, 1_700_000_000_000),
        };

        var decoded = MessageEnvelopeCodec.Decode(MessageEnvelopeCodec.Encode(envelope));

        AssertSame(envelope, decoded);
        Assert.Equal("example_payload", System.Text.Encoding.UTF8.GetString(decoded.Payload.Span));
    }

    [Fact]
    public void Decode_LargerThanMaxEncodedSize_ThrowsMessageTooLarge()
    {
        var options = new MessageCodecOptions { MaxEncodedSize = 100 };
        var bytes = MessageEnvelopeCodec.Encode(new MessageEnvelope
        {
            Destination = new PortRef(TestPeers.Local, PortId.NewRandom()),
            Payload = new byte[200],
        });

        Assert.Throws<MessageTooLargeException>(() => MessageEnvelopeCodec.Decode(bytes, options));
    }

    [Fact]
    public void Decode_TooManyPorts_ThrowsInvalidFormat()
    {
        var bytes = MessageEnvelopeCodec.Encode(new MessageEnvelope
        {
            Destination = new PortRef(TestPeers.Local, PortId.NewRandom()),
            Ports = [.. Enumerable.Repeat(new PortDescriptorEnvelope(null, PortDisposition.None), 5)],
        });

        Assert.Throws<InvalidFormatException>(() => MessageEnvelopeCodec.Decode(bytes, new MessageCodecOptions { MaxPorts = 4 }));
    }

    [Fact]
    public void Decode_TooManyOutOfLineRegions_ThrowsInvalidFormat()
    {
        var bytes = MessageEnvelopeCodec.Encode(new MessageEnvelope
        {
            Destination = new PortRef(TestPeers.Local, PortId.NewRandom()),
            OutOfLine = [new byte[1], new byte[1], new byte[1]],
        });

        Assert.Throws<InvalidFormatException>(() => MessageEnvelopeCodec.Decode(bytes, new MessageCodecOptions { MaxOutOfLine = 2 }));
    }

    [Fact]
    public void Decode_NestingDeeperThanLimit_ThrowsInvalidFormat()
    {
        var bytes = MessageEnvelopeCodec.Encode(new MessageEnvelope
        {
            Destination = new PortRef(TestPeers.Local, PortId.NewRandom()),
            Ports = [new(new PortRef(TestPeers.Local, PortId.NewRandom()), PortDisposition.PortSend)],
        });

        // envelope > ports > descriptor > port reference is depth 4.
        Assert.Throws<InvalidFormatException>(() => MessageEnvelopeCodec.Decode(bytes, new MessageCodecOptions { MaxDepth = 3 }));
        Assert.Single(MessageEnvelopeCodec.Decode(bytes, new MessageCodecOptions { MaxDepth = 4 }).Ports);
    }

    [Fact]
    public void Decode_DeeplyNestedGarbage_ThrowsInvalidFormat()
    {
        var bytes = Enumerable.Repeat((byte)0x91, 10_000).Append((byte)0xc0).ToArray(); // [[[[…nil…]]]]
        Assert.Throws<InvalidFormatException>(() => MessageEnvelopeCodec.Decode(bytes));
    }

    [Fact]
    public void Decode_EveryTruncation_ThrowsInvalidFormat()
    {
        var bytes = MessageEnvelopeCodec.Encode(new MessageEnvelope
        {
            Destination = new PortRef(TestPeers.Local, PortId.NewRandom()),
            Payload = new byte[10],
        });

        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.Throws<InvalidFormatException>(() => MessageEnvelopeCodec.Decode(bytes.AsMemory(0, length)));
        }
    }

    [Fact]
    public void Decode_TrailingBytes_ThrowsInvalidFormat()
    {
        var bytes = MessageEnvelopeCodec.Encode(new MessageEnvelope { Destination = new PortRef(TestPeers.Local, PortId.NewRandom()) });
        Assert.Throws<InvalidFormatException>(() => MessageEnvelopeCodec.Decode(bytes.Append((byte)0xc0).ToArray()));
    }

    [Fact]
    public void Decode_RandomBytes_NeverThrowsAnythingButMeshExceptions() =>
        Gen.Byte.Array[0, 200].Sample(bytes =>
        {
            try
            {
                MessageEnvelopeCodec.Decode(bytes);
            }
            catch (MeshException)
            {
            }
        }, iter: 2000);

    [Fact]
    public void Decode_UnknownDisposition_ThrowsInvalidFormat()
    {
        var bytes = MessageEnvelopeCodec.Encode(new MessageEnvelope
        {
            Destination = new PortRef(TestPeers.Local, PortId.NewRandom()),
            DestinationType = (PortDisposition)99,
        });
        Assert.Throws<InvalidFormatException>(() => MessageEnvelopeCodec.Decode(bytes));
    }

    [Fact]
    public void Options_Validate_RejectsShallowDepth() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new MessageCodecOptions { MaxDepth = 2 }.Validate());

    private static void AssertSame(MessageEnvelope expected, MessageEnvelope actual)
    {
        Assert.Equal(expected.Destination, actual.Destination);
        Assert.Equal(expected.DestinationType, actual.DestinationType);
        Assert.Equal(expected.Reply, actual.Reply);
        Assert.Equal(expected.ReplyType, actual.ReplyType);
        Assert.Equal(expected.MessageId, actual.MessageId);
        Assert.True(expected.ProtocolId.Span.SequenceEqual(actual.ProtocolId.Span));
        Assert.Equal(expected.Flags, actual.Flags);
        Assert.True(expected.Payload.Span.SequenceEqual(actual.Payload.Span));
        Assert.Equal(expected.Ports, actual.Ports);
        Assert.Equal(expected.OutOfLine.Count, actual.OutOfLine.Count);
        for (var i = 0; i < expected.OutOfLine.Count; i++)
        {
            Assert.True(expected.OutOfLine[i].Span.SequenceEqual(actual.OutOfLine[i].Span));
        }

        Assert.Equal(expected.ReceiveRights, actual.ReceiveRights);
        Assert.Equal(expected.Trailer, actual.Trailer);
    }

    private static MessageEnvelope MovingReceive(IReadOnlyList<ReceiveRightEnvelope> receiveRights, PortDisposition replyType = PortDisposition.PortReceive) => new()
    {
        Destination = new PortRef(TestPeers.Local, PortId.NewRandom()),
        Reply = new PortRef(TestPeers.Remote, PortId.NewRandom()),
        ReplyType = replyType,
        Ports = [new(new PortRef(TestPeers.Remote, PortId.NewRandom()), PortDisposition.PortReceive), new(null, PortDisposition.None)],
        ReceiveRights = receiveRights,
    };

    [Fact]
    public void Decode_ReceiveRightsWithTheirState_RoundTripAsTwelveFields()
    {
        var envelope = MovingReceive([new(-1, 5, 16, 2, 1, 0, 4), new(0, 0, 0, 9, 0, 3)]);
        var bytes = MessageEnvelopeCodec.Encode(envelope);

        Assert.Equal(0x9c, bytes[0]);
        AssertSame(envelope, MessageEnvelopeCodec.Decode(bytes));
        Assert.Equal(0x9b, MessageEnvelopeCodec.Encode(envelope with { ReplyType = PortDisposition.None, Ports = [], ReceiveRights = [] })[0]);
    }

    public static TheoryData<string, MessageEnvelope> InconsistentReceiveRights => new()
    {
        { "a receive right without its state", MovingReceive([]) },
        { "one entry for two receive rights", MovingReceive([new(0, 0, 1, 1, 0, 0)]) },
        { "an entry for a slot past the descriptors", MovingReceive([new(-1, 0, 1, 1, 0, 0), new(2, 0, 1, 1, 0, 0)]) },
        { "an entry for a descriptor that is not a receive right", MovingReceive([new(-1, 0, 1, 1, 0, 0), new(1, 0, 1, 1, 0, 0)]) },
        { "two entries for one slot", MovingReceive([new(0, 0, 1, 1, 0, 0), new(0, 0, 1, 1, 0, 0)], PortDisposition.PortSendOnce) },
        { "an entry for a reply that is not a receive right", MovingReceive([new(-1, 0, 1, 1, 0, 0), new(0, 0, 1, 1, 0, 0)], PortDisposition.PortSend) },
    };

    [Theory]
    [MemberData(nameof(InconsistentReceiveRights))]
    public void Decode_ReceiveRightsInconsistentWithTheirState_ThrowsInvalidFormat(string why, MessageEnvelope envelope)
    {
        var bytes = MessageEnvelopeCodec.Encode(envelope);
        var error = Assert.Throws<InvalidFormatException>(() => MessageEnvelopeCodec.Decode(bytes));
        Assert.False(string.IsNullOrEmpty(error.Message), why);
    }
}
