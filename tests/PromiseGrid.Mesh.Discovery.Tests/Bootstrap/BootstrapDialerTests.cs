using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using PromiseGrid.Mesh.Discovery.Bootstrap;
using PromiseGrid.Mesh.Identity;

namespace PromiseGrid.Mesh.Discovery.Tests.Bootstrap;

public sealed class BootstrapDialerTests : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly RecordingTimeProvider _time = new(new FakeTimeProvider());
    private readonly ScriptedDialer _dialer = new();
    private readonly Channel<(PeerId, BootstrapPeerState)> _states = Channel.CreateUnbounded<(PeerId, BootstrapPeerState)>();
    private BootstrapDialer? _subject;

    public async ValueTask DisposeAsync()
    {
        if (_subject is not null)
        {
            await _subject.DisposeAsync().AsTask().WaitAsync(Timeout);
        }
    }

    private BootstrapDialer Start(int peers = 1, double uniform = 0.75, TimeSpan? maxBackoff = null, TimeSpan? dialTimeout = null)
    {
        var options = new BootstrapOptions
        {
            Peers = [.. Enumerable.Range(1, peers).Select(n => TestPeers.Address(n))],
            InitialBackoff = TimeSpan.FromSeconds(1),
            MaxBackoff = maxBackoff ?? TimeSpan.FromSeconds(10),
            Jitter = 0.2,
            Random = new FixedRandom(uniform),
            DialTimeout = dialTimeout ?? System.Threading.Timeout.InfiniteTimeSpan,
            StableConnection = TimeSpan.FromSeconds(60),
            TimeProvider = _time,
        };
        _subject = new BootstrapDialer(options, _dialer);
        _subject.StateChanged += (peer, state) => _states.Writer.TryWrite((peer, state));
        _subject.Start();
        return _subject;
    }

    private async Task WaitForStateAsync(PeerId peer, BootstrapPeerState state)
    {
        while (true)
        {
            var (p, s) = await _states.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
            if (p == peer && s == state)
            {
                return;
            }
        }
    }

    [Fact]
    public async Task Start_UnreachablePeer_RetriesWithGrowingJitteredCappedDelays()
    {
        Start(uniform: 0.75); // jitter factor 1 + 0.2 · (2 · 0.75 − 1) = 1.1
        double[] expected = [1.1, 2.2, 4.4, 8.8, 10.0, 10.0];
        foreach (var seconds in expected)
        {
            var attempt = await _dialer.NextAttemptAsync();
            Assert.Equal(TestPeers.Address(1), attempt.Address);
            attempt.Fail();
            var delay = await _time.NextTimerAsync();
            Assert.Equal(seconds, delay.TotalSeconds, 6);
            Assert.False(_dialer.TryGetAttempt(out _));
            _time.Fake.Advance(delay);
        }

        Assert.NotNull(await _dialer.NextAttemptAsync());
    }

    [Fact]
    public async Task Start_LowJitterDraw_ShortensTheDelay()
    {
        Start(uniform: 0.0); // factor 0.8
        (await _dialer.NextAttemptAsync()).Fail();
        Assert.Equal(0.8, (await _time.NextTimerAsync()).TotalSeconds, 6);
    }

    [Fact]
    public async Task Start_DialSucceeds_StopsRetrying()
    {
        var subject = Start();
        (await _dialer.NextAttemptAsync()).Fail();
        _time.Fake.Advance(await _time.NextTimerAsync());
        (await _dialer.NextAttemptAsync()).Succeed();
        await WaitForStateAsync(TestPeers.Id(1), BootstrapPeerState.Connected);

        _time.Fake.Advance(TimeSpan.FromHours(1));

        Assert.False(_dialer.TryGetAttempt(out _));
        Assert.False(_time.TryGetTimer(out _));
        Assert.Equal(BootstrapPeerState.Connected, subject.GetState(TestPeers.Id(1)));
    }

    [Fact]
    public async Task NotifyDisconnected_ConnectedBootstrapPeer_RedialsAfterBackoff()
    {
        var subject = Start();
        (await _dialer.NextAttemptAsync()).Succeed();
        await WaitForStateAsync(TestPeers.Id(1), BootstrapPeerState.Connected);
        _time.Fake.Advance(TimeSpan.FromMinutes(5)); // a stable connection resets the backoff

        subject.NotifyDisconnected(TestPeers.Id(1));

        var delay = await _time.NextTimerAsync();
        Assert.Equal(1.1, delay.TotalSeconds, 6);
        Assert.False(_dialer.TryGetAttempt(out _));
        _time.Fake.Advance(delay);
        var redial = await _dialer.NextAttemptAsync();
        Assert.Equal(TestPeers.Address(1), redial.Address);
    }

    [Fact]
    public async Task NotifyDisconnected_ShortLivedConnection_ContinuesTheBackoff()
    {
        var subject = Start();
        (await _dialer.NextAttemptAsync()).Fail();
        _time.Fake.Advance(await _time.NextTimerAsync()); // 1.1 s
        (await _dialer.NextAttemptAsync()).Fail();
        _time.Fake.Advance(await _time.NextTimerAsync()); // 2.2 s
        (await _dialer.NextAttemptAsync()).Succeed();
        await WaitForStateAsync(TestPeers.Id(1), BootstrapPeerState.Connected);

        subject.NotifyDisconnected(TestPeers.Id(1));

        Assert.Equal(4.4, (await _time.NextTimerAsync()).TotalSeconds, 6);
    }

    [Fact]
    public async Task NotifyDisconnected_OtherPeer_IsIgnored()
    {
        var subject = Start();
        (await _dialer.NextAttemptAsync()).Succeed();
        await WaitForStateAsync(TestPeers.Id(1), BootstrapPeerState.Connected);

        subject.NotifyDisconnected(TestPeers.Id(99));
        _time.Fake.Advance(TimeSpan.FromMinutes(5));

        Assert.False(_time.TryGetTimer(out _));
        Assert.False(_dialer.TryGetAttempt(out _));
        Assert.Equal(BootstrapPeerState.Connected, subject.GetState(TestPeers.Id(1)));
    }

    [Fact]
    public async Task Start_SeveralPeers_DialsEachIndependently()
    {
        Start(peers: 3);
        var attempts = new[] { await _dialer.NextAttemptAsync(), await _dialer.NextAttemptAsync(), await _dialer.NextAttemptAsync() };
        Assert.Equal(
            new[] { TestPeers.Address(1), TestPeers.Address(2), TestPeers.Address(3) }.Select(a => a.ToString()).Order(),
            attempts.Select(a => a.Address.ToString()).Order());
    }

    [Fact]
    public async Task DisposeAsync_LoopsInEveryState_StopsAndAwaitsThemAll()
    {
        var subject = Start(peers: 3);
        var attempts = new Dictionary<PeerId, DialAttempt>();
        for (var i = 0; i < 3; i++)
        {
            var a = await _dialer.NextAttemptAsync();
            attempts[a.Address.PeerId!] = a;
        }

        attempts[TestPeers.Id(1)].Succeed();
        await WaitForStateAsync(TestPeers.Id(1), BootstrapPeerState.Connected);
        attempts[TestPeers.Id(2)].Fail();
        await _time.NextTimerAsync(); // peer 2 backing off; peer 3 still dialling

        await subject.DisposeAsync().AsTask().WaitAsync(Timeout);
        await subject.DisposeAsync().AsTask().WaitAsync(Timeout); // idempotent

        Assert.True(attempts[TestPeers.Id(3)].CancellationToken.IsCancellationRequested);
        foreach (var n in new[] { 1, 2, 3 })
        {
            Assert.Equal(BootstrapPeerState.Stopped, subject.GetState(TestPeers.Id(n)));
        }

        _time.Fake.Advance(TimeSpan.FromHours(1));
        Assert.False(_dialer.TryGetAttempt(out _));
        Assert.Throws<ObjectDisposedException>(subject.Start);
    }

    [Fact]
    public async Task Start_DialHangs_TimesOutAndRetries()
    {
        Start(dialTimeout: TimeSpan.FromSeconds(5));
        var first = await _dialer.NextAttemptAsync();
        Assert.Equal(TimeSpan.FromSeconds(5), await _time.NextTimerAsync()); // the dial deadline
        _time.Fake.Advance(TimeSpan.FromSeconds(5));

        Assert.True(first.CancellationToken.IsCancellationRequested);
        var backoff = await _time.NextTimerAsync();
        Assert.Equal(1.1, backoff.TotalSeconds, 6);
        _time.Fake.Advance(backoff);
        Assert.NotNull(await _dialer.NextAttemptAsync());
    }

    [Fact]
    public void PeerIds_ConfiguredPeers_AreReportedAsBootstrapPeers()
    {
        var subject = Start(peers: 2);
        Assert.Equal(2, subject.PeerIds.Count);
        Assert.True(subject.IsBootstrapPeer(TestPeers.Id(2)));
        Assert.False(subject.IsBootstrapPeer(TestPeers.Id(3)));
    }
}
