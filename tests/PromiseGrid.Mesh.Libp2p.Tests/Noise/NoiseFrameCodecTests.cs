using System.Buffers;
using PromiseGrid.Mesh.Noise;

namespace PromiseGrid.Mesh.Libp2p.Tests.Noise;

public class NoiseFrameCodecTests
{
    [Fact]
    public void TryReadFrame_CompleteFrameAndTrailingBytes_TakesOnlyTheFrame()
    {
        var buffer = new ReadOnlySequence<byte>([0x00, 0x03, 1, 2, 3, 0x00]);

        Assert.True(NoiseFrameCodec.TryReadFrame(ref buffer, out var message));

        Assert.Equal(new byte[] { 1, 2, 3 }, message.ToArray());
        Assert.Equal(new byte[] { 0x00 }, buffer.ToArray());
    }

    [Fact]
    public void TryReadFrame_PartialFrame_ReturnsFalseAndKeepsBuffer()
    {
        var buffer = new ReadOnlySequence<byte>([0x01, 0x00, 1, 2, 3]);

        Assert.False(NoiseFrameCodec.TryReadFrame(ref buffer, out _));
        Assert.Equal(5, buffer.Length);
    }

    [Fact]
    public void TryReadFrame_LengthPrefixSplitAcrossSegments_Reads()
    {
        var buffer = Segments([0x00], [0x02, 7], [8, 9]);

        Assert.True(NoiseFrameCodec.TryReadFrame(ref buffer, out var message));

        Assert.Equal(new byte[] { 7, 8 }, message.ToArray());
        Assert.Equal(new byte[] { 9 }, buffer.ToArray());
    }

    [Fact]
    public void WriteLengthPrefix_MaxMessage_BigEndian()
    {
        var prefix = new byte[2];

        NoiseFrameCodec.WriteLengthPrefix(prefix, NoiseFrameCodec.MaxMessageLength);

        Assert.Equal(new byte[] { 0xff, 0xff }, prefix);
        Assert.Equal(65519, NoiseFrameCodec.MaxPlaintextLength);
    }

    [Fact]
    public void WriteLengthPrefix_PastMaximum_ThrowsLimitExceeded()
    {
        var e = Assert.Throws<LimitExceededException>(() => NoiseFrameCodec.WriteLengthPrefix(new byte[2], NoiseFrameCodec.MaxMessageLength + 1));
        Assert.Equal(65535, e.Maximum);
    }

    private static ReadOnlySequence<byte> Segments(params byte[][] parts)
    {
        var first = new Segment(parts[0], 0);
        var last = first;
        foreach (var part in parts.Skip(1))
        {
            last = last.Append(part);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] data, long runningIndex)
        {
            Memory = data;
            RunningIndex = runningIndex;
        }

        public Segment Append(byte[] data)
        {
            var next = new Segment(data, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
