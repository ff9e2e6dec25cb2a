using System.Buffers;
using System.IO.Pipelines;
using PromiseGrid.Mesh.Libp2p.Tests.Testing;
using PromiseGrid.Mesh.Multistream;

namespace PromiseGrid.Mesh.Libp2p.Tests.Multistream;

public class MultistreamSelectTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task SelectOneOfAsync_ListenerSupportsFirst_BothAgree()
    {
        var (dialer, listener) = DuplexPipePair.Create();
        var listen = MultistreamSelect.ListenAsync(listener, new HashSet<string> { "/noise" }).AsTask();
        var selected = await MultistreamSelect.SelectOneOfAsync(dialer, ["/noise"]).AsTask().WaitAsync(Timeout);

        Assert.Equal("/noise", selected);
        Assert.Equal("/noise", await listen.WaitAsync(Timeout));
    }

    [Fact]
    public async Task SelectOneOfAsync_FirstRefused_SecondAccepted()
    {
        var (dialer, listener) = DuplexPipePair.Create();
        var listen = MultistreamSelect.ListenAsync(listener, p => p == "/yamux/1.0.0").AsTask();
        var selected = await MultistreamSelect.SelectOneOfAsync(dialer, ["/mplex/6.7.0", "/yamux/1.0.0"]).AsTask().WaitAsync(Timeout);

        Assert.Equal("/yamux/1.0.0", selected);
        Assert.Equal("/yamux/1.0.0", await listen.WaitAsync(Timeout));
    }

    [Fact]
    public async Task SelectOneOfAsync_NoneSupported_ThrowsProtocolNegotiation()
    {
        var (dialer, listener) = DuplexPipePair.Create();
        var listen = MultistreamSelect.ListenAsync(listener, _ => false).AsTask();
        await Assert.ThrowsAsync<ProtocolNegotiationException>(() =>
            MultistreamSelect.SelectOneOfAsync(dialer, ["/a", "/b"]).AsTask().WaitAsync(Timeout));
        await dialer.Output.CompleteAsync();
        await Assert.ThrowsAsync<ConnectionClosedException>(() => listen.WaitAsync(Timeout));
    }

    [Fact]
    public async Task SelectOneOfAsync_WritesHeaderAndFirstProposalInOneFlush()
    {
        var (dialer, listener) = DuplexPipePair.Create();
        var select = MultistreamSelect.SelectOneOfAsync(dialer, ["/noise"]).AsTask();

        var read = await listener.Input.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal("132f6d756c746973747265616d2f312e302e300a072f6e6f6973650a", Convert.ToHexStringLower(read.Buffer.ToArray()));
        listener.Input.AdvanceTo(read.Buffer.End);

        await listener.Output.WriteAsync(Convert.FromHexString("132f6d756c746973747265616d2f312e302e300a072f6e6f6973650a"));
        Assert.Equal("/noise", await select.WaitAsync(Timeout));
    }

    [Fact]
    public async Task ListenAsync_SendsHeaderBeforeReading()
    {
        var (dialer, listener) = DuplexPipePair.Create();
        var listen = MultistreamSelect.ListenAsync(listener, _ => true).AsTask();

        var read = await dialer.Input.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal("132f6d756c746973747265616d2f312e302e300a", Convert.ToHexStringLower(read.Buffer.ToArray()));
        dialer.Input.AdvanceTo(read.Buffer.End);
        Assert.False(listen.IsCompleted);
    }

    [Fact]
    public async Task ListenAsync_PipelinedBytesAfterProposal_StayInPipe()
    {
        var (dialer, listener) = DuplexPipePair.Create();
        var bytes = new ArrayBufferWriter<byte>();
        MultistreamCodec.Write(bytes, "/multistream/1.0.0");
        MultistreamCodec.Write(bytes, "/noise");
        bytes.Write(new byte[] { 0x00, 0x20, 0x01, 0x02 });
        await dialer.Output.WriteAsync(bytes.WrittenMemory);

        Assert.Equal("/noise", await MultistreamSelect.ListenAsync(listener, _ => true).AsTask().WaitAsync(Timeout));
        var rest = await listener.Input.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal(new byte[] { 0x00, 0x20, 0x01, 0x02 }, rest.Buffer.ToArray());
    }

    [Fact]
    public async Task SelectOneOfAsync_PipelinedBytesAfterAccept_StayInPipe()
    {
        var (dialer, listener) = DuplexPipePair.Create();
        var bytes = new ArrayBufferWriter<byte>();
        MultistreamCodec.Write(bytes, "/multistream/1.0.0");
        MultistreamCodec.Write(bytes, "/ipfs/id/1.0.0");
        bytes.Write(new byte[] { 0x05, 0x0a });
        await listener.Output.WriteAsync(bytes.WrittenMemory);

        Assert.Equal("/ipfs/id/1.0.0", await MultistreamSelect.SelectAsync(dialer, "/ipfs/id/1.0.0").AsTask().WaitAsync(Timeout));
        var rest = await dialer.Input.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal(new byte[] { 0x05, 0x0a }, rest.Buffer.ToArray());
    }

    [Fact]
    public async Task ListenAsync_Ls_AnswersWithProtocolList()
    {
        var (dialer, listener) = DuplexPipePair.Create();
        var listen = MultistreamSelect.ListenAsync(listener, new[] { "/a" }).AsTask();
        var request = new ArrayBufferWriter<byte>();
        MultistreamCodec.Write(request, "/multistream/1.0.0");
        MultistreamCodec.Write(request, "ls");
        await dialer.Output.WriteAsync(request.WrittenMemory);

        Assert.Equal("/multistream/1.0.0", await MultistreamSelect.ReadMessageAsync(dialer.Input, default).AsTask().WaitAsync(Timeout));
        Assert.Equal("\u0003/a\n", await MultistreamSelect.ReadMessageAsync(dialer.Input, default).AsTask().WaitAsync(Timeout));
        Assert.False(listen.IsCompleted);
    }

    [Fact]
    public async Task ListenAsync_WrongHeader_ThrowsProtocolNegotiation()
    {
        var (dialer, listener) = DuplexPipePair.Create();
        await dialer.Output.WriteAsync(MultistreamCodec.Encode("/multistream/2.0.0"));
        await Assert.ThrowsAsync<ProtocolNegotiationException>(() =>
            MultistreamSelect.ListenAsync(listener, _ => true).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task ListenAsync_OversizedMessage_ThrowsLimitExceeded()
    {
        var (dialer, listener) = DuplexPipePair.Create();
        await dialer.Output.WriteAsync(Convert.FromHexString("ff7f"));
        await Assert.ThrowsAsync<LimitExceededException>(() =>
            MultistreamSelect.ListenAsync(listener, _ => true).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task ListenAsync_Garbage_ThrowsInvalidFormat()
    {
        var (dialer, listener) = DuplexPipePair.Create();
        await dialer.Output.WriteAsync(Convert.FromHexString("ffffffffffffffffffff"));
        await Assert.ThrowsAsync<InvalidFormatException>(() =>
            MultistreamSelect.ListenAsync(listener, _ => true).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task SelectOneOfAsync_UnexpectedAnswer_ThrowsProtocolNegotiation()
    {
        var (dialer, listener) = DuplexPipePair.Create();
        var answer = new ArrayBufferWriter<byte>();
        MultistreamCodec.Write(answer, "/multistream/1.0.0");
        MultistreamCodec.Write(answer, "/other");
        await listener.Output.WriteAsync(answer.WrittenMemory);
        await Assert.ThrowsAsync<ProtocolNegotiationException>(() =>
            MultistreamSelect.SelectAsync(dialer, "/noise").AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task SelectOneOfAsync_RemoteClosesEarly_ThrowsConnectionClosed()
    {
        var (dialer, listener) = DuplexPipePair.Create();
        await listener.Output.CompleteAsync();
        await Assert.ThrowsAsync<ConnectionClosedException>(() =>
            MultistreamSelect.SelectAsync(dialer, "/noise").AsTask().WaitAsync(Timeout));
    }
}
