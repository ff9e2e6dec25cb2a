using System.Net;
using Makaretu.Dns;
using Microsoft.Extensions.Time.Testing;
using PromiseGrid.Mesh.Discovery.Mdns;
using PromiseGrid.Mesh.Discovery.Tests.Testing;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Tests.Mdns;

public sealed class MdnsDiscoveryTests : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly MemoryMdnsLink _link = new();
    private readonly List<MdnsDiscovery> _nodes = [];

    private MdnsOptions Options => MdnsOptions.Default with { TimeProvider = _time, Interfaces = ["mem0"], MinResponseInterval = TimeSpan.Zero };

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }

    private (MdnsDiscovery Node, MemoryMdnsTransport Transport) Create(PeerId id, string[] addresses, MdnsOptions? options = null, bool loopback = false)
    {
        var transport = _link.Join(loopback);
        var node = new MdnsDiscovery(id, () => [.. addresses.Select(Multiaddr.Parse)], options ?? Options, (_, _) => transport);
        _nodes.Add(node);
        return (node, transport);
    }

    [Fact]
    public async Task StartAsync_TwoNodes_DiscoverEachOther()
    {
        var (a, _) = Create(TestPeers.Id(1), ["/ip4/10.9.0.1/tcp/4001"]);
        var (b, _) = Create(TestPeers.Id(2), ["/ip4/10.9.0.2/tcp/4001"]);

        await a.StartAsync();
        await b.StartAsync();
        var seenByA = await a.Discovered.ReadAsync().AsTask().WaitAsync(Timeout);
        var seenByB = await b.Discovered.ReadAsync().AsTask().WaitAsync(Timeout);

        Assert.Equal(TestPeers.Id(2), seenByA.PeerId);
        Assert.Equal([Multiaddr.Parse("/ip4/10.9.0.2/tcp/4001").WithPeerId(TestPeers.Id(2))], seenByA.Multiaddrs);
        Assert.Equal("mdns", seenByA.Source);
        Assert.Equal(TimeSpan.FromSeconds(120), seenByA.Ttl);
        Assert.Equal(TestPeers.Id(1), seenByB.PeerId);
    }

    [Fact]
    public async Task StartAsync_QueryBurst_ThenInterval()
    {
        var (node, transport) = Create(TestPeers.Id(1), ["/ip4/10.9.0.1/tcp/4001"]);

        await node.StartAsync();
        var queries = 0;
        async Task NextQueryAsync()
        {
            while (true)
            {
                var (packet, _) = await transport.Sent.ReadAsync().AsTask().WaitAsync(Timeout);
                if (MdnsCodec.Decode(packet).IsQuery)
                {
                    queries++;
                    return;
                }
            }
        }

        await NextQueryAsync(); // at 0
        _time.Advance(TimeSpan.FromMilliseconds(250));
        await NextQueryAsync();
        _time.Advance(TimeSpan.FromMilliseconds(750));
        await NextQueryAsync();
        _time.Advance(TimeSpan.FromSeconds(10));
        await NextQueryAsync();

        Assert.Equal(4, queries);
    }

    [Fact]
    public async Task HandleAsync_ServiceQuery_AnswersWithDnsAddrOfOwnPeer()
    {
        var id = TestPeers.Id(1);
        var (node, transport) = Create(id, ["/ip4/10.9.0.1/tcp/4001", "/ip4/127.0.0.1/tcp/4001"]);
        await node.StartAsync();
        await DrainAsync(transport);

        _link.Inject(MdnsCodec.EncodeQuery());
        var response = await NextResponseAsync(transport);

        var peer = Assert.Single(MdnsCodec.ReadResponse(MdnsCodec.Decode(response.Packet)).Peers);
        Assert.Null(response.UnicastTo);
        Assert.Equal(id, peer.PeerId);
        Assert.Equal(node.InstanceName, peer.InstanceName);
        Assert.Equal([Multiaddr.Parse("/ip4/10.9.0.1/tcp/4001").WithPeerId(id)], peer.Addresses); // loopback skipped on mem0
    }

    [Fact]
    public void AddressesFor_ForeignOrOwnP2pSuffix_KeepsOnlyOwn()
    {
        var own = TestPeers.Id(1);
        var (node, transport) = Create(own, [
            "/ip4/10.9.0.1/tcp/1/p2p/" + own,
            "/ip4/10.9.0.1/tcp/2/p2p/" + TestPeers.Id(2),
            "/ip4/10.9.0.1/tcp/3"]);

        var addresses = node.AddressesFor(transport.Interfaces[0]);

        Assert.Equal(["/ip4/10.9.0.1/tcp/1/p2p/" + own, "/ip4/10.9.0.1/tcp/3/p2p/" + own], addresses.Select(a => a.ToString()));
    }

    [Fact]
    public async Task HandleAsync_LoopbackInterface_AnnouncesLoopbackAddresses()
    {
        var id = TestPeers.Id(1);
        var (node, transport) = Create(id, ["/ip4/127.0.0.1/tcp/4001"], Options with { Interfaces = ["lo"] }, loopback: true);

        await node.StartAsync();
        var announcement = await NextResponseAsync(transport);

        Assert.Equal([Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001").WithPeerId(id)],
            Assert.Single(MdnsCodec.ReadResponse(MdnsCodec.Decode(announcement.Packet)).Peers).Addresses);
    }

    [Fact]
    public async Task HandleAsync_QueryWithQuBit_AnswersByUnicast()
    {
        var (node, transport) = Create(TestPeers.Id(1), ["/ip4/10.9.0.1/tcp/4001"]);
        await node.StartAsync();
        await DrainAsync(transport);
        var asker = new IPEndPoint(IPAddress.Parse("10.9.0.77"), 40000);

        _link.Inject(MdnsCodec.EncodeQuery(unicastResponse: true), asker);
        var response = await NextResponseAsync(transport, r => r.UnicastTo is not null);

        Assert.Equal(asker, response.UnicastTo);
    }

    [Fact]
    public async Task HandleAsync_InstanceTxtQuery_Answers()
    {
        var (node, transport) = Create(TestPeers.Id(1), ["/ip4/10.9.0.1/tcp/4001"]);
        await node.StartAsync();
        await DrainAsync(transport);
        var query = new Message();
        query.Questions.Add(new Question { Name = node.InstanceName, Type = DnsType.TXT, Class = DnsClass.IN });

        _link.Inject(query.ToByteArray());
        var response = await NextResponseAsync(transport);

        Assert.Equal(TestPeers.Id(1), Assert.Single(MdnsCodec.ReadResponse(MdnsCodec.Decode(response.Packet)).Peers).PeerId);
    }

    [Fact]
    public async Task HandleAsync_DnsSdMetaQuery_AnswersServiceName()
    {
        var (node, transport) = Create(TestPeers.Id(1), ["/ip4/10.9.0.1/tcp/4001"]);
        await node.StartAsync();
        var query = new Message();
        query.Questions.Add(new Question { Name = "_services._dns-sd._udp.local", Type = DnsType.PTR, Class = DnsClass.IN });

        _link.Inject(query.ToByteArray());
        var response = await NextResponseAsync(transport, r => MdnsCodec.Decode(r.Packet).Answers.OfType<PTRRecord>()
            .Any(p => MdnsCodec.NameEquals(p.Name, "_services._dns-sd._udp.local")));

        var ptr = Assert.Single(MdnsCodec.Decode(response.Packet).Answers.OfType<PTRRecord>());
        Assert.True(MdnsCodec.NameEquals(ptr.DomainName, "_p2p._udp.local"));
    }

    [Fact]
    public async Task HandleAsync_QueriesWithinOneSecond_AnswersOnce()
    {
        var (node, transport) = Create(TestPeers.Id(1), ["/ip4/10.9.0.1/tcp/4001"], Options with { MinResponseInterval = TimeSpan.FromSeconds(1) });
        await node.StartAsync();
        await NextResponseAsync(transport); // the announcement
        await NextResponseAsync(transport); // the answer to its own first query, at time 0

        _link.Inject(MdnsCodec.EncodeQuery());
        _link.Inject(MdnsCodec.EncodeQuery(unicastResponse: true)); // a marker: unicast answers are not rate-limited
        var next = await NextResponseAsync(transport);

        Assert.NotNull(next.UnicastTo);
    }

    [Fact]
    public async Task HandleAsync_OwnResponse_IsNotDiscovered()
    {
        var (node, transport) = Create(TestPeers.Id(1), ["/ip4/10.9.0.1/tcp/4001"]);
        await node.StartAsync();

        _link.Inject(MdnsCodec.EncodeResponse(MdnsCodec.DefaultServiceName, "ownxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            [Multiaddr.Parse("/ip4/10.9.0.1/tcp/4001").WithPeerId(TestPeers.Id(1))], TimeSpan.FromSeconds(120)));
        _link.Inject(PeerResponse(TestPeers.Id(2), TimeSpan.FromSeconds(120)));
        var first = await node.Discovered.ReadAsync().AsTask().WaitAsync(Timeout);

        Assert.Equal(TestPeers.Id(2), first.PeerId);
        Assert.DoesNotContain(node.GetPeers(), p => p.PeerId == TestPeers.Id(1));
    }

    [Fact]
    public async Task HandleAsync_HostilePackets_AreDroppedAndLoopContinues()
    {
        var (node, _) = Create(TestPeers.Id(1), ["/ip4/10.9.0.1/tcp/4001"]);
        await node.StartAsync();

        _link.Inject(Convert.FromHexString("000000000001000000000000c00c000c0001")); // compression loop
        _link.Inject(new byte[MdnsCodec.MaxPacketSize + 1]);
        _link.Inject(Convert.FromHexString("0000840000ff00ff00ff00ff"));
        _link.Inject(new byte[] { 1, 2, 3 });
        _link.Inject(PeerResponse(TestPeers.Id(2), TimeSpan.FromSeconds(120)));
        var evt = await node.Discovered.ReadAsync().AsTask().WaitAsync(Timeout);

        Assert.Equal(TestPeers.Id(2), evt.PeerId);
    }

    [Fact]
    public async Task HandleAsync_Goodbye_RemovesPeer()
    {
        var (node, _) = Create(TestPeers.Id(1), ["/ip4/10.9.0.1/tcp/4001"]);
        await node.StartAsync();
        _link.Inject(PeerResponse(TestPeers.Id(2), TimeSpan.FromSeconds(120)));
        await node.Discovered.ReadAsync().AsTask().WaitAsync(Timeout);

        _link.Inject(PeerResponse(TestPeers.Id(2), TimeSpan.Zero));
        var gone = await node.Discovered.ReadAsync().AsTask().WaitAsync(Timeout);

        Assert.True(gone.IsGone);
        Assert.Equal(TestPeers.Id(2), gone.PeerId);
        Assert.Empty(node.GetPeers());
    }

    [Fact]
    public async Task SweepExpired_AfterTtl_ReportsPeerGone()
    {
        var (node, _) = Create(TestPeers.Id(1), ["/ip4/10.9.0.1/tcp/4001"]);
        await node.StartAsync();
        _link.Inject(PeerResponse(TestPeers.Id(2), TimeSpan.FromSeconds(30)));
        await node.Discovered.ReadAsync().AsTask().WaitAsync(Timeout);

        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.Single(node.GetPeers());
        _time.Advance(TimeSpan.FromSeconds(2));
        var gone = await node.Discovered.ReadAsync().AsTask().WaitAsync(Timeout);

        Assert.True(gone.IsGone);
        Assert.Empty(node.GetPeers());
    }

    [Fact]
    public async Task Learn_PastMaxPeers_IgnoresNewPeers()
    {
        var (node, _) = Create(TestPeers.Id(1), ["/ip4/10.9.0.1/tcp/4001"], Options with { MaxPeers = 1 });
        await node.StartAsync();

        _link.Inject(PeerResponse(TestPeers.Id(2), TimeSpan.FromSeconds(120)));
        _link.Inject(PeerResponse(TestPeers.Id(3), TimeSpan.FromSeconds(120)));
        _link.Inject(PeerResponse(TestPeers.Id(4), TimeSpan.FromSeconds(120), port: 9)); // a third new peer: ignored too
        _link.Inject(PeerResponse(TestPeers.Id(2), TimeSpan.FromSeconds(120), port: 2)); // a new address of the known peer: taken
        var first = await node.Discovered.ReadAsync().AsTask().WaitAsync(Timeout);
        var second = await node.Discovered.ReadAsync().AsTask().WaitAsync(Timeout);

        Assert.Equal(TestPeers.Id(2), first.PeerId);
        Assert.Equal(TestPeers.Id(2), second.PeerId);
        Assert.Equal(2, second.Multiaddrs.Count);
        Assert.Single(node.GetPeers());
    }

    [Fact]
    public async Task DisposeAsync_Started_SendsGoodbyeAndCompletesChannel()
    {
        var (node, transport) = Create(TestPeers.Id(1), ["/ip4/10.9.0.1/tcp/4001"]);
        await node.StartAsync();
        await DrainAsync(transport);

        await node.DisposeAsync();
        await node.DisposeAsync(); // idempotent

        var packets = new List<byte[]>();
        await foreach (var (packet, _) in transport.Sent.ReadAllAsync().WithCancellation(new CancellationTokenSource(Timeout).Token))
        {
            packets.Add(packet);
        }

        var goodbye = MdnsCodec.ReadResponse(MdnsCodec.Decode(packets.Last())).Peers.Single();
        Assert.Equal(TimeSpan.Zero, goodbye.Ttl);
        Assert.True(transport.Disposed);
        await node.Discovered.Completion.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Goodbye_FromDisposedPeer_RemovesItElsewhere()
    {
        var (a, _) = Create(TestPeers.Id(1), ["/ip4/10.9.0.1/tcp/4001"]);
        var (b, _) = Create(TestPeers.Id(2), ["/ip4/10.9.0.2/tcp/4001"]);
        await a.StartAsync();
        await b.StartAsync();
        await a.Discovered.ReadAsync().AsTask().WaitAsync(Timeout);

        await b.DisposeAsync();
        var gone = await a.Discovered.ReadAsync().AsTask().WaitAsync(Timeout);

        Assert.True(gone.IsGone);
        Assert.Equal(TestPeers.Id(2), gone.PeerId);
    }

    [Fact]
    public async Task StartAsync_Twice_Throws()
    {
        var (node, _) = Create(TestPeers.Id(1), []);
        await node.StartAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => node.StartAsync());
    }

    [Fact]
    public void Constructor_BadPeerName_Throws()
    {
        Assert.Throws<ArgumentException>(() => Create(TestPeers.Id(1), [], Options with { PeerNameGenerator = () => "Not.A.Label" }));
    }

    [Fact]
    public void Options_Invalid_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => (MdnsOptions.Default with { QueryInterval = TimeSpan.Zero }).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => (MdnsOptions.Default with { RecordTtl = TimeSpan.Zero }).Validate());
        Assert.Throws<ArgumentException>(() => (MdnsOptions.Default with { UseIPv4 = false, UseIPv6 = false }).Validate());
    }

    [Fact]
    public void GeneratePeerName_Always_LowerAlphanumeric32To63()
    {
        for (var i = 0; i < 200; i++)
        {
            var name = MdnsOptions.GeneratePeerName();
            Assert.InRange(name.Length, 32, 63);
            Assert.All(name, c => Assert.True(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c)));
        }
    }

    private static byte[] PeerResponse(PeerId id, TimeSpan ttl, int port = 1) =>
        MdnsCodec.EncodeResponse(MdnsCodec.DefaultServiceName, "peer" + id.ToString().ToLowerInvariant()[^36..],
            [Multiaddr.Parse($"/ip4/10.9.0.9/tcp/{port}").WithPeerId(id)], ttl);

    private static async Task DrainAsync(MemoryMdnsTransport transport)
    {
        // The announcement at start and the first query at time 0.
        var seen = 0;
        while (seen < 2)
        {
            await transport.Sent.ReadAsync().AsTask().WaitAsync(Timeout);
            seen++;
        }
    }

    private static async Task<(byte[] Packet, IPEndPoint? UnicastTo)> NextResponseAsync(
        MemoryMdnsTransport transport, Func<(byte[] Packet, IPEndPoint? UnicastTo), bool>? predicate = null)
    {
        while (true)
        {
            var sent = await transport.Sent.ReadAsync().AsTask().WaitAsync(Timeout);
            if (MdnsCodec.Decode(sent.Packet).IsResponse && (predicate is null || predicate(sent)))
            {
                return sent;
            }
        }
    }
}
