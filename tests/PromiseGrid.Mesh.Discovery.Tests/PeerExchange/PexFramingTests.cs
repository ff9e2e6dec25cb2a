using System.Buffers;
using System.IO.Pipelines;
using PromiseGrid.Mesh.Discovery.PeerExchange;

namespace PromiseGrid.Mesh.Discovery.Tests.PeerExchange;

public class PexFramingTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task WriteFrameAsync_Body_IsPrefixedWithItsUvarintLength()
    {
        var pipe = new Pipe();
        await PexFraming.WriteFrameAsync(pipe.Writer, new byte[200]).AsTask().WaitAsync(Timeout);
        await pipe.Writer.CompleteAsync();
        var read = await pipe.Reader.ReadAsync();
        var bytes = read.Buffer.ToArray();
        Assert.Equal(202, bytes.Length);
        Assert.Equal(new byte[] { 0xc8, 0x01 }, bytes[..2]);
    }

    [Fact]
    public async Task ReadFrameAsync_FrameSplitAcrossWrites_ReturnsTheBody()
    {
        var pipe = new Pipe();
        var read = PexFraming.ReadFrameAsync(pipe.Reader, 1024).AsTask();
        await pipe.Writer.WriteAsync(new byte[] { 0x03, 0x01 });
        Assert.False(read.IsCompleted);
        await pipe.Writer.WriteAsync(new byte[] { 0x02, 0x03, 0x09 });
        Assert.Equal(new byte[] { 1, 2, 3 }, await read.WaitAsync(Timeout));
        var rest = await pipe.Reader.ReadAsync();
        Assert.Equal(new byte[] { 0x09 }, rest.Buffer.ToArray());
    }

    [Fact]
    public async Task ReadFrameAsync_LengthAtTheLimit_IsAccepted()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(RawProto.Frame(new byte[PeerExchangeProtocol.MaxMessageSize]));
        var body = await PexFraming.ReadFrameAsync(pipe.Reader, PeerExchangeProtocol.MaxMessageSize).AsTask().WaitAsync(Timeout);
        Assert.Equal(PeerExchangeProtocol.MaxMessageSize, body.Length);
    }

    [Fact]
    public async Task ReadFrameAsync_LengthOverTheLimit_ThrowsBeforeTheBodyArrives()
    {
        var pipe = new Pipe();
        // Only the prefix is written: the reader must reject it without waiting for 16 KiB + 1 bytes.
        await pipe.Writer.WriteAsync(PromiseGrid.Mesh.Multiformats.Varint.Encode(PeerExchangeProtocol.MaxMessageSize + 1));
        var e = await Assert.ThrowsAsync<LimitExceededException>(
            () => PexFraming.ReadFrameAsync(pipe.Reader, PeerExchangeProtocol.MaxMessageSize).AsTask().WaitAsync(Timeout));
        Assert.Equal(PeerExchangeProtocol.MaxMessageSize + 1, e.Value);
    }

    [Fact]
    public async Task ReadFrameAsync_EndInsideTheFrame_ThrowsInvalidFormat()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(new byte[] { 0x05, 0x01 });
        await pipe.Writer.CompleteAsync();
        await Assert.ThrowsAsync<InvalidFormatException>(() => PexFraming.ReadFrameAsync(pipe.Reader, 1024).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task ReadFrameAsync_EndBeforeAnyByte_ThrowsProtocolViolation()
    {
        var pipe = new Pipe();
        await pipe.Writer.CompleteAsync();
        await Assert.ThrowsAsync<ProtocolViolationException>(() => PexFraming.ReadFrameAsync(pipe.Reader, 1024).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task ReadFrameAsync_NonMinimalVarint_ThrowsInvalidFormat()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(new byte[] { 0x81, 0x00, 0x01 });
        await Assert.ThrowsAsync<InvalidFormatException>(() => PexFraming.ReadFrameAsync(pipe.Reader, 1024).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task ReadEndAsync_ExtraBytes_ThrowsProtocolViolation()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(new byte[] { 0x00 });
        await pipe.Writer.CompleteAsync();
        await Assert.ThrowsAsync<ProtocolViolationException>(() => PexFraming.ReadEndAsync(pipe.Reader).AsTask().WaitAsync(Timeout));
    }
}
