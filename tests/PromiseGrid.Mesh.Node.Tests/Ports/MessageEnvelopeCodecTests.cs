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
            Ports = t.Item6,
            OutOfLine = [.. t.Item7.Select(b => (ReadOnlyMemory<byte>)b)],
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

        Assert.Equal(expected.Trailer, actual.Trailer);
    }
}
