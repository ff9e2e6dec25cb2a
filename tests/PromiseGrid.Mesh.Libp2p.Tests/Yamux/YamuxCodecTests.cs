using System.Buffers;
using PromiseGrid.Mesh.Yamux;

namespace PromiseGrid.Mesh.Libp2p.Tests.Yamux;

public class YamuxCodecTests
{
    public static TheoryData<string, byte, ushort, uint, uint> ExampleFrames => new()
    {
        // libp2p-wire.md §6.7
        { "000100010000000100000000", 1, 0x1, 1, 0 },        // WindowUpdate SYN stream 1 (open)
        { "000100020000000100000000", 1, 0x2, 1, 0 },        // WindowUpdate ACK stream 1 (accept)
        { "000000000000000100000005", 0, 0x0, 1, 5 },        // Data stream 1, 5 bytes ("hello" follows)
        { "000100000000000100040000", 1, 0x0, 1, 262144 },   // WindowUpdate stream 1 delta 262144
        { "000100040000000100000000", 1, 0x4, 1, 0 },        // WindowUpdate FIN stream 1
        { "000100080000000100000000", 1, 0x8, 1, 0 },        // WindowUpdate RST stream 1
        { "000200010000000000000007", 2, 0x1, 0, 7 },        // Ping SYN value 7
        { "000200020000000000000007", 2, 0x2, 0, 7 },        // Ping ACK value 7
        { "000300000000000000000000", 3, 0x0, 0, 0 },        // GoAway normal
    };

    [Theory]
    [MemberData(nameof(ExampleFrames))]
    public void Read_SpecExampleFrame_DecodesFields(string hex, byte type, ushort flags, uint streamId, uint length)
    {
        var header = YamuxCodec.Read(Convert.FromHexString(hex));

        Assert.Equal(new YamuxFrameHeader(0, (YamuxFrameType)type, (YamuxFlags)flags, streamId, length), header);
    }

    [Theory]
    [MemberData(nameof(ExampleFrames))]
    public void Write_SpecExampleFrame_ProducesSpecBytes(string hex, byte type, ushort flags, uint streamId, uint length)
    {
        var bytes = new byte[YamuxCodec.HeaderSize];

        YamuxCodec.Write(bytes, new YamuxFrameHeader(0, (YamuxFrameType)type, (YamuxFlags)flags, streamId, length));

        Assert.Equal(hex, Convert.ToHexStringLower(bytes));
    }

    [Fact]
    public void Factories_SpecExamples_MatchSpecBytes()
    {
        static string Hex(YamuxFrameHeader header)
        {
            var bytes = new byte[YamuxCodec.HeaderSize];
            YamuxCodec.Write(bytes, header);
            return Convert.ToHexStringLower(bytes);
        }

        Assert.Equal("000100010000000100000000", Hex(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Syn)));
        Assert.Equal("000000000000000100000005", Hex(YamuxFrameHeader.Data(1, 5)));
        Assert.Equal("000100000000000100040000", Hex(YamuxFrameHeader.WindowUpdate(1, 262144)));
        Assert.Equal("000200010000000000000007", Hex(YamuxFrameHeader.Ping(YamuxFlags.Syn, 7)));
        Assert.Equal("000300000000000000000000", Hex(YamuxFrameHeader.GoAway(YamuxGoAwayCode.Normal)));
    }

    [Fact]
    public void TryRead_HeaderSplitAcrossSegments_Decodes()
    {
        var bytes = Convert.FromHexString("00000000000000010000000568656c6c6f");
        var first = new Segment(bytes.AsMemory(0, 5));
        var last = first.Append(bytes.AsMemory(5));
        var sequence = new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);

        Assert.True(YamuxCodec.TryRead(sequence, out var header));
        Assert.Equal(YamuxFrameHeader.Data(1, 5), header);
        Assert.Equal("hello", System.Text.Encoding.ASCII.GetString(sequence.Slice(YamuxCodec.HeaderSize).ToArray()));
    }

    [Fact]
    public void TryRead_FewerThanTwelveBytes_ReturnsFalse()
    {
        Assert.False(YamuxCodec.TryRead(new ReadOnlySequence<byte>(new byte[11]), out _));
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
