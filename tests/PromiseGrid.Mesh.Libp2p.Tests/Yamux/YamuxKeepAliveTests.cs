using Microsoft.Extensions.Time.Testing;
using PromiseGrid.Mesh.Yamux;
using static PromiseGrid.Mesh.Libp2p.Tests.Testing.PipeTestKit;
using static PromiseGrid.Mesh.Libp2p.Tests.Yamux.YamuxTestKit;

namespace PromiseGrid.Mesh.Libp2p.Tests.Yamux;

public class YamuxKeepAliveTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task KeepAlive_PingUnanswered_EndsSessionWithTimeout()
    {
        var time = new FakeTimeProvider();
        var (session, raw) = CreateRaw(options: Quiet with { KeepAliveInterval = Interval, TimeProvider = time });
        await using var _ = session;
        var stream = await session.OpenStreamAsync().Within();
        await raw.ReadFrameAsync(); // SYN

        time.Advance(Interval);
        var ping = await raw.ReadFrameAsync();
        time.Advance(Interval);

        Assert.Equal(YamuxFrameType.Ping, ping!.Value.Header.Type);
        Assert.Equal(YamuxFlags.Syn, ping.Value.Header.Flags);
        await Assert.ThrowsAsync<MeshTimeoutException>(() => session.Completion.Within());
        await Assert.ThrowsAsync<MeshTimeoutException>(() => ReadToEndAsync(stream.Input).Within());
    }

    [Fact]
    public async Task KeepAlive_PingAnswered_SessionStaysAndPingsAgain()
    {
        var time = new FakeTimeProvider();
        var (session, raw) = CreateRaw(options: Quiet with { KeepAliveInterval = Interval, TimeProvider = time });
        await using var _ = session;

        time.Advance(Interval);
        var first = await raw.ReadFrameAsync();
        await raw.SendAsync(YamuxFrameHeader.Ping(YamuxFlags.Ack, first!.Value.Header.Length));
        await raw.SendAsync(YamuxFrameHeader.Ping(YamuxFlags.Syn, 77));
        await raw.ReadUntilAsync(h => h.Type == YamuxFrameType.Ping && h.Flags == YamuxFlags.Ack); // the pong was read before this
        time.Advance(Interval);
        var second = await raw.ReadUntilAsync(h => h.Type == YamuxFrameType.Ping && h.Flags == YamuxFlags.Syn);

        Assert.NotEqual(first.Value.Header.Length, second.Header.Length);
        Assert.False(session.IsEnded);
    }

    [Fact]
    public async Task KeepAlive_Disabled_SendsNothing()
    {
        var time = new FakeTimeProvider();
        var (session, raw) = CreateRaw(options: Quiet with { KeepAliveInterval = TimeSpan.Zero, TimeProvider = time });

        time.Advance(Interval * 3);
        await session.DisposeAsync();
        var frames = await raw.ReadAllAsync().Within();

        Assert.Equal([YamuxFrameHeader.GoAway(YamuxGoAwayCode.Normal)], frames);
    }
}
