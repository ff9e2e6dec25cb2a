using PromiseGrid.Mesh.Discovery.PeerExchange;
using PromiseGrid.Mesh.Discovery.Tests.Bootstrap;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Tests.PeerExchange;

public class PexResponseBuilderTests
{
    private static readonly Multiaddr Loopback = Multiaddr.Parse("/ip4/127.0.0.1/tcp/5000");
    private static readonly Multiaddr Public = Multiaddr.Parse("/ip4/8.8.8.8/tcp/4001");

    private static PexPeerInfo Peer(int n, params string[] addresses) =>
        new(TestPeers.Id(n), [.. addresses.Select(Multiaddr.Parse)]);

    [Fact]
    public void Build_RequesterAmongCandidates_IsExcluded()
    {
        var result = PexResponseBuilder.Build([Peer(1, "/ip4/1.1.1.1/tcp/1"), Peer(2, "/ip4/1.1.1.2/tcp/1")], TestPeers.Id(1), Public, 0);
        Assert.Equal([TestPeers.Id(2)], result.Select(p => p.PeerId));
    }

    [Fact]
    public void Build_PublicRequester_GetsOnlyPublicAddresses()
    {
        var candidates = new[] { Peer(2, "/ip4/127.0.0.1/tcp/1", "/ip4/10.0.0.2/tcp/1", "/ip4/1.1.1.2/tcp/1", "/ip4/0.0.0.0/tcp/1") };
        var result = PexResponseBuilder.Build(candidates, TestPeers.Id(1), Public, 0);
        Assert.Equal([Multiaddr.Parse("/ip4/1.1.1.2/tcp/1")], result[0].Addresses);
    }

    [Fact]
    public void Build_LoopbackRequester_GetsLoopbackPrivateAndPublic()
    {
        var candidates = new[] { Peer(2, "/ip4/127.0.0.1/tcp/1", "/ip4/10.0.0.2/tcp/1", "/ip4/1.1.1.2/tcp/1", "/ip6/fe80::1/tcp/1") };
        var result = PexResponseBuilder.Build(candidates, TestPeers.Id(1), Loopback, 0);
        Assert.Equal(3, result[0].Addresses.Count);
    }

    [Fact]
    public void Build_PeerWithNoShareableAddress_IsDropped()
    {
        var result = PexResponseBuilder.Build([Peer(2, "/ip4/127.0.0.1/tcp/1"), Peer(3, "/ip4/1.1.1.3/tcp/1")], TestPeers.Id(1), Public, 0);
        Assert.Equal([TestPeers.Id(3)], result.Select(p => p.PeerId));
    }

    [Fact]
    public void Build_AddressesWithP2pAndDuplicates_AreStrippedAndDeduplicated()
    {
        var a = Multiaddr.Parse("/ip4/1.1.1.2/tcp/1");
        var candidate = new PexPeerInfo(TestPeers.Id(2), [a.WithPeerId(TestPeers.Id(2)), a]);
        var result = PexResponseBuilder.Build([candidate], TestPeers.Id(1), Public, 0);
        Assert.Equal([a], result[0].Addresses);
    }

    [Fact]
    public void Build_MoreThan64PeersWith12Addresses_CapsBothLimits()
    {
        var candidates = Enumerable.Range(2, 100)
            .Select(n => new PexPeerInfo(TestPeers.Id(n), [.. Enumerable.Range(1, 12).Select(p => Multiaddr.Parse($"/ip4/1.1.{n}.{p}/tcp/4001"))]))
            .ToArray();
        var result = PexResponseBuilder.Build(candidates, TestPeers.Id(1), Public, 0);
        Assert.Equal(PeerExchangeProtocol.MaxPeersPerResponse, result.Count);
        Assert.All(result, p => Assert.Equal(PeerExchangeProtocol.MaxAddressesPerPeer, p.Addresses.Count));
        Assert.Equal(candidates.Take(64).Select(c => c.PeerId), result.Select(p => p.PeerId)); // source order kept
        Assert.Equal(64, PexCodec.DecodeResponse(PexCodec.EncodeResponse(result)).Count);
    }

    [Fact]
    public void Build_RequestedMaxPeers_IsHonouredBelowTheProtocolLimit()
    {
        var candidates = Enumerable.Range(2, 20).Select(n => Peer(n, $"/ip4/1.1.1.{n}/tcp/1")).ToArray();
        Assert.Equal(5, PexResponseBuilder.Build(candidates, TestPeers.Id(1), Public, 5).Count);
        Assert.Equal(20, PexResponseBuilder.Build(candidates, TestPeers.Id(1), Public, 1000).Count);
    }

    [Fact]
    public void Build_EntriesThatWouldPass16KiB_AreLeftOut()
    {
        var longName = new string('a', 240);
        var candidates = Enumerable.Range(2, 40)
            .Select(n => new PexPeerInfo(TestPeers.Id(n), [.. Enumerable.Range(1, 8).Select(p => Multiaddr.Parse($"/dns4/{longName}.example/tcp/{p}"))]))
            .ToArray();
        var result = PexResponseBuilder.Build(candidates, TestPeers.Id(1), Public, 0);
        var body = PexCodec.EncodeResponse(result);
        Assert.InRange(result.Count, 1, 39);
        Assert.True(body.Length <= PeerExchangeProtocol.MaxMessageSize);
        Assert.True(body.Length + PexCodec.EncodePeer(candidates[result.Count]).Length > PeerExchangeProtocol.MaxMessageSize);
    }
}
