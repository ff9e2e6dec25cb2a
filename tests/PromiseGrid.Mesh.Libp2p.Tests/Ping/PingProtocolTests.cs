using System.Buffers;
using PromiseGrid.Mesh.Libp2p.Tests.Testing;
using PromiseGrid.Mesh.Ping;

namespace PromiseGrid.Mesh.Libp2p.Tests.Ping;

public class PingProtocolTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task PingAsync_ThreePings_YieldsThreeRttsAndHandlerEnds()
    {
        var (client, server) = DuplexPipePair.Create();
        var handler = PingProtocol.HandleAsync(server);
        var rtts = new List<TimeSpan>();
        await foreach (var rtt in PingProtocol.PingAsync(client, count: 3))
        {
            rtts.Add(rtt);
        }

        Assert.Equal(3, rtts.Count);
        Assert.All(rtts, r => Assert.True(r >= TimeSpan.Zero));
        await handler.WaitAsync(Timeout);
        var end = await client.Input.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.True(end.IsCompleted);
    }

    [Fact]
    public async Task HandleAsync_EchoesExactBytes()
    {
        var (client, server) = DuplexPipePair.Create();
        var handler = PingProtocol.HandleAsync(server);
        var payload = Enumerable.Range(0, 64).Select(i => (byte)i).ToArray();
        await client.Output.WriteAsync(payload);
        await client.Output.CompleteAsync();
        await handler.WaitAsync(Timeout);

        var echoed = new List<byte>();
        while (true)
        {
            var r = await client.Input.ReadAsync();
            echoed.AddRange(r.Buffer.ToArray());
            client.Input.AdvanceTo(r.Buffer.End);
            if (r.IsCompleted)
            {
                break;
            }
        }

        Assert.Equal(payload, echoed);
    }

    [Fact]
    public async Task HandleAsync_PartialPingAtEof_ThrowsProtocolViolation()
    {
        var (client, server) = DuplexPipePair.Create();
        await client.Output.WriteAsync(new byte[10]);
        await client.Output.CompleteAsync();
        await Assert.ThrowsAsync<ProtocolViolationException>(() => PingProtocol.HandleAsync(server).WaitAsync(Timeout));
    }

    [Fact]
    public async Task PingOnceAsync_WrongEcho_ThrowsProtocolViolation()
    {
        var (client, server) = DuplexPipePair.Create();
        await server.Output.WriteAsync(new byte[32]);
        await Assert.ThrowsAsync<ProtocolViolationException>(() => PingProtocol.PingOnceAsync(client).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task PingOnceAsync_RemoteCloses_ThrowsConnectionClosed()
    {
        var (client, server) = DuplexPipePair.Create();
        await server.Output.CompleteAsync();
        await Assert.ThrowsAsync<ConnectionClosedException>(() => PingProtocol.PingOnceAsync(client).AsTask().WaitAsync(Timeout));
    }
}
