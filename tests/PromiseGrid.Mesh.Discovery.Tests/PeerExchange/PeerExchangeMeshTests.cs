using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Discovery.PeerExchange;
using PromiseGrid.Mesh.Discovery.Tests.Bootstrap;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Tests.PeerExchange;

/// <summary>Several in-memory nodes wired with the real handler, client and service.</summary>
public sealed class PeerExchangeMeshTests : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new();
    private readonly Dictionary<PeerId, MemoryNode> _nodes = [];

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes.Values)
        {
            await node.DisposeAsync().AsTask().WaitAsync(Timeout);
        }
    }

    private MemoryNode Node(int n)
    {
        var node = new MemoryNode(TestPeers.Id(n), Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{4000 + n}"), _nodes, _time);
        _nodes.Add(node.Id, node);
        return node;
    }

    private static void Link(MemoryNode a, MemoryNode b)
    {
        a.Connected[b.Id] = b.Address;
        b.Connected[a.Id] = a.Address;
    }

    private static void Notify(MemoryNode a, MemoryNode b)
    {
        a.Service.NotifyConnected(b.Id, b.Address);
        b.Service.NotifyConnected(a.Id, a.Address);
    }

    [Fact]
    public async Task NodesSharingOnlyABootstrapPeer_LearnEachOther()
    {
        var bootstrap = Node(1);
        var b = Node(2);
        var c = Node(3);
        Link(bootstrap, b);
        Link(bootstrap, c);
        var learnedByB = b.WaitToLearnAsync(c.Id);
        var learnedByC = c.WaitToLearnAsync(b.Id);

        Notify(bootstrap, b);
        Notify(bootstrap, c);

        Assert.Equal([c.Address], await learnedByB.WaitAsync(Timeout));
        Assert.Equal([b.Address], await learnedByC.WaitAsync(Timeout));
        Assert.False(b.Known.ContainsKey(b.Id));
        Assert.False(c.Known.ContainsKey(c.Id));
    }

    [Fact]
    public async Task LateJoiner_IsLearnedAtTheNextInterval()
    {
        var bootstrap = Node(1);
        var b = Node(2);
        Link(bootstrap, b);
        Notify(bootstrap, b);
        await b.WaitForExchangeWithAsync(bootstrap.Id);

        var d = Node(4);
        Link(bootstrap, d);
        Notify(bootstrap, d);
        Assert.Equal([b.Address], await d.WaitToLearnAsync(b.Id).WaitAsync(Timeout));
        Assert.False(b.Known.ContainsKey(d.Id));

        _time.Advance(PeerExchangeOptions.Default.Interval);

        Assert.Equal([d.Address], await b.WaitToLearnAsync(d.Id).WaitAsync(Timeout));
    }

    private sealed class MemoryNode : IPexStreamOpener, IPexPeerSource, IDiscoveredPeerSink, IAsyncDisposable
    {
        private readonly Dictionary<PeerId, MemoryNode> _nodes;
        private readonly ConcurrentBag<Task> _serving = [];
        private readonly Channel<PeerId> _learned = Channel.CreateUnbounded<PeerId>();
        private readonly Channel<PeerId> _exchanged = Channel.CreateUnbounded<PeerId>();

        public MemoryNode(PeerId id, Multiaddr address, Dictionary<PeerId, MemoryNode> nodes, TimeProvider time)
        {
            Id = id;
            Address = address;
            _nodes = nodes;
            var options = new PeerExchangeOptions { TimeProvider = time };
            Handler = new PeerExchangeHandler(this, options);
            Service = new PeerExchangeService(id, this, this, options);
            Service.ExchangeCompleted += (peer, failure) =>
            {
                Assert.Null(failure);
                _exchanged.Writer.TryWrite(peer);
            };
            Service.Start();
        }

        public PeerId Id { get; }

        public Multiaddr Address { get; }

        public PeerExchangeHandler Handler { get; }

        public PeerExchangeService Service { get; }

        public ConcurrentDictionary<PeerId, Multiaddr> Connected { get; } = new();

        public ConcurrentDictionary<PeerId, IReadOnlyList<Multiaddr>> Known { get; } = new();

        public ValueTask<IMuxedStream> OpenStreamAsync(PeerId peer, CancellationToken cancellationToken = default)
        {
            var (dialer, listener) = InMemoryStream.CreatePair();
            _serving.Add(_nodes[peer].Handler.HandleAsync(Id, Address, listener, cancellationToken).AsTask());
            return ValueTask.FromResult<IMuxedStream>(dialer);
        }

        public IReadOnlyList<PexPeerInfo> GetPeers() =>
            [.. Connected.Select(kv => new PexPeerInfo(kv.Key, [kv.Value]))];

        public void AddPeer(PeerId peer, IReadOnlyList<Multiaddr> addresses, string source)
        {
            Assert.Equal("exchange", source);
            Known[peer] = addresses;
            _learned.Writer.TryWrite(peer);
        }

        public async Task<IReadOnlyList<Multiaddr>> WaitToLearnAsync(PeerId peer)
        {
            while (!Known.ContainsKey(peer))
            {
                await _learned.Reader.ReadAsync();
            }

            return Known[peer];
        }

        public async Task WaitForExchangeWithAsync(PeerId peer)
        {
            while (await _exchanged.Reader.ReadAsync().AsTask().WaitAsync(Timeout) != peer)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Service.DisposeAsync();
            await Task.WhenAll(_serving);
        }
    }
}
