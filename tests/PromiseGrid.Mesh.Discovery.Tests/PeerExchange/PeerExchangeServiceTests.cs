using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Discovery.PeerExchange;
using PromiseGrid.Mesh.Discovery.Tests.Bootstrap;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Tests.PeerExchange;

public sealed class PeerExchangeServiceTests : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(5);
    private static readonly PeerId Local = TestPeers.Id(0);
    private static readonly Multiaddr LoopbackConnection = Multiaddr.Parse("/ip4/127.0.0.1/tcp/6000");

    private readonly FakeTimeProvider _time = new();
    private readonly TestOpener _opener = new();
    private readonly RecordingSink _sink = new();
    private readonly Channel<(PeerId Peer, Exception? Failure)> _completed = Channel.CreateUnbounded<(PeerId, Exception?)>();
    private readonly List<Task> _responders = [];
    private PeerExchangeService? _service;

    public async ValueTask DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync().AsTask().WaitAsync(Timeout);
        }

        await Task.WhenAll(_responders).WaitAsync(Timeout);
    }

    private PeerExchangeService Start(int maxConcurrent = 4)
    {
        _service = new PeerExchangeService(Local, _opener, _sink, new PeerExchangeOptions
        {
            Interval = Interval,
            MaxConcurrentRequests = maxConcurrent,
            RequestTimeout = TimeSpan.FromSeconds(10),
            TimeProvider = _time,
        });
        _service.ExchangeCompleted += (peer, failure) => _completed.Writer.TryWrite((peer, failure));
        _service.Start();
        return _service;
    }

    private static PexPeerInfo Peer(int n, string ip = "127.0.0.1") => new(TestPeers.Id(n), [Multiaddr.Parse($"/ip4/{ip}/tcp/{4000 + n}")]);

    /// <summary>Each open is answered by a real handler serving <paramref name="peers"/>.</summary>
    private void AnswerWith(params PexPeerInfo[] peers)
    {
        var handler = new PeerExchangeHandler(new StaticPeerSource(peers));
        _opener.Open = (_, _) =>
        {
            var (dialer, listener) = InMemoryStream.CreatePair();
            lock (_responders)
            {
                _responders.Add(handler.HandleAsync(Local, LoopbackConnection, listener).AsTask());
            }

            return ValueTask.FromResult<IMuxedStream>(dialer);
        };
    }

    private async Task<(PeerId Peer, Exception? Failure)> NextCompletionAsync() =>
        await _completed.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

    [Fact]
    public async Task NotifyConnected_NewPeer_AsksItOnceAndFeedsDiscoveryAsExchange()
    {
        AnswerWith(Peer(2), Peer(3));
        var service = Start();

        service.NotifyConnected(TestPeers.Id(1), LoopbackConnection);
        var done = await NextCompletionAsync();

        Assert.Equal(TestPeers.Id(1), done.Peer);
        Assert.Null(done.Failure);
        Assert.Equal([TestPeers.Id(1)], _opener.Opened);
        Assert.Equal([TestPeers.Id(2), TestPeers.Id(3)], _sink.Added.Select(a => a.Peer));
        Assert.All(_sink.Added, a => Assert.Equal(PeerExchangeService.DiscoverySource, a.Source));
        Assert.Equal("exchange", PeerExchangeService.DiscoverySource);
    }

    [Fact]
    public async Task NotifyConnected_SamePeerAgain_DoesNotAskAgain()
    {
        AnswerWith(Peer(2));
        var service = Start();
        service.NotifyConnected(TestPeers.Id(1), LoopbackConnection);
        await NextCompletionAsync();

        service.NotifyConnected(TestPeers.Id(1), LoopbackConnection);
        _time.Advance(Interval - TimeSpan.FromTicks(1));

        Assert.False(_completed.Reader.TryRead(out _));
        Assert.Single(_opener.Opened);
    }

    [Fact]
    public async Task Interval_Elapses_AsksTheConnectedPeerAgain()
    {
        AnswerWith(Peer(2));
        var service = Start();
        service.NotifyConnected(TestPeers.Id(1), LoopbackConnection);
        await NextCompletionAsync();

        _time.Advance(Interval - TimeSpan.FromTicks(1));
        Assert.Single(_opener.Opened);
        _time.Advance(TimeSpan.FromTicks(1));
        await NextCompletionAsync();
        _time.Advance(Interval);
        await NextCompletionAsync();

        Assert.Equal(3, _opener.Opened.Count);
    }

    [Fact]
    public async Task NotifyDisconnected_AfterAnExchange_StopsFurtherExchanges()
    {
        AnswerWith(Peer(2));
        var service = Start();
        service.NotifyConnected(TestPeers.Id(1), LoopbackConnection);
        await NextCompletionAsync();

        service.NotifyDisconnected(TestPeers.Id(1));
        _time.Advance(Interval * 3);

        Assert.False(_completed.Reader.TryRead(out _));
        Assert.Single(_opener.Opened);
    }

    [Fact]
    public async Task NotifyConnected_ManyPeers_NeverMoreThanKRequestsAtOnce()
    {
        var gates = Channel.CreateUnbounded<TaskCompletionSource>();
        _opener.Open = async (_, ct) =>
        {
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            gates.Writer.TryWrite(gate);
            await gate.Task.WaitAsync(ct);
            throw new PeerUnreachableException("gone");
        };
        var service = Start(maxConcurrent: 2);

        for (var n = 1; n <= 6; n++)
        {
            service.NotifyConnected(TestPeers.Id(n), LoopbackConnection);
        }

        var pending = new Queue<TaskCompletionSource>();
        for (var opened = 0; opened < 6; opened++)
        {
            pending.Enqueue(await gates.Reader.ReadAsync().AsTask().WaitAsync(Timeout));
            if (pending.Count == 2 || opened == 5)
            {
                pending.Dequeue().SetResult();
                await NextCompletionAsync();
            }
        }

        while (pending.Count > 0)
        {
            pending.Dequeue().SetResult();
            await NextCompletionAsync();
        }

        Assert.Equal(6, _opener.Opened.Distinct().Count());
        Assert.Equal(2, _opener.MaxConcurrent);
    }

    [Fact]
    public async Task Exchange_OpenFails_IsLoggedAndRetriedAtTheNextInterval()
    {
        _opener.Open = (_, _) => throw new PeerUnreachableException("no route");
        var service = Start();
        service.NotifyConnected(TestPeers.Id(1), LoopbackConnection);

        Assert.IsType<PeerUnreachableException>((await NextCompletionAsync()).Failure);
        AnswerWith(Peer(2));
        _time.Advance(Interval);

        Assert.Null((await NextCompletionAsync()).Failure);
        Assert.Single(_sink.Added);
    }

    [Fact]
    public async Task Exchange_PeerWithoutTheProtocol_IsNotAskedAgainUntilItReconnects()
    {
        _opener.Open = (_, _) => throw new ProtocolNegotiationException("na");
        var service = Start();
        service.NotifyConnected(TestPeers.Id(1), LoopbackConnection);
        Assert.IsType<ProtocolNegotiationException>((await NextCompletionAsync()).Failure);

        _time.Advance(Interval * 3);
        Assert.Single(_opener.Opened);

        service.NotifyDisconnected(TestPeers.Id(1));
        service.NotifyConnected(TestPeers.Id(1), LoopbackConnection);
        await NextCompletionAsync();
        Assert.Equal(2, _opener.Opened.Count);
    }

    [Fact]
    public async Task Exchange_Succeeds_CountsTheRequestAndThePeersLearned()
    {
        var learned = 0L;
        var successes = 0L;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "PromiseGrid.Mesh" && instrument.Name.StartsWith("promisegrid.mesh.pex.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "promisegrid.mesh.pex.peers_learned")
            {
                Interlocked.Add(ref learned, value);
            }
            else if (instrument.Name == "promisegrid.mesh.pex.requests" && tags.ToArray().Any(t => t.Key == "outcome" && (string?)t.Value == "success"))
            {
                Interlocked.Add(ref successes, value);
            }
        });
        listener.Start();
        AnswerWith(Peer(2), Peer(3), Peer(4));
        var service = Start();

        service.NotifyConnected(TestPeers.Id(1), LoopbackConnection);
        await NextCompletionAsync();

        // Other tests run in parallel and may add to the same global counters: at least ours.
        Assert.True(Interlocked.Read(ref successes) >= 1);
        Assert.True(Interlocked.Read(ref learned) >= 3);
    }

    [Fact]
    public async Task Exchange_ResponderNeverAnswers_TimesOutAndResetsTheStream()
    {
        InMemoryStream? opened = null;
        _opener.Open = (_, _) =>
        {
            var (dialer, _) = InMemoryStream.CreatePair();
            opened = dialer;
            return ValueTask.FromResult<IMuxedStream>(dialer);
        };
        var service = Start();
        service.NotifyConnected(TestPeers.Id(1), LoopbackConnection);
        await _opener.WaitForOpensAsync(1);

        _time.Advance(TimeSpan.FromSeconds(10));
        var done = await NextCompletionAsync();

        Assert.IsType<MeshTimeoutException>(done.Failure);
        Assert.True(opened!.WasReset);
    }

    [Fact]
    public async Task Exchange_ResponseListsUsAndTheResponder_TheyAreNotFedToDiscovery()
    {
        var body = PexCodec.EncodeResponse([Peer(0), Peer(1), Peer(2)]);
        _opener.Open = (_, _) =>
        {
            var (dialer, listener) = InMemoryStream.CreatePair();
            lock (_responders)
            {
                _responders.Add(RespondRawAsync(listener, body));
            }

            return ValueTask.FromResult<IMuxedStream>(dialer);
        };
        var service = Start();
        service.NotifyConnected(TestPeers.Id(1), LoopbackConnection);

        Assert.Null((await NextCompletionAsync()).Failure);
        Assert.Equal([TestPeers.Id(2)], _sink.Added.Select(a => a.Peer));
    }

    [Fact]
    public async Task Exchange_PublicResponderSendsPrivateAddresses_OnlyPublicOnesAreKept()
    {
        var body = PexCodec.EncodeResponse(
        [
            new PexPeerInfo(TestPeers.Id(2), [Multiaddr.Parse("/ip4/127.0.0.1/tcp/1"), Multiaddr.Parse("/ip4/10.0.0.2/tcp/1"), Multiaddr.Parse("/ip4/1.2.3.4/tcp/1")]),
            new PexPeerInfo(TestPeers.Id(3), [Multiaddr.Parse("/ip4/192.168.1.3/tcp/1")]),
        ]);
        _opener.Open = (_, _) =>
        {
            var (dialer, listener) = InMemoryStream.CreatePair();
            lock (_responders)
            {
                _responders.Add(RespondRawAsync(listener, body));
            }

            return ValueTask.FromResult<IMuxedStream>(dialer);
        };
        var service = Start();
        service.NotifyConnected(TestPeers.Id(1), Multiaddr.Parse("/ip4/8.8.8.8/tcp/4001"));

        Assert.Null((await NextCompletionAsync()).Failure);
        var added = Assert.Single(_sink.Added);
        Assert.Equal(TestPeers.Id(2), added.Peer);
        Assert.Equal([Multiaddr.Parse("/ip4/1.2.3.4/tcp/1")], added.Addresses);
    }

    [Fact]
    public async Task DisposeAsync_ExchangeInFlight_CancelsItAndAwaitsTheWorkers()
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _opener.Open = async (_, ct) =>
        {
            await using var registration = ct.Register(() => cancelled.TrySetResult());
            await Task.Delay(System.Threading.Timeout.InfiniteTimeSpan, ct);
            throw new InvalidOperationException("unreachable");
        };
        var service = Start();
        service.NotifyConnected(TestPeers.Id(1), LoopbackConnection);
        await _opener.WaitForOpensAsync(1);

        await service.DisposeAsync().AsTask().WaitAsync(Timeout);
        await service.DisposeAsync().AsTask().WaitAsync(Timeout);

        Assert.True(cancelled.Task.IsCompleted);
        service.NotifyConnected(TestPeers.Id(2), LoopbackConnection);
        _time.Advance(Interval * 2);
        Assert.Single(_opener.Opened);
        Assert.Throws<ObjectDisposedException>(service.Start);
    }

    [Fact]
    public void Constructor_InvalidOptions_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PeerExchangeService(Local, _opener, _sink, new PeerExchangeOptions { MaxConcurrentRequests = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PeerExchangeService(Local, _opener, _sink, new PeerExchangeOptions { Interval = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PeerExchangeService(Local, _opener, _sink, new PeerExchangeOptions { RequestTimeout = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PeerExchangeService(Local, _opener, _sink, new PeerExchangeOptions { MaxQueuedPeers = 0 }));
    }

    private static async Task RespondRawAsync(InMemoryStream listener, byte[] body)
    {
        await PexFraming.ReadFrameAsync(listener.Input, PeerExchangeProtocol.MaxRequestSize);
        await PexFraming.WriteFrameAsync(listener.Output, body);
        await listener.CloseWriteAsync();
    }

    private sealed class TestOpener : IPexStreamOpener
    {
        private readonly Lock _lock = new();
        private readonly List<PeerId> _opened = [];
        private readonly Channel<PeerId> _opens = Channel.CreateUnbounded<PeerId>();
        private int _current;

        public Func<PeerId, CancellationToken, ValueTask<IMuxedStream>> Open { get; set; } =
            (_, _) => throw new PeerUnreachableException("no handler configured");

        public int MaxConcurrent { get; private set; }

        public List<PeerId> Opened
        {
            get
            {
                lock (_lock)
                {
                    return [.. _opened];
                }
            }
        }

        public async ValueTask<IMuxedStream> OpenStreamAsync(PeerId peer, CancellationToken cancellationToken = default)
        {
            lock (_lock)
            {
                _opened.Add(peer);
                MaxConcurrent = Math.Max(MaxConcurrent, ++_current);
            }

            _opens.Writer.TryWrite(peer);
            try
            {
                return await Open(peer, cancellationToken);
            }
            finally
            {
                lock (_lock)
                {
                    _current--;
                }
            }
        }

        public async Task WaitForOpensAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                await _opens.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
            }
        }
    }

    private sealed class RecordingSink : IDiscoveredPeerSink
    {
        private readonly Lock _lock = new();
        private readonly List<(PeerId Peer, IReadOnlyList<Multiaddr> Addresses, string Source)> _added = [];

        public List<(PeerId Peer, IReadOnlyList<Multiaddr> Addresses, string Source)> Added
        {
            get
            {
                lock (_lock)
                {
                    return [.. _added];
                }
            }
        }

        public void AddPeer(PeerId peer, IReadOnlyList<Multiaddr> addresses, string source)
        {
            lock (_lock)
            {
                _added.Add((peer, addresses, source));
            }
        }
    }
}
