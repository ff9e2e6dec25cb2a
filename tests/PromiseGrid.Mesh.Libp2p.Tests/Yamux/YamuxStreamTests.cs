using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Yamux;
using static PromiseGrid.Mesh.Libp2p.Tests.Testing.PipeTestKit;
using static PromiseGrid.Mesh.Libp2p.Tests.Yamux.YamuxTestKit;

namespace PromiseGrid.Mesh.Libp2p.Tests.Yamux;

public class YamuxStreamTests
{
    [Fact]
    public async Task IMuxedSession_OpenAndAccept_ReturnYamuxStreams()
    {
        var (client, server) = CreatePair();
        await using var _ = client;
        await using var __ = server;
        IMuxedSession dialer = client;
        IMuxedSession listener = server;

        var opened = await dialer.OpenStreamAsync().Within();
        await opened.Output.WriteAsync(new byte[] { 42 }).Within();
        var accepted = await listener.AcceptStreamAsync().Within();

        Assert.IsType<YamuxStream>(opened);
        Assert.Equal(opened.Id, accepted.Id);
        Assert.Equal(new byte[] { 42 }, await ReadExactlyAsync(accepted.Input, 1).Within());
        Assert.Same(client.RemotePeer, dialer.RemotePeer);
    }

    [Fact]
    public async Task OutputComplete_WithException_ResetsTheStream()
    {
        var (session, raw) = CreateRaw();
        await using var _ = session;
        var stream = await session.OpenStreamAsync().Within();
        await raw.ReadFrameAsync(); // SYN

        await stream.Output.CompleteAsync(new InvalidOperationException("application failed"));
        var rst = await raw.ReadFrameAsync();

        Assert.Equal(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Rst), rst!.Value.Header);
        await Assert.ThrowsAsync<StreamResetException>(async () => await stream.Input.ReadAsync());
    }

    [Fact]
    public async Task DisposeAsync_AfterRemoteFin_SendsFinNotRst()
    {
        var (session, raw) = CreateRaw(sessionIsClient: false);
        await using var _ = session;
        await raw.SendAsync(YamuxFrameHeader.Data(1, 2, YamuxFlags.Syn | YamuxFlags.Fin), [1, 2]);
        var stream = await session.AcceptStreamAsync().Within();
        Assert.Equal(new byte[] { 1, 2 }, await ReadToEndAsync(stream.Input).Within());

        await stream.DisposeAsync();
        await stream.DisposeAsync();
        var ack = await raw.ReadFrameAsync();
        var fin = await raw.ReadFrameAsync();

        Assert.Equal(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Ack), ack!.Value.Header);
        Assert.Equal(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Fin), fin!.Value.Header);
        Assert.Equal(0, session.StreamCount); // retired when the FIN was written
    }

    [Fact]
    public async Task Output_LargeWrite_SplitsIntoFramesOfAtMostMaxOutboundFrameSize()
    {
        var (session, raw) = CreateRaw(options: Quiet with { MaxOutboundFrameSize = 1000 });
        await using var _ = session;
        var stream = await session.OpenStreamAsync().Within();

        await stream.Output.WriteAsync(new byte[5500]).Within();
        await raw.ReadFrameAsync(); // SYN
        var sizes = new List<uint>();
        while (sizes.Sum(s => s) < 5500)
        {
            sizes.Add((await raw.ReadFrameAsync())!.Value.Header.Length);
        }

        Assert.Equal([1000u, 1000u, 1000u, 1000u, 1000u, 500u], sizes);
    }

    [Fact]
    public async Task ManyStreams_MixOfEchoAndReset_SessionStaysHealthyAndEmpties()
    {
        var (client, server) = CreatePair();
        await using var _ = client;
        await using var __ = server;
        const int Streams = 64;

        var serverSide = Task.Run(async () =>
        {
            var handlers = new List<Task>();
            for (var i = 0; i < Streams; i++)
            {
                var stream = await server.AcceptStreamAsync();
                handlers.Add(Task.Run(async () =>
                {
                    try
                    {
                        // Streaming echo: what arrives goes straight back.
                        while (true)
                        {
                            var read = await stream.Input.ReadAsync();
                            foreach (var segment in read.Buffer)
                            {
                                await stream.Output.WriteAsync(segment);
                            }

                            stream.Input.AdvanceTo(read.Buffer.End);
                            if (read.IsCompleted)
                            {
                                break;
                            }
                        }

                        await stream.CloseWriteAsync();
                    }
                    catch (StreamResetException)
                    {
                        // the client reset this one
                    }

                    await stream.DisposeAsync();
                }));
            }

            await Task.WhenAll(handlers);
        });
        var clients = Enumerable.Range(0, Streams).Select(i => Task.Run(async () =>
        {
            var stream = await client.OpenStreamAsync();
            var payload = RandomBytes(10_000 + i, seed: i);
            await stream.Output.WriteAsync(payload);
            if (i % 3 == 0)
            {
                // Reset mid-transfer, once the server has surely seen the stream.
                await ReadExactlyAsync(stream.Input, 1);
                stream.Reset();
                return true;
            }

            await stream.CloseWriteAsync();
            var echoed = await ReadToEndAsync(stream.Input);
            await stream.DisposeAsync();
            return echoed.AsSpan().SequenceEqual(payload);
        })).ToArray();

        var results = await Task.WhenAll(clients).Within();
        await serverSide.Within();
        await client.PingAsync().Within();
        await server.PingAsync().Within();

        Assert.All(results, Assert.True);
        Assert.False(client.IsEnded);
        Assert.False(server.IsEnded);
        Assert.Equal(0, client.StreamCount);
        Assert.Equal(0, server.StreamCount);
    }
}
