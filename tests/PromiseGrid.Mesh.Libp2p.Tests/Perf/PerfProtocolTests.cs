using System.Buffers;
using PromiseGrid.Mesh.Echo;
using PromiseGrid.Mesh.Libp2p.Tests.Testing;
using PromiseGrid.Mesh.Perf;

namespace PromiseGrid.Mesh.Libp2p.Tests.Perf;

public class PerfProtocolTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(0UL, 0UL)]
    [InlineData(1000UL, 0UL)]
    [InlineData(0UL, 200_000UL)]
    [InlineData(3_000_000UL, 5_000_000UL)]
    public async Task RunAsync_Sizes_ServerSendsRequestedAndCountsUpload(ulong upload, ulong download)
    {
        var (client, server) = DuplexPipePair.Create();
        var handler = PerfProtocol.HandleAsync(server);
        var result = await PerfProtocol.RunAsync(client, upload, download).AsTask().WaitAsync(Timeout);

        Assert.Equal(download, result.Downloaded);
        Assert.Equal(upload, await handler.WaitAsync(Timeout));
    }

    [Fact]
    public async Task RunAsync_WireStartsWithBigEndianSize()
    {
        var (client, server) = DuplexPipePair.Create();
        var run = PerfProtocol.RunAsync(client, 0, 0x0102030405060708).AsTask();
        var read = await server.Input.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, read.Buffer.Slice(0, 8).ToArray());
        server.Input.AdvanceTo(read.Buffer.End);
        await server.Output.CompleteAsync();
        await Assert.ThrowsAsync<ProtocolViolationException>(() => run.WaitAsync(Timeout));
    }

    [Fact]
    public async Task HandleAsync_DoesNotSendBeforeUploadEnds()
    {
        var (client, server) = DuplexPipePair.Create();
        var handler = PerfProtocol.HandleAsync(server);
        await client.Output.WriteAsync(new byte[] { 0, 0, 0, 0, 0, 0, 0, 10, 1, 2, 3 });
        Assert.False(client.Input.TryRead(out _));
        await client.Output.CompleteAsync();
        Assert.Equal(3UL, await handler.WaitAsync(Timeout));
        var read = await client.Input.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal(new byte[10], read.Buffer.ToArray());
    }

    [Fact]
    public async Task HandleAsync_EofBeforeSize_ThrowsProtocolViolation()
    {
        var (client, server) = DuplexPipePair.Create();
        await client.Output.WriteAsync(new byte[] { 0, 0, 0 });
        await client.Output.CompleteAsync();
        await Assert.ThrowsAsync<ProtocolViolationException>(() => PerfProtocol.HandleAsync(server).WaitAsync(Timeout));
    }
}

public class EchoProtocolTests
{
    [Fact]
    public async Task HandleAsync_Bytes_EchoedThenClosed()
    {
        var (client, server) = DuplexPipePair.Create();
        var handler = EchoProtocol.HandleAsync(server);
        var data = Enumerable.Range(0, 100_000).Select(i => (byte)i).ToArray();
        await client.Output.WriteAsync(data);
        await client.Output.CompleteAsync();

        var echoed = new List<byte>();
        while (true)
        {
            var r = await client.Input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            echoed.AddRange(r.Buffer.ToArray());
            client.Input.AdvanceTo(r.Buffer.End);
            if (r.IsCompleted)
            {
                break;
            }
        }

        Assert.Equal(data, echoed);
        Assert.Equal(data.Length, await handler.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
