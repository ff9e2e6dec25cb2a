using PromiseGrid.Mesh.Discovery.PeerExchange;
using PromiseGrid.Mesh.Discovery.Tests.Bootstrap;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Tests.PeerExchange;

public class PexCodecTests
{
    private static readonly Multiaddr A1 = Multiaddr.Parse("/ip4/1.2.3.4/tcp/4001");
    private static readonly Multiaddr A2 = Multiaddr.Parse("/ip6/2001:db8::1/tcp/4001");

    [Fact]
    public void EncodeRequest_MaxPeers64_IsTheSpecVector()
    {
        // docs/peer-exchange.md §3.1: field 1 varint 64 → 08 40
        Assert.Equal("0840", Convert.ToHexString(PexCodec.EncodeRequest(64)));
        Assert.Empty(PexCodec.EncodeRequest(0));
    }

    [Fact]
    public void EncodeResponse_DocExample_MatchesTheSpecBytes()
    {
        // docs/peer-exchange.md §3.1
        const string Frame = "340a320a260024080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e12080401020304060fa1";
        var peer = new PexPeerInfo(Identity.PeerId.Parse("12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"), [Multiaddr.Parse("/ip4/1.2.3.4/tcp/4001")]);
        var body = PexCodec.EncodeResponse([peer]);
        Assert.Equal(Frame, Convert.ToHexString(RawProto.Frame(body)).ToLowerInvariant());
        var decoded = Assert.Single(PexCodec.DecodeResponse(Convert.FromHexString(Frame)[1..]));
        Assert.Equal(peer.PeerId, decoded.PeerId);
        Assert.Equal(peer.Addresses, decoded.Addresses);
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("0840", 64)]
    [InlineData("08c801", 200)]
    [InlineData("12036162630808", 8)] // unknown field 2 skipped
    public void DecodeRequest_Bodies_YieldMaxPeers(string hex, int expected) =>
        Assert.Equal(expected, PexCodec.DecodeRequest(Convert.FromHexString(hex)));

    [Fact]
    public void DecodeRequest_TruncatedVarint_ThrowsInvalidFormat() =>
        Assert.Throws<InvalidFormatException>(() => PexCodec.DecodeRequest([0x08, 0x80]));

    [Fact]
    public void EncodeResponse_OnePeer_MatchesTheHandBuiltBytes()
    {
        var peer = new PexPeerInfo(TestPeers.Id(1), [A1]);
        var expected = RawProto.Bytes(1, RawProto.Peer(TestPeers.Id(1), A1));
        Assert.Equal(expected, PexCodec.EncodeResponse([peer]));
        // field 1 (0a), length, then id (0a 22 12 20 …) and one 8-byte address (12 08 04 01020304 06 0fa1)
        Assert.StartsWith("0A", Convert.ToHexString(expected), StringComparison.Ordinal);
        Assert.EndsWith("12080401020304060FA1", Convert.ToHexString(expected), StringComparison.Ordinal);
    }

    [Fact]
    public void DecodeResponse_EncodedPeers_RoundTrips()
    {
        PexPeerInfo[] peers = [new(TestPeers.Id(1), [A1, A2]), new(TestPeers.Id(2), [A2])];
        var decoded = PexCodec.DecodeResponse(PexCodec.EncodeResponse(peers));
        Assert.Equal(2, decoded.Count);
        Assert.Equal(TestPeers.Id(1), decoded[0].PeerId);
        Assert.Equal([A1, A2], decoded[0].Addresses);
        Assert.Equal(TestPeers.Id(2), decoded[1].PeerId);
        Assert.Equal([A2], decoded[1].Addresses);
    }

    [Fact]
    public void DecodeResponse_Exactly64Peers_IsAccepted()
    {
        var body = Enumerable.Range(0, 64).SelectMany(n => RawProto.Bytes(1, RawProto.Peer(TestPeers.Id(n), A1))).ToArray();
        Assert.Equal(64, PexCodec.DecodeResponse(body).Count);
    }

    [Fact]
    public void DecodeResponse_65Peers_ThrowsLimitExceeded()
    {
        var body = Enumerable.Range(0, 65).SelectMany(n => RawProto.Bytes(1, RawProto.Peer(TestPeers.Id(n), A1))).ToArray();
        var e = Assert.Throws<LimitExceededException>(() => PexCodec.DecodeResponse(body));
        Assert.Equal(PeerExchangeProtocol.MaxPeersPerResponse, e.Maximum);
    }

    [Fact]
    public void DecodeResponse_8AddressesPerPeer_IsAccepted()
    {
        var addresses = Enumerable.Range(1, 8).Select(p => Multiaddr.Parse($"/ip4/1.2.3.4/tcp/{p}")).ToArray();
        var body = RawProto.Bytes(1, RawProto.Peer(TestPeers.Id(1), addresses));
        Assert.Equal(8, PexCodec.DecodeResponse(body)[0].Addresses.Count);
    }

    [Fact]
    public void DecodeResponse_9AddressesForOnePeer_ThrowsLimitExceeded()
    {
        var addresses = Enumerable.Range(1, 9).Select(p => Multiaddr.Parse($"/ip4/1.2.3.4/tcp/{p}")).ToArray();
        var body = RawProto.Bytes(1, RawProto.Peer(TestPeers.Id(1), addresses));
        var e = Assert.Throws<LimitExceededException>(() => PexCodec.DecodeResponse(body));
        Assert.Equal(PeerExchangeProtocol.MaxAddressesPerPeer, e.Maximum);
    }

    [Fact]
    public void DecodeResponse_BodyOver16KiB_ThrowsLimitExceeded()
    {
        var body = new byte[PeerExchangeProtocol.MaxMessageSize + 1];
        Assert.Throws<LimitExceededException>(() => PexCodec.DecodeResponse(body));
    }

    [Fact]
    public void EncodeResponse_PastEachLimit_ThrowsLimitExceeded()
    {
        var tooManyPeers = Enumerable.Range(0, 65).Select(n => new PexPeerInfo(TestPeers.Id(n), [A1])).ToArray();
        Assert.Throws<LimitExceededException>(() => PexCodec.EncodeResponse(tooManyPeers));

        var tooManyAddresses = new PexPeerInfo(TestPeers.Id(1), [.. Enumerable.Range(1, 9).Select(p => Multiaddr.Parse($"/ip4/1.2.3.4/tcp/{p}"))]);
        Assert.Throws<LimitExceededException>(() => PexCodec.EncodeResponse([tooManyAddresses]));

        var longName = Multiaddr.Parse($"/dns4/{new string('a', 250)}.example/tcp/1");
        var tooBig = Enumerable.Range(0, 10).Select(n => new PexPeerInfo(TestPeers.Id(n), [.. Enumerable.Range(1, 8).Select(_ => longName)])).ToArray();
        var e = Assert.Throws<LimitExceededException>(() => PexCodec.EncodeResponse(tooBig));
        Assert.Equal(PeerExchangeProtocol.MaxMessageSize, e.Maximum);
    }

    [Fact]
    public void DecodeResponse_PeerWithoutId_ThrowsInvalidFormat() =>
        Assert.Throws<InvalidFormatException>(() => PexCodec.DecodeResponse(RawProto.Bytes(1, RawProto.Bytes(2, A1.Bytes))));

    [Fact]
    public void DecodeResponse_InvalidPeerId_ThrowsInvalidFormat() =>
        Assert.Throws<InvalidFormatException>(() => PexCodec.DecodeResponse(RawProto.Bytes(1, RawProto.Bytes(1, [0x12, 0x03, 1, 2, 3]))));

    [Fact]
    public void DecodeResponse_LengthPastTheEnd_ThrowsInvalidFormat() =>
        Assert.Throws<InvalidFormatException>(() => PexCodec.DecodeResponse([0x0a, 0x10, 0x01]));

    [Fact]
    public void DecodeResponse_BadOrP2pAddresses_AreSkippedNotFatal()
    {
        byte[] unknownProtocol = [0xff, 0xff, 0x03, 0x00];
        var withP2p = A1.WithPeerId(TestPeers.Id(9));
        var peer = RawProto.Peer(TestPeers.Id(1), A1);
        peer = [.. peer, .. RawProto.Bytes(2, unknownProtocol), .. RawProto.Bytes(2, withP2p.Bytes), .. RawProto.Bytes(2, A1.Bytes)];
        var decoded = PexCodec.DecodeResponse(RawProto.Bytes(1, peer));
        Assert.Equal([A1], decoded[0].Addresses);
    }

    [Fact]
    public void DecodeResponse_UnknownFieldsAndRepeatedPeer_SkipsAndKeepsTheFirst()
    {
        byte[] body =
        [
            .. RawProto.UInt(7, 1),
            .. RawProto.Bytes(1, [.. RawProto.Peer(TestPeers.Id(1), A1), .. RawProto.UInt(9, 5)]),
            .. RawProto.Bytes(1, RawProto.Peer(TestPeers.Id(1), A2)),
        ];
        var decoded = PexCodec.DecodeResponse(body);
        Assert.Single(decoded);
        Assert.Equal([A1], decoded[0].Addresses);
    }
}
