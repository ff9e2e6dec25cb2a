using System.Buffers;
using System.Text;
using PromiseGrid.Mesh.Yamux;
using static PromiseGrid.Mesh.Libp2p.Tests.Testing.PipeTestKit;
using static PromiseGrid.Mesh.Libp2p.Tests.Yamux.YamuxTestKit;

namespace PromiseGrid.Mesh.Libp2p.Tests.Yamux;

public class YamuxSessionTests
{
    [Fact]
    public async Task OpenStreamAsync_FromClient_ServerAcceptsWithOddId()
    {
        var (client, server) = CreatePair();
        await using var _ = client;
        await using var __ = server;

        var outbound = await client.OpenStreamAsync().Within();
        await outbound.Output.WriteAsync(Encoding.ASCII.GetBytes("hello")).Within();
        var inbound = await server.AcceptStreamAsync().Within();

        Assert.Equal(1u, outbound.Id);
        Assert.Equal(1u, inbound.Id);
        Assert.True(inbound.IsInbound);
        Assert.Equal("hello", Encoding.ASCII.GetString(await ReadExactlyAsync(inbound.Input, 5).Within()));
    }

    [Fact]
    public async Task OpenStreamAsync_FromServer_ClientAcceptsWithEvenIds()
    {
        var (client, server) = CreatePair();
        await using var _ = client;
        await using var __ = server;

        var first = await server.OpenStreamAsync().Within();
        var second = await server.OpenStreamAsync().Within();
        var accepted1 = await client.AcceptStreamAsync().Within();
        var accepted2 = await client.AcceptStreamAsync().Within();

        Assert.Equal([2u, 4u], new[] { first.Id, second.Id });
        Assert.Equal([2u, 4u], new[] { accepted1.Id, accepted2.Id });
        Assert.Equal(2, client.StreamCount);
    }

    [Fact]
    public async Task OpenStreamAsync_RawPeer_SendsWindowUpdateSynThenAcceptsAck()
    {
        var (session, raw) = CreateRaw();
        await using var _ = session;

        var stream = await session.OpenStreamAsync().Within();
        await stream.Output.WriteAsync(Encoding.ASCII.GetBytes("hi")).Within();

        var open = await raw.ReadFrameAsync();
        var data = await raw.ReadFrameAsync();
        Assert.Equal(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Syn), open!.Value.Header);
        Assert.Equal(YamuxFrameHeader.Data(1, 2), data!.Value.Header);
        Assert.Equal("hi", Encoding.ASCII.GetString(data.Value.Payload));

        await raw.SendAsync(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Ack));
        await raw.SendAsync(YamuxFrameHeader.Data(1, 3), Encoding.ASCII.GetBytes("yes"));
        Assert.Equal("yes", Encoding.ASCII.GetString(await ReadExactlyAsync(stream.Input, 3).Within()));
    }

    [Fact]
    public async Task AcceptStreamAsync_RawPeerOpensWithData_AcksOnAccept()
    {
        var (session, raw) = CreateRaw(sessionIsClient: false);
        await using var _ = session;

        await raw.SendAsync(YamuxFrameHeader.Data(1, 5, YamuxFlags.Syn), Encoding.ASCII.GetBytes("hello"));
        var stream = await session.AcceptStreamAsync().Within();
        var ack = await raw.ReadFrameAsync();

        Assert.Equal(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Ack), ack!.Value.Header);
        Assert.Equal("hello", Encoding.ASCII.GetString(await ReadExactlyAsync(stream.Input, 5).Within()));
    }

    [Fact]
    public async Task Echo_OneMebibyte_ArrivesByteForByte()
    {
        var (client, server) = CreatePair();
        await using var _ = client;
        await using var __ = server;
        var payload = RandomBytes(1024 * 1024, seed: 1);

        var echo = Task.Run(async () =>
        {
            var stream = await server.AcceptStreamAsync();
            var received = await ReadToEndAsync(stream.Input);
            await WriteChunkedAsync(stream.Output, received, 50_000);
            await stream.CloseWriteAsync();
        });
        var stream = await client.OpenStreamAsync().Within();
        var write = Task.Run(async () =>
        {
            await WriteChunkedAsync(stream.Output, payload, 37_000);
            await stream.CloseWriteAsync();
        });
        var echoed = await ReadToEndAsync(stream.Input).Within();
        await Task.WhenAll(echo, write).Within();

        Assert.Equal(payload, echoed);
    }

    [Fact]
    public async Task Streams_SixteenConcurrent_EachEchoesItsOwnData()
    {
        var (client, server) = CreatePair();
        await using var _ = client;
        await using var __ = server;
        const int Streams = 16;

        var serverSide = Task.Run(async () =>
        {
            var echoes = new List<Task>();
            for (var i = 0; i < Streams; i++)
            {
                var stream = await server.AcceptStreamAsync();
                echoes.Add(Task.Run(async () =>
                {
                    var data = await ReadToEndAsync(stream.Input);
                    await WriteChunkedAsync(stream.Output, data);
                    await stream.CloseWriteAsync();
                }));
            }

            await Task.WhenAll(echoes);
        });

        var clients = Enumerable.Range(0, Streams).Select(i => Task.Run(async () =>
        {
            var payload = RandomBytes(300_000 + i * 1000, seed: i);
            var stream = await client.OpenStreamAsync();
            var reading = ReadToEndAsync(stream.Input);
            await WriteChunkedAsync(stream.Output, payload, 20_000);
            await stream.CloseWriteAsync();
            return (payload, echoed: await reading);
        })).ToArray();

        var results = await Task.WhenAll(clients).Within();
        await serverSide.Within();

        Assert.All(results, r => Assert.Equal(r.payload, r.echoed));
    }

    [Fact]
    public async Task CloseWriteAsync_RemoteReadsToEnd_AndCanStillReply()
    {
        var (client, server) = CreatePair();
        await using var _ = client;
        await using var __ = server;

        var stream = await client.OpenStreamAsync().Within();
        await stream.Output.WriteAsync(Encoding.ASCII.GetBytes("request")).Within();
        await stream.CloseWriteAsync().Within();
        var inbound = await server.AcceptStreamAsync().Within();
        var request = await ReadToEndAsync(inbound.Input).Within();
        await inbound.Output.WriteAsync(Encoding.ASCII.GetBytes("response")).Within();
        await inbound.CloseWriteAsync().Within();
        var response = await ReadToEndAsync(stream.Input).Within();

        Assert.Equal("request", Encoding.ASCII.GetString(request));
        Assert.Equal("response", Encoding.ASCII.GetString(response));
    }

    [Fact]
    public async Task Output_WriteAfterOwnFin_Throws()
    {
        var (client, server) = CreatePair();
        await using var _ = client;
        await using var __ = server;

        var stream = await client.OpenStreamAsync().Within();
        await stream.CloseWriteAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await stream.Output.WriteAsync(new byte[1]));
    }

    [Fact]
    public async Task CompleteOutput_UnflushedBytes_AreSentBeforeFin()
    {
        var (client, server) = CreatePair();
        await using var _ = client;
        await using var __ = server;

        var stream = await client.OpenStreamAsync().Within();
        stream.Output.Write(Encoding.ASCII.GetBytes("unflushed"));
        await stream.Output.CompleteAsync();
        var inbound = await server.AcceptStreamAsync().Within();

        Assert.Equal("unflushed", Encoding.ASCII.GetString(await ReadToEndAsync(inbound.Input).Within()));
    }

    [Fact]
    public async Task BothSidesFin_StreamLeavesBothSessions()
    {
        var (client, server) = CreatePair();
        await using var _ = client;
        await using var __ = server;

        var stream = await client.OpenStreamAsync().Within();
        await stream.CloseWriteAsync();
        var inbound = await server.AcceptStreamAsync().Within();
        await ReadToEndAsync(inbound.Input).Within();
        await inbound.CloseWriteAsync();
        await ReadToEndAsync(stream.Input).Within();
        await client.PingAsync().Within(); // the server's FIN was processed: the client saw it before the pong
        await server.PingAsync().Within(); // and the client's FIN, likewise

        Assert.Equal(0, client.StreamCount);
        Assert.Equal(0, server.StreamCount);
    }

    [Fact]
    public async Task Reset_ByOpener_AcceptorReadAndWriteThrowRemoteReset()
    {
        var (client, server) = CreatePair();
        await using var _ = client;
        await using var __ = server;

        var stream = await client.OpenStreamAsync().Within();
        await stream.Output.WriteAsync(new byte[10]).Within();
        var inbound = await server.AcceptStreamAsync().Within();
        await ReadExactlyAsync(inbound.Input, 10).Within();
        stream.Reset();

        var readError = await Assert.ThrowsAsync<StreamResetException>(() => ReadToEndAsync(inbound.Input).Within());
        var writeError = await Assert.ThrowsAsync<StreamResetException>(async () => await inbound.Output.WriteAsync(new byte[1]));
        var localError = await Assert.ThrowsAsync<StreamResetException>(async () => await stream.Input.ReadAsync());
        Assert.True(readError.IsRemote);
        Assert.True(writeError.IsRemote);
        Assert.False(localError.IsRemote);
        Assert.Equal(1u, readError.StreamId);
        await server.PingAsync().Within(); // the RST was fully processed before the pong
        Assert.Equal(0, server.StreamCount);
    }

    [Fact]
    public async Task Reset_ByAcceptor_OpenerReadThrowsRemoteReset()
    {
        var (client, server) = CreatePair();
        await using var _ = client;
        await using var __ = server;

        var stream = await client.OpenStreamAsync().Within();
        await stream.Output.WriteAsync(new byte[10]).Within();
        var inbound = await server.AcceptStreamAsync().Within();
        var pendingRead = ReadToEndAsync(stream.Input);
        inbound.Reset();

        var error = await Assert.ThrowsAsync<StreamResetException>(() => pendingRead.Within());
        Assert.True(error.IsRemote);
        await Assert.ThrowsAsync<StreamResetException>(async () => await inbound.Output.WriteAsync(new byte[1]));
    }

    [Fact]
    public async Task Reset_RawPeerSendsRstWithCode_ReadThrowsWithCode()
    {
        var (session, raw) = CreateRaw();
        await using var _ = session;
        var stream = await session.OpenStreamAsync().Within();
        await raw.ReadFrameAsync();

        await raw.SendAsync(YamuxFrameHeader.WindowUpdate(1, 42, YamuxFlags.Rst));

        var error = await Assert.ThrowsAsync<StreamResetException>(() => ReadToEndAsync(stream.Input).Within());
        Assert.Equal(42u, error.ErrorCode);
        Assert.True(error.IsRemote);
    }

    [Fact]
    public async Task DisposeAsync_StreamBeforeRemoteFin_SendsRst()
    {
        var (session, raw) = CreateRaw();
        await using var _ = session;
        var stream = await session.OpenStreamAsync().Within();
        await raw.ReadFrameAsync(); // SYN (a stream reset before its SYN went out sends nothing)

        await stream.DisposeAsync();
        var rst = await raw.ReadFrameAsync();

        Assert.Equal(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Rst), rst!.Value.Header);
    }

    [Fact]
    public async Task GoAwayAsync_Sent_RemoteCannotOpenButExistingStreamsFinish()
    {
        var (client, server) = CreatePair();
        await using var _ = client;
        await using var __ = server;
        var existing = await client.OpenStreamAsync().Within();
        await existing.Output.WriteAsync(new byte[] { 1 }).Within();
        var inbound = await server.AcceptStreamAsync().Within();

        await server.GoAwayAsync().Within();
        await client.PingAsync().Within(); // GoAway was processed before the pong

        Assert.True(client.IsGoAwayReceived);
        var error = await Assert.ThrowsAsync<ConnectionClosedException>(async () => await client.OpenStreamAsync());
        Assert.True(error.IsRemote);
        await inbound.Output.WriteAsync(new byte[] { 2 }).Within();
        await inbound.CloseWriteAsync();
        Assert.Equal(new byte[] { 2 }, await ReadToEndAsync(existing.Input).Within());
    }

    [Fact]
    public async Task GoAwaySent_RawPeerOpensStream_GetsRst()
    {
        var (session, raw) = CreateRaw(sessionIsClient: false);
        await using var _ = session;

        await session.GoAwayAsync().Within();
        await raw.SendAsync(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Syn));
        var goAway = await raw.ReadFrameAsync();
        var rst = await raw.ReadFrameAsync();

        Assert.Equal(YamuxFrameHeader.GoAway(YamuxGoAwayCode.Normal), goAway!.Value.Header);
        Assert.Equal(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Rst), rst!.Value.Header);
        Assert.Equal(0, session.StreamCount);
    }

    [Fact]
    public async Task PingAsync_Pair_ReturnsNonNegativeRttAndRecordsIt()
    {
        var (client, server) = CreatePair();
        await using var _ = client;
        await using var __ = server;

        var rtt = await client.PingAsync().Within();

        Assert.True(rtt >= TimeSpan.Zero);
        Assert.True(client.Rtt > TimeSpan.Zero);
    }

    [Fact]
    public async Task PingAsync_RawPeerRepliesAfterFakeDelay_RttIsTheFakeDelay()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var (session, raw) = CreateRaw(options: Quiet with { TimeProvider = time });
        await using var _ = session;

        var ping = session.PingAsync();
        var request = await raw.ReadFrameAsync();
        time.Advance(TimeSpan.FromMilliseconds(123));
        await raw.SendAsync(YamuxFrameHeader.Ping(YamuxFlags.Ack, request!.Value.Header.Length));

        Assert.Equal(YamuxFlags.Syn, request.Value.Header.Flags);
        Assert.Equal(TimeSpan.FromMilliseconds(123), await ping.Within());
    }

    [Fact]
    public async Task Ping_RawPeerSendsSyn_SessionAnswersAckWithSameValue()
    {
        var (session, raw) = CreateRaw();
        await using var _ = session;

        await raw.SendAsync(YamuxFrameHeader.Ping(YamuxFlags.Syn, 7));
        var reply = await raw.ReadFrameAsync();

        Assert.Equal("000200020000000000000007", Hex(reply!.Value.Header));
    }

    [Fact]
    public async Task Ping_UnexpectedAck_IsIgnored()
    {
        var (session, raw) = CreateRaw();
        await using var _ = session;

        await raw.SendAsync(YamuxFrameHeader.Ping(YamuxFlags.Ack, 999));
        await raw.SendAsync(YamuxFrameHeader.Ping(YamuxFlags.Syn, 1));
        await raw.ReadFrameAsync();

        Assert.False(session.IsEnded);
    }

    [Fact]
    public async Task OpenStreamAsync_PastMaxStreams_ThrowsLimitExceeded()
    {
        var (client, server) = CreatePair(Quiet with { MaxStreams = 3 });
        await using var _ = client;
        await using var __ = server;

        for (var i = 0; i < 3; i++)
        {
            await client.OpenStreamAsync().Within();
        }

        var error = await Assert.ThrowsAsync<LimitExceededException>(async () => await client.OpenStreamAsync());
        Assert.Equal(3, error.Maximum);
    }

    [Fact]
    public async Task InboundSyn_PastMaxStreams_IsReset()
    {
        var (session, raw) = CreateRaw(sessionIsClient: false, Quiet with { MaxStreams = 2 });
        await using var _ = session;

        await raw.SendAsync(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Syn));
        await raw.SendAsync(YamuxFrameHeader.WindowUpdate(3, 0, YamuxFlags.Syn));
        await raw.SendAsync(YamuxFrameHeader.WindowUpdate(5, 0, YamuxFlags.Syn));
        var rst = await raw.ReadFrameAsync();

        Assert.Equal(YamuxFrameHeader.WindowUpdate(5, 0, YamuxFlags.Rst), rst!.Value.Header);
        Assert.Equal(2, session.StreamCount);
        Assert.Equal(1u, (await session.AcceptStreamAsync().Within()).Id);
    }

    [Fact]
    public async Task InboundSyn_PastAcceptBacklog_IsReset()
    {
        var (session, raw) = CreateRaw(sessionIsClient: false, Quiet with { AcceptBacklog = 1 });
        await using var _ = session;

        await raw.SendAsync(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Syn));
        await raw.SendAsync(YamuxFrameHeader.WindowUpdate(3, 0, YamuxFlags.Syn));
        var rst = await raw.ReadFrameAsync();

        Assert.Equal(YamuxFrameHeader.WindowUpdate(3, 0, YamuxFlags.Rst), rst!.Value.Header);
        Assert.Equal(1, session.StreamCount);
    }

    [Fact]
    public async Task DisposeAsync_Twice_SendsGoAwayOnceAndFailsStreamsAndAccept()
    {
        var (session, raw) = CreateRaw();
        var stream = await session.OpenStreamAsync().Within();
        var pendingRead = ReadToEndAsync(stream.Input);
        var pendingAccept = session.AcceptStreamAsync().AsTask();

        await session.DisposeAsync().Within();
        await session.DisposeAsync().Within();
        var frames = await raw.ReadAllAsync().Within();

        Assert.Single(frames, f => f.Type == YamuxFrameType.GoAway);
        Assert.Equal(YamuxFrameHeader.GoAway(YamuxGoAwayCode.Normal), frames[^1]);
        await Assert.ThrowsAsync<ConnectionClosedException>(() => pendingRead.Within());
        await Assert.ThrowsAsync<ConnectionClosedException>(() => pendingAccept.Within());
        await Assert.ThrowsAsync<ConnectionClosedException>(async () => await session.AcceptStreamAsync());
        await Assert.ThrowsAsync<ConnectionClosedException>(async () => await session.OpenStreamAsync());
        Assert.True(session.Completion.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task RemoteClosesConnection_SessionEndsAndStreamsFailAsRemoteClosed()
    {
        var (session, raw) = CreateRaw();
        await using var _ = session;
        var stream = await session.OpenStreamAsync().Within();

        await raw.Pipe.Output.CompleteAsync();
        await session.Completion.Within();

        var error = await Assert.ThrowsAsync<ConnectionClosedException>(() => ReadToEndAsync(stream.Input).Within());
        Assert.True(error.IsRemote);
        Assert.True(session.IsEnded);
    }

    [Fact]
    public async Task Abort_WithReason_CompletionFaultsWithReason()
    {
        var (client, server) = CreatePair();
        await using var _ = server;
        var reason = new MeshTimeoutException("test");

        client.Abort(reason);

        var error = await Assert.ThrowsAsync<MeshTimeoutException>(() => client.Completion.Within());
        Assert.Same(reason, error);
        await server.Completion.Within();
        await client.DisposeAsync();
    }

    [Fact]
    public async Task LargerInitialWindow_AdvertisedOnSyn()
    {
        var (session, raw) = CreateRaw(options: Quiet with { InitialStreamWindow = 1024 * 1024, MaxStreamWindow = 1024 * 1024 });
        await using var _ = session;

        await session.OpenStreamAsync().Within();
        var open = await raw.ReadFrameAsync();

        Assert.Equal(YamuxFrameHeader.WindowUpdate(1, 1024 * 1024 - 256 * 1024, YamuxFlags.Syn), open!.Value.Header);
    }

    [Fact]
    public void Options_Invalid_ValidateThrows()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => (YamuxOptions.Default with { InitialStreamWindow = 1000 }).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => (YamuxOptions.Default with { MaxOutboundFrameSize = 70_000 }).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => (YamuxOptions.Default with { MaxStreamWindow = 1000 }).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => (YamuxOptions.Default with { MaxStreams = 0 }).Validate());
        YamuxOptions.Default.Validate();
    }

    internal static string Hex(YamuxFrameHeader header)
    {
        var bytes = new byte[YamuxCodec.HeaderSize];
        YamuxCodec.Write(bytes, header);
        return Convert.ToHexStringLower(bytes);
    }
}
