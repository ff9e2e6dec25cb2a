using System.Threading.Channels;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Discovery.Bootstrap;
using PromiseGrid.Mesh.Discovery.PeerExchange;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Node.Mesh;
using static PromiseGrid.Mesh.Node.Tests.Mesh.ConnectionManagerTests;

namespace PromiseGrid.Mesh.Node.Tests.Mesh;

public sealed class MeshMaintenanceTests : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly Multiaddr Remote = Multiaddr.Parse("/ip4/127.0.0.1/tcp/7000");

    private readonly Fakes _fakes = new();
    private readonly ConnectionManager _manager = new(new ConnectionManagerOptions { LowWater = 0, HighWater = 1, GracePeriod = TimeSpan.Zero, TrimInterval = TimeSpan.FromHours(1) });
    private MeshMaintenance? _subject;

    public async ValueTask DisposeAsync()
    {
        if (_subject is not null)
        {
            await _subject.DisposeAsync().AsTask().WaitAsync(Timeout);
        }
    }

    private MeshMaintenance Start(bool withBootstrap = true)
    {
        var bootstrap = withBootstrap
            ? new BootstrapDialer(
                new BootstrapOptions
                {
                    Peers = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001").WithPeerId(Peer(1))],
                    InitialBackoff = TimeSpan.FromMilliseconds(1),
                    MaxBackoff = TimeSpan.FromMilliseconds(1),
                    Jitter = 0,
                },
                _fakes)
            : null;
        var exchange = new PeerExchangeService(Peer(0), _fakes, _fakes);
        var trimmer = new ConnectionTrimmer(_manager, _fakes);
        _subject = new MeshMaintenance(_manager, bootstrap, exchange, trimmer);
        _subject.Start();
        return _subject;
    }

    [Fact]
    public async Task Start_BootstrapPeer_IsProtectedAndDialled()
    {
        Start();

        Assert.Equal(Peer(1), (await _fakes.Dials.Reader.ReadAsync().AsTask().WaitAsync(Timeout)).PeerId);
        Assert.True(_manager.IsProtected(Peer(1)));
    }

    [Fact]
    public async Task OnConnectionOpened_SecondConnectionToAPeer_AsksForPeersOnlyOnce()
    {
        var subject = Start(withBootstrap: false);

        subject.OnConnectionOpened(Peer(2), Remote);
        subject.OnConnectionOpened(Peer(2), Remote);
        subject.OnConnectionOpened(Peer(3), Remote);

        var asked = new[] { await _fakes.NextOpenAsync(), await _fakes.NextOpenAsync() };
        Assert.Equal([Peer(2), Peer(3)], asked.Order());
        Assert.Equal(2, subject.ConnectionCount(Peer(2)));
    }

    [Fact]
    public async Task OnConnectionClosed_LastConnectionOfABootstrapPeer_Redials()
    {
        var subject = Start();
        await _fakes.Dials.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        subject.OnConnectionOpened(Peer(1), Remote);
        subject.OnConnectionOpened(Peer(1), Remote);

        subject.OnConnectionClosed(Peer(1));
        Assert.Equal(1, subject.ConnectionCount(Peer(1)));
        subject.OnConnectionClosed(Peer(1));

        Assert.Equal(Peer(1), (await _fakes.Dials.Reader.ReadAsync().AsTask().WaitAsync(Timeout)).PeerId);
        Assert.Equal(0, subject.ConnectionCount(Peer(1)));
    }

    [Fact]
    public async Task OnConnectionOpened_OverTheHighWaterMark_TrimsUnprotectedConnections()
    {
        _fakes.Connections = [Conn(1), Conn(2)];
        var subject = Start();

        subject.OnConnectionOpened(Peer(2), Remote);

        Assert.Equal(2L, await _fakes.Closed.Reader.ReadAsync().AsTask().WaitAsync(Timeout));
    }

    private sealed class Fakes : IPeerDialer, IPexStreamOpener, IDiscoveredPeerSink, IConnectionView
    {
        private readonly Channel<PeerId> _opens = Channel.CreateUnbounded<PeerId>();

        public Channel<Multiaddr> Dials { get; } = Channel.CreateUnbounded<Multiaddr>();

        public Channel<long> Closed { get; } = Channel.CreateUnbounded<long>();

        public IReadOnlyList<ConnectionSnapshot> Connections { get; set; } = [];

        public ValueTask DialAsync(Multiaddr address, CancellationToken cancellationToken = default)
        {
            Dials.Writer.TryWrite(address);
            return ValueTask.CompletedTask;
        }

        public ValueTask<IMuxedStream> OpenStreamAsync(PeerId peer, CancellationToken cancellationToken = default)
        {
            _opens.Writer.TryWrite(peer);
            throw new ProtocolNegotiationException("na");
        }

        public async Task<PeerId> NextOpenAsync() => await _opens.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

        public void AddPeer(PeerId peer, IReadOnlyList<Multiaddr> addresses, string source)
        {
        }

        public IReadOnlyList<ConnectionSnapshot> GetConnections() => Connections;

        public ValueTask CloseAsync(ConnectionSnapshot connection, CancellationToken cancellationToken = default)
        {
            Closed.Writer.TryWrite(connection.ConnectionId);
            return ValueTask.CompletedTask;
        }
    }
}
