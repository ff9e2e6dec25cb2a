using Makaretu.Dns;
using PromiseGrid.Mesh.Discovery.Mdns;
using PromiseGrid.Mesh.Discovery.Tests.Testing;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Tests.Mdns;

public class MdnsCodecTests
{
    private const string PeerName = "abcdefghijklmnopqrstuvwxyz012345";
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(120);

    [Fact]
    public void EncodeQuery_Default_MatchesSpecBytes()
    {
        // libp2p-wire.md §9: 33 bytes with ID 0.
        var expected = Convert.FromHexString("000000000001000000000000" + "045f703270" + "045f756470" + "056c6f63616c" + "00" + "000c" + "0001");

        Assert.Equal(expected, MdnsCodec.EncodeQuery());
    }

    [Fact]
    public void EncodeQuery_Unicast_SetsQuBit()
    {
        var bytes = MdnsCodec.EncodeQuery(unicastResponse: true);

        Assert.Equal(0x80, bytes[^2]);
        Assert.True(MdnsCodec.IsServiceQuery(MdnsCodec.Decode(bytes), MdnsCodec.DefaultServiceName, out var unicast));
        Assert.True(unicast);
    }

    [Fact]
    public void IsServiceQuery_SpecQuery_TrueWithoutUnicast()
    {
        var message = MdnsCodec.Decode(MdnsCodec.EncodeQuery());

        Assert.True(MdnsCodec.IsServiceQuery(message, "_P2P._udp.LOCAL", out var unicast));
        Assert.False(unicast);
        Assert.False(MdnsCodec.IsServiceQuery(message, "_other._udp.local", out _));
    }

    [Fact]
    public void EncodeResponse_Addresses_RoundTrip()
    {
        var id = TestPeers.Id(1);
        var addresses = new[]
        {
            Multiaddr.Parse("/ip4/10.0.0.1/tcp/4001").WithPeerId(id),
            Multiaddr.Parse("/ip6/fe80::1/tcp/4001").WithPeerId(id),
        };

        var bytes = MdnsCodec.EncodeResponse(MdnsCodec.DefaultServiceName, PeerName, addresses, Ttl);
        var message = MdnsCodec.Decode(bytes);
        var response = MdnsCodec.ReadResponse(message);

        Assert.Equal(0x84, bytes[2]); // QR=1, AA=1
        Assert.Equal(0x00, bytes[3]);
        var peer = Assert.Single(response.Peers);
        Assert.Equal(id, peer.PeerId);
        Assert.Equal(addresses, peer.Addresses);
        Assert.Equal(Ttl, peer.Ttl);
        Assert.Equal(PeerName + "._p2p._udp.local", peer.InstanceName);
        Assert.Empty(response.Rejected);
        Assert.Empty(message.Questions);
        Assert.IsType<PTRRecord>(Assert.Single(message.Answers));
        Assert.IsType<TXTRecord>(Assert.Single(message.AdditionalRecords));
    }

    [Fact]
    public void EncodeResponse_AddressLongerThan255_IsSkipped()
    {
        var id = TestPeers.Id(1);
        var longName = new string('a', 230) + ".local";
        var addresses = new[]
        {
            Multiaddr.Parse($"/dns4/{longName}/tcp/1").WithPeerId(id),
            Multiaddr.Parse("/ip4/10.0.0.1/tcp/4001").WithPeerId(id),
        };

        var response = MdnsCodec.ReadResponse(MdnsCodec.Decode(MdnsCodec.EncodeResponse(MdnsCodec.DefaultServiceName, PeerName, addresses, Ttl)));

        Assert.Equal([addresses[1]], Assert.Single(response.Peers).Addresses);
    }

    [Fact]
    public void EncodeResponse_TooManyAddressesForPacket_StaysUnderLimit()
    {
        var id = TestPeers.Id(1);
        var addresses = Enumerable.Range(0, 200).Select(i => Multiaddr.Parse($"/dns4/host-number-{i:d4}-of-a-rather-long-name.local/tcp/{1000 + i}").WithPeerId(id)).ToArray();

        var bytes = MdnsCodec.EncodeResponse(MdnsCodec.DefaultServiceName, PeerName, addresses, Ttl);

        Assert.InRange(bytes.Length, 1, MdnsCodec.MaxPacketSize);
        Assert.NotNull(MdnsCodec.Decode(bytes));
    }

    [Fact]
    public void ReadResponse_RustBareNameTarget_IsMatched()
    {
        // rust-libp2p: PTR target and TXT owner are the bare "<peer-name>." without the service suffix.
        var id = TestPeers.Id(2);
        var message = new Message { QR = true, AA = true };
        message.Answers.Add(new PTRRecord { Name = MdnsCodec.DefaultServiceName, DomainName = PeerName, TTL = TimeSpan.FromSeconds(360) });
        message.AdditionalRecords.Add(new TXTRecord { Name = PeerName, Strings = ["dnsaddr=/ip4/192.168.1.5/tcp/4001/p2p/" + id], TTL = TimeSpan.FromSeconds(360) });

        var response = MdnsCodec.ReadResponse(MdnsCodec.Decode(message.ToByteArray()));

        var peer = Assert.Single(response.Peers);
        Assert.Equal(id, peer.PeerId);
        Assert.Equal(TimeSpan.FromSeconds(360), peer.Ttl);
    }

    [Fact]
    public void ReadResponse_CacheFlushBitAndUpperCaseNames_IsAccepted()
    {
        // RFC 6762 §10.2: unique records carry the cache-flush bit in their class; names compare case-insensitively.
        var id = TestPeers.Id(7);
        var message = new Message { QR = true, AA = true };
        message.Answers.Add(new PTRRecord { Name = "_P2P._UDP.LOCAL", DomainName = "PEER._p2p._udp.local", TTL = Ttl });
        message.AdditionalRecords.Add(new TXTRecord
        {
            Name = "peer._P2P._udp.local",
            Class = (DnsClass)0x8001,
            Strings = ["dnsaddr=/ip4/10.1.1.1/tcp/9/p2p/" + id],
            TTL = Ttl,
        });

        var response = MdnsCodec.ReadResponse(MdnsCodec.Decode(message.ToByteArray()));

        Assert.Equal(id, Assert.Single(response.Peers).PeerId);
    }

    [Fact]
    public void ReadResponse_TxtInAnswerSection_IsAccepted()
    {
        // js-libp2p puts the TXT records in the answer section.
        var id = TestPeers.Id(3);
        var target = PeerName + "._p2p._udp.local";
        var message = new Message { QR = true, AA = true };
        message.Answers.Add(new PTRRecord { Name = MdnsCodec.DefaultServiceName, DomainName = target, TTL = Ttl });
        message.Answers.Add(new TXTRecord { Name = target, Strings = ["dnsaddr=/ip4/10.1.1.1/tcp/9/p2p/" + id, "other=1"], TTL = Ttl });

        var response = MdnsCodec.ReadResponse(MdnsCodec.Decode(message.ToByteArray()));

        Assert.Equal(id, Assert.Single(response.Peers).PeerId);
    }

    [Theory]
    [InlineData("dnsaddr=not a multiaddr")]
    [InlineData("dnsaddr=/ip4/10.0.0.1/tcp/4001")]
    [InlineData("dnsaddr=/ip4/10.0.0.1/tcp/4001/p2p/notapeerid")]
    [InlineData("dnsaddr=/ip4/999.0.0.1/tcp/4001")]
    [InlineData("dnsaddr=")]
    public void ReadResponse_BadDnsAddr_RejectsTarget(string txt)
    {
        var message = Response(PeerName, [txt]);

        var response = MdnsCodec.ReadResponse(MdnsCodec.Decode(message.ToByteArray()));

        Assert.Empty(response.Peers);
        Assert.Single(response.Rejected);
    }

    [Fact]
    public void ReadResponse_MismatchedIdsInOneTarget_RejectsTarget()
    {
        var message = Response(PeerName, [
            "dnsaddr=/ip4/10.0.0.1/tcp/1/p2p/" + TestPeers.Id(1),
            "dnsaddr=/ip4/10.0.0.2/tcp/1/p2p/" + TestPeers.Id(2)]);

        var response = MdnsCodec.ReadResponse(MdnsCodec.Decode(message.ToByteArray()));

        Assert.Empty(response.Peers);
        Assert.Contains("two peers", Assert.Single(response.Rejected), StringComparison.Ordinal);
    }

    [Fact]
    public void ReadResponse_NoDnsAddrStrings_RejectsTarget()
    {
        var response = MdnsCodec.ReadResponse(MdnsCodec.Decode(Response(PeerName, ["hello", "x=y"]).ToByteArray()));

        Assert.Empty(response.Peers);
        Assert.Single(response.Rejected);
    }

    [Fact]
    public void ReadResponse_TooManyAddressesForOnePeer_RejectsTarget()
    {
        var id = TestPeers.Id(4);
        var strings = Enumerable.Range(0, MdnsCodec.MaxAddressesPerPeer + 1).Select(i => $"dnsaddr=/ip4/10.0.0.{i}/tcp/1/p2p/{id}").ToList();

        var response = MdnsCodec.ReadResponse(MdnsCodec.Decode(Response(PeerName, strings).ToByteArray()));

        Assert.Empty(response.Peers);
        Assert.Single(response.Rejected);
    }

    [Fact]
    public void ReadResponse_TooManyPeers_KeepsOnlyLimit()
    {
        var message = new Message { QR = true, AA = true };
        var id = TestPeers.Id(5);
        for (var i = 0; i < MdnsCodec.MaxPeersPerPacket + 2; i++)
        {
            var target = $"peer{i:d3}xxxxxxxxxxxxxxxxxxxxxxxxxxxx._p2p._udp.local";
            message.Answers.Add(new PTRRecord { Name = MdnsCodec.DefaultServiceName, DomainName = target, TTL = Ttl });
            message.AdditionalRecords.Add(new TXTRecord { Name = target, Strings = [$"dnsaddr=/ip4/10.0.0.1/tcp/{i + 1}/p2p/{id}"], TTL = Ttl });
        }

        var response = MdnsCodec.ReadResponse(message); // would not fit in 9000 bytes; the limit holds regardless

        Assert.Equal(MdnsCodec.MaxPeersPerPacket, response.Peers.Count);
        Assert.Equal(2, response.Rejected.Count);
    }

    [Fact]
    public void ReadResponse_OtherService_IsIgnored()
    {
        var message = new Message { QR = true, AA = true };
        message.Answers.Add(new PTRRecord { Name = "_http._tcp.local", DomainName = "x._http._tcp.local", TTL = Ttl });

        var response = MdnsCodec.ReadResponse(MdnsCodec.Decode(message.ToByteArray()));

        Assert.Empty(response.Peers);
        Assert.Empty(response.Rejected);
    }

    [Fact]
    public void ReadResponse_GoodbyeTtlZero_HasZeroTtl()
    {
        var id = TestPeers.Id(6);
        var bytes = MdnsCodec.EncodeResponse(MdnsCodec.DefaultServiceName, PeerName, [Multiaddr.Parse("/ip4/10.0.0.1/tcp/1").WithPeerId(id)], TimeSpan.Zero);

        Assert.Equal(TimeSpan.Zero, Assert.Single(MdnsCodec.ReadResponse(MdnsCodec.Decode(bytes)).Peers).Ttl);
    }

    [Fact]
    public void Decode_PacketOverSizeCap_ThrowsLimitExceeded()
    {
        var bytes = new byte[MdnsCodec.MaxPacketSize + 1];

        Assert.Throws<LimitExceededException>(() => MdnsCodec.Decode(bytes));
    }

    [Fact]
    public void Decode_HugeCounts_ThrowsLimitExceeded()
    {
        var bytes = Convert.FromHexString("0000840000ff00ff00ff00ff");

        Assert.Throws<LimitExceededException>(() => MdnsCodec.Decode(bytes));
    }

    [Fact]
    public void Decode_CountsBeyondPacket_ThrowsInvalidFormat()
    {
        var bytes = Convert.FromHexString("000084000000000a00000000" + "00");

        Assert.Throws<InvalidFormatException>(() => MdnsCodec.Decode(bytes));
    }

    [Theory]
    [InlineData("")]
    [InlineData("0000")]
    [InlineData("00000000000100000000")]
    public void Decode_Truncated_ThrowsInvalidFormat(string hex)
    {
        Assert.Throws<InvalidFormatException>(() => MdnsCodec.Decode(Convert.FromHexString(hex)));
    }

    [Fact]
    public void Decode_TruncatedQuery_ThrowsInvalidFormat()
    {
        var query = MdnsCodec.EncodeQuery();

        for (var length = 12; length < query.Length; length++)
        {
            Assert.ThrowsAny<MeshException>(() => MdnsCodec.Decode(query.AsSpan(0, length)));
        }
    }

    [Fact]
    public void Decode_SelfPointingName_ThrowsInvalidFormat()
    {
        // Question name at offset 12 is a pointer to itself: a compression loop.
        var bytes = Convert.FromHexString("000000000001000000000000" + "c00c" + "000c0001");

        var e = Assert.Throws<InvalidFormatException>(() => MdnsCodec.Decode(bytes));
        Assert.Contains("backwards", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_PointerLoopInPtrData_ThrowsInvalidFormat()
    {
        // Answer: name -> pointer to the question, PTR RDATA = label then pointer to itself.
        var bytes = Convert.FromHexString(
            "000084000001000100000000" + "045f703270045f756470056c6f63616c00" + "000c0001"
            + "c00c" + "000c0001" + "00000078" + "0004" + "01" + "61" + "c02d");

        Assert.Throws<InvalidFormatException>(() => MdnsCodec.Decode(bytes));
    }

    [Fact]
    public void Decode_LabelExtendedType_ThrowsInvalidFormat()
    {
        var bytes = Convert.FromHexString("000000000001000000000000" + "4100" + "000c0001");

        Assert.Throws<InvalidFormatException>(() => MdnsCodec.Decode(bytes));
    }

    private static Message Response(string peerName, List<string> strings)
    {
        var target = peerName + "._p2p._udp.local";
        var message = new Message { QR = true, AA = true };
        message.Answers.Add(new PTRRecord { Name = MdnsCodec.DefaultServiceName, DomainName = target, TTL = Ttl });
        message.AdditionalRecords.Add(new TXTRecord { Name = target, Strings = strings, TTL = Ttl });
        return message;
    }
}
