using PromiseGrid.Mesh.Yamux;
using static PromiseGrid.Mesh.Libp2p.Tests.Testing.PipeTestKit;
using static PromiseGrid.Mesh.Libp2p.Tests.Yamux.YamuxTestKit;

namespace PromiseGrid.Mesh.Libp2p.Tests.Yamux;

public class YamuxProtocolViolationTests
{
    public static TheoryData<string, string> Violations => new()
    {
        // name, hex bytes the raw client sends after opening stream 1 (SYN) on a server session
        { "bad version", "010100000000000100000000" },
        { "unknown frame type", "000400000000000100000000" },
        { "data beyond the receive window", "000000000000000100040001" },
        { "new stream of the server's parity", "000100010000000200000000" },
        { "frame for a stream never opened", "000100000000000700000010" },
        { "data for a stream never opened", "000000000000000900000001ff" },
        { "oversized length", "0000000000000001ffffffff" },
        { "SYN reusing an id", "000100010000000100000000" },
        { "data after FIN", "000100040000000100000000000000000000000100000001ff" },
        { "stream frame on id 0", "000000000000000000000001ff" },
    };

    [Theory]
    [MemberData(nameof(Violations))]
    public async Task ReadLoop_Violation_SendsGoAwayProtocolErrorAndFailsEverything(string name, string hex)
    {
        var (session, raw) = CreateRaw(sessionIsClient: false);
        await using var _ = session;
        var (otherClient, otherServer) = CreatePair();
        await using var __ = otherClient;
        await using var ___ = otherServer;
        await raw.SendAsync(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Syn));
        var stream = await session.AcceptStreamAsync().Within();
        var pendingAccept = session.AcceptStreamAsync().AsTask();

        await raw.SendRawAsync(Convert.FromHexString(hex));

        var fault = await Assert.ThrowsAsync<ProtocolViolationException>(() => session.Completion.Within());
        var goAway = await raw.ReadUntilAsync(h => h.Type == YamuxFrameType.GoAway);
        Assert.Equal(YamuxFrameHeader.GoAway(YamuxGoAwayCode.ProtocolError), goAway.Header);
        if (name == "data after FIN")
        {
            Assert.Empty(await ReadToEndAsync(stream.Input).Within()); // its input had ended cleanly before
        }
        else
        {
            Assert.Same(fault, await Assert.ThrowsAsync<ProtocolViolationException>(() => ReadToEndAsync(stream.Input).Within()));
        }

        await Assert.ThrowsAsync<ProtocolViolationException>(async () => await stream.Output.WriteAsync(new byte[1]));
        var acceptError = await Assert.ThrowsAsync<ConnectionClosedException>(() => pendingAccept.Within());
        Assert.Same(fault, acceptError.InnerException);
        Assert.Null(await raw.ReadFrameAsync()); // the connection is closed
        Assert.True(session.IsEnded, name);

        // Other sessions are unaffected.
        await otherClient.PingAsync().Within();
        Assert.False(otherClient.IsEnded);
    }

    [Fact]
    public async Task ReadLoop_ClientSessionGetsSynOfOddId_IsViolation()
    {
        var (session, raw) = CreateRaw(sessionIsClient: true);
        await using var _ = session;

        await raw.SendAsync(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Syn));

        await Assert.ThrowsAsync<ProtocolViolationException>(() => session.Completion.Within());
    }

    [Fact]
    public async Task ReadLoop_SynsOutOfIdOrder_AreAccepted()
    {
        var (session, raw) = CreateRaw(sessionIsClient: false);
        await using var _ = session;

        await raw.SendAsync(YamuxFrameHeader.WindowUpdate(3, 0, YamuxFlags.Syn));
        await raw.SendAsync(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Syn));
        var first = await session.AcceptStreamAsync().Within();
        var second = await session.AcceptStreamAsync().Within();

        Assert.Equal([3u, 1u], new[] { first.Id, second.Id });
        Assert.False(session.IsEnded);
    }

    [Fact]
    public async Task ReadLoop_FramesForResetStream_AreDroppedQuietly()
    {
        var (session, raw) = CreateRaw(sessionIsClient: false);
        await using var _ = session;
        await raw.SendAsync(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Syn));
        var stream = await session.AcceptStreamAsync().Within();
        await raw.ReadFrameAsync(); // ACK
        stream.Reset();
        await raw.ReadFrameAsync(); // RST

        await raw.SendAsync(YamuxFrameHeader.Data(1, 3), [1, 2, 3]);
        await raw.SendAsync(YamuxFrameHeader.WindowUpdate(1, 1000));
        await raw.SendAsync(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Fin));
        await raw.SendAsync(YamuxFrameHeader.Ping(YamuxFlags.Syn, 5));
        var pong = await raw.ReadFrameAsync();

        Assert.Equal(YamuxFrameHeader.Ping(YamuxFlags.Ack, 5), pong!.Value.Header);
        Assert.False(session.IsEnded);
        Assert.Equal(0, session.StreamCount);
    }

    [Fact]
    public async Task ReadLoop_FramesForOwnClosedStream_AreDroppedQuietly()
    {
        var (session, raw) = CreateRaw(sessionIsClient: true);
        await using var _ = session;
        var stream = await session.OpenStreamAsync().Within();
        await raw.ReadFrameAsync(); // SYN
        await raw.SendAsync(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Rst));
        await Assert.ThrowsAsync<StreamResetException>(() => ReadToEndAsync(stream.Input).Within());

        await raw.SendAsync(YamuxFrameHeader.Data(1, 2), [1, 2]);
        await raw.SendAsync(YamuxFrameHeader.Ping(YamuxFlags.Syn, 9));
        await raw.ReadUntilAsync(h => h.Type == YamuxFrameType.Ping);

        Assert.False(session.IsEnded);
    }

    [Fact]
    public async Task ReadLoop_GoAwayWithErrorCode_IsNotAViolation()
    {
        var (session, raw) = CreateRaw();
        await using var _ = session;

        await raw.SendAsync(YamuxFrameHeader.GoAway(YamuxGoAwayCode.InternalError));
        await raw.SendAsync(YamuxFrameHeader.Ping(YamuxFlags.Syn, 1));
        await raw.ReadFrameAsync();

        Assert.True(session.IsGoAwayReceived);
        Assert.False(session.IsEnded);
    }
}
