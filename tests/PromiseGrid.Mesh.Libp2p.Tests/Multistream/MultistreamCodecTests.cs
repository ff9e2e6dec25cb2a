using System.Buffers;
using PromiseGrid.Mesh.Multistream;

namespace PromiseGrid.Mesh.Libp2p.Tests.Multistream;

public class MultistreamCodecTests
{
    [Theory]
    [InlineData("/multistream/1.0.0", "132f6d756c746973747265616d2f312e302e300a")]
    [InlineData("na", "036e610a")]
    [InlineData("ls", "036c730a")]
    [InlineData("/noise", "072f6e6f6973650a")]
    [InlineData("/yamux/1.0.0", "0d2f79616d75782f312e302e300a")]
    [InlineData("/ipfs/id/1.0.0", "0f2f697066732f69642f312e302e300a")]
    [InlineData("/ipfs/id/push/1.0.0", "142f697066732f69642f707573682f312e302e300a")]
    [InlineData("/ipfs/ping/1.0.0", "112f697066732f70696e672f312e302e300a")]
    [InlineData("/perf/1.0.0", "0c2f706572662f312e302e300a")]
    public void Encode_SpecVector_MatchesBytes(string text, string hex)
    {
        Assert.Equal(hex, Convert.ToHexStringLower(MultistreamCodec.Encode(text)));
    }

    [Theory]
    [InlineData("/multistream/1.0.0", "132f6d756c746973747265616d2f312e302e300a")]
    [InlineData("na", "036e610a")]
    [InlineData("/yamux/1.0.0", "0d2f79616d75782f312e302e300a")]
    public void TryRead_SpecVector_DecodesAndConsumesExactly(string text, string hex)
    {
        var bytes = Convert.FromHexString(hex + "abcd");
        var buffer = new ReadOnlySequence<byte>(bytes);

        Assert.True(MultistreamCodec.TryRead(ref buffer, out var message));
        Assert.Equal(text, message);
        Assert.Equal(new byte[] { 0xab, 0xcd }, buffer.ToArray());
    }

    [Fact]
    public void TryRead_Truncated_ReturnsFalse()
    {
        var bytes = MultistreamCodec.Encode("/noise");
        for (var i = 0; i < bytes.Length; i++)
        {
            var buffer = new ReadOnlySequence<byte>(bytes, 0, i);
            Assert.False(MultistreamCodec.TryRead(ref buffer, out _));
        }
    }

    [Fact]
    public void TryRead_MissingNewline_ThrowsInvalidFormat()
    {
        var buffer = new ReadOnlySequence<byte>(Convert.FromHexString("036e6178"));
        Assert.Throws<InvalidFormatException>(() => MultistreamCodec.TryRead(ref buffer, out _));
    }

    [Fact]
    public void TryRead_LengthAboveLimit_ThrowsLimitExceeded()
    {
        // 1025 = 0x81 0x08
        var buffer = new ReadOnlySequence<byte>(Convert.FromHexString("8108"));
        var ex = Assert.Throws<LimitExceededException>(() => MultistreamCodec.TryRead(ref buffer, out _));
        Assert.Equal(1025, ex.Value);
    }

    [Fact]
    public void TryRead_LengthAtLimit_Succeeds()
    {
        var text = new string('a', MultistreamCodec.MaxMessageLength - 1);
        var buffer = new ReadOnlySequence<byte>(MultistreamCodec.Encode(text));
        Assert.True(MultistreamCodec.TryRead(ref buffer, out var message));
        Assert.Equal(text, message);
    }

    [Fact]
    public void Write_AboveLimit_ThrowsLimitExceeded()
    {
        Assert.Throws<LimitExceededException>(() => MultistreamCodec.Encode(new string('a', MultistreamCodec.MaxMessageLength)));
    }

    [Fact]
    public void TryRead_NonMinimalVarint_ThrowsInvalidFormat()
    {
        var buffer = new ReadOnlySequence<byte>(Convert.FromHexString("83006e610a"));
        Assert.Throws<InvalidFormatException>(() => MultistreamCodec.TryRead(ref buffer, out _));
    }

    [Fact]
    public void TryRead_EmptyMessage_ThrowsInvalidFormat()
    {
        var buffer = new ReadOnlySequence<byte>(new byte[] { 0 });
        Assert.Throws<InvalidFormatException>(() => MultistreamCodec.TryRead(ref buffer, out _));
    }

    [Fact]
    public void WriteList_TwoProtocols_FramesEachThenNewline()
    {
        var writer = new ArrayBufferWriter<byte>();
        MultistreamCodec.WriteList(writer, ["/a", "/bc"]);
        // inner: 03 2f61 0a 04 2f6263 0a = 9 bytes, + final 0a = 10 = 0x0a
        Assert.Equal("0a032f610a042f62630a0a", Convert.ToHexStringLower(writer.WrittenSpan));
    }
}
