using Microsoft.Extensions.Time.Testing;
using PromiseGrid.Mesh.Yamux;
using static PromiseGrid.Mesh.Libp2p.Tests.Testing.PipeTestKit;
using static PromiseGrid.Mesh.Libp2p.Tests.Yamux.YamuxTestKit;

namespace PromiseGrid.Mesh.Libp2p.Tests.Yamux;

public class YamuxFlowControlTests
{
    private const int Window = 256 * 1024;

    [Fact]
    public async Task Output_RemoteGrantsNothing_SendsExactlyOneWindowAndWriterBlocks()
    {
        var (session, raw) = CreateRaw();
        await using var _ = session;
        var stream = await session.OpenStreamAsync().Within();
        var payload = RandomBytes(4 * Window, seed: 7);

        // 4 windows cannot fit in window (256 KiB) + write buffer (256 KiB) + one chunk: the writer must block.
        var writer = WriteChunkedAsync(stream.Output, payload);
        var received = 0;
        await raw.ReadFrameAsync(); // SYN
        while (received < Window)
        {
            var frame = await raw.ReadFrameAsync();
            Assert.Equal(YamuxFrameType.Data, frame!.Value.Header.Type);
            Assert.True(frame.Value.Header.Length <= YamuxOptions.MaxFramePayload);
            received += frame.Value.Payload.Length;
        }

        // Anything sent after the window would arrive before the pong.
        await raw.SendAsync(YamuxFrameHeader.Ping(YamuxFlags.Syn, 1));
        var skipped = new List<(YamuxFrameHeader Header, byte[] Payload)>();
        await raw.ReadUntilAsync(h => h.Type == YamuxFrameType.Ping, skipped);

        Assert.Equal(Window, received);
        Assert.Empty(skipped);
        Assert.Equal(0, stream.SendWindow);
        Assert.False(writer.IsCompleted);

        // Credit lets the rest through.
        await raw.SendAsync(YamuxFrameHeader.WindowUpdate(1, (uint)(3 * Window)));
        while (received < payload.Length)
        {
            received += (await raw.ReadFrameAsync())!.Value.Payload.Length;
        }

        await writer.Within();
        Assert.Equal(payload.Length, received);
    }

    [Fact]
    public async Task Input_ApplicationReadsNothing_BuffersAtMostTheWindowThenDeliversEverything()
    {
        var (client, server) = CreatePair();
        await using var _ = client;
        await using var __ = server;
        var payload = RandomBytes(2 * 1024 * 1024, seed: 3);
        var stream = await client.OpenStreamAsync().Within();
        var writer = Task.Run(async () =>
        {
            await WriteChunkedAsync(stream.Output, payload);
            await stream.CloseWriteAsync();
        });
        var inbound = await server.AcceptStreamAsync().Within();

        // Wait until the sender has used its window (the writer keeps trying).
        while (stream.SendWindow > 0)
        {
            await client.PingAsync().Within();
        }

        await client.PingAsync().Within(); // every data frame sent so far has been read by the server
        Assert.Equal(Window, inbound.BufferedReceiveBytes);
        Assert.Equal(0, inbound.ReceiveCredit);
        Assert.False(writer.IsCompleted);

        var received = await ReadToEndAsync(inbound.Input).Within();
        await writer.Within();
        Assert.Equal(payload, received);
        Assert.False(server.IsEnded);
    }

    [Fact]
    public async Task Input_ConsumingHalfTheWindow_SendsOneUpdateForThatAmount()
    {
        var (session, raw) = CreateRaw(sessionIsClient: false);
        await using var _ = session;
        await raw.SendAsync(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Syn));
        var stream = await session.AcceptStreamAsync().Within();
        Assert.Equal(YamuxFlags.Ack, (await raw.ReadFrameAsync())!.Value.Header.Flags);

        await raw.SendAsync(YamuxFrameHeader.Data(1, (uint)(Window / 2 - 1)), new byte[Window / 2 - 1]);
        await ReadExactlyAsync(stream.Input, Window / 2 - 1).Within();
        await raw.SendAsync(YamuxFrameHeader.Data(1, 1), new byte[1]);
        await ReadExactlyAsync(stream.Input, 1).Within();
        var update = await raw.ReadFrameAsync();

        Assert.Equal(YamuxFrameHeader.WindowUpdate(1, Window / 2), update!.Value.Header);
    }

    [Fact]
    public async Task AutoTuning_FastConsumer_GrowsWindowUpToTheMaximum()
    {
        var time = new FakeTimeProvider(); // frozen clock: every grant is "within 4 RTT"
        var options = Quiet with { MaxStreamWindow = 1024 * 1024, TimeProvider = time };
        var (client, server) = CreatePair(options, options);
        await using var _ = client;
        await using var __ = server;
        await server.PingAsync().Within(); // the receiver needs an RTT
        var payload = RandomBytes(8 * 1024 * 1024, seed: 11);

        var stream = await client.OpenStreamAsync().Within();
        var writer = Task.Run(async () =>
        {
            await WriteChunkedAsync(stream.Output, payload);
            await stream.CloseWriteAsync();
        });
        var inbound = await server.AcceptStreamAsync().Within();
        var received = await ReadToEndAsync(inbound.Input).Within();
        await writer.Within();

        Assert.Equal(payload, received);
        Assert.Equal(1024 * 1024, inbound.ReceiveWindowSize);
    }

    [Fact]
    public async Task FixedWindows_NoRtt_WindowStaysInitial()
    {
        var (client, server) = CreatePair();
        await using var _ = client;
        await using var __ = server;
        var stream = await client.OpenStreamAsync().Within();
        var writer = Task.Run(async () =>
        {
            await WriteChunkedAsync(stream.Output, new byte[2 * 1024 * 1024]);
            await stream.CloseWriteAsync();
        });
        var inbound = await server.AcceptStreamAsync().Within();
        var received = await ReadToEndAsync(inbound.Input).Within();
        await writer.Within();

        Assert.Equal(2 * 1024 * 1024, received.Length);
        Assert.Equal(Window, inbound.ReceiveWindowSize);
    }

    [Fact]
    public async Task Input_CompletedByApplication_LaterDataIsCreditedBack()
    {
        var (session, raw) = CreateRaw(sessionIsClient: false);
        await using var _ = session;
        await raw.SendAsync(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Syn));
        var stream = await session.AcceptStreamAsync().Within();
        await raw.ReadFrameAsync(); // ACK

        await stream.Input.CompleteAsync();
        await raw.SendAsync(YamuxFrameHeader.Data(1, (uint)Window), new byte[Window]);
        var credited = 0L;
        while (credited < Window)
        {
            var update = (await raw.ReadFrameAsync())!.Value.Header;
            Assert.Equal(YamuxFrameType.WindowUpdate, update.Type);
            credited += update.Length;
        }

        Assert.Equal(Window, credited);
        Assert.False(session.IsEnded);
    }
}
