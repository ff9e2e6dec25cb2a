using System.Net;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Libp2p.Tests.Multiformats;

public class MultiaddrTests
{
    [Theory]
    [InlineData("/ip4/127.0.0.1/udp/1234", "047f000001910204d2")]
    [InlineData("/ip4/127.0.0.1/tcp/4321", "047f0000010610e1")]
    [InlineData("/ip4/192.0.2.42/tcp/443", "04c000022a0601bb")]
    [InlineData("/ip6/::1/tcp/4001", "2900000000000000000000000000000001060fa1")]
    [InlineData("/ip6/2001:db8::1/udp/4001/quic-v1", "2920010db800000000000000000000000191020fa1cd03")]
    [InlineData("/dns4/example.com/tcp/443", "360b6578616d706c652e636f6d0601bb")]
    [InlineData("/dnsaddr/bootstrap.libp2p.io", "3813626f6f7473747261702e6c69627032702e696f")]
    [InlineData("/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA", "0401020304060fa1a503260024080112202ffa35a99d3a3cfbb17bb7c1dc5561b18a8dcca4df38dc613ea859c37eb1336b")]
    [InlineData("/ip4/1.2.3.4/tcp/4001/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N/p2p-circuit/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA", "0401020304060fa1a5032212209dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21bf6f0b9a202a503260024080112202ffa35a99d3a3cfbb17bb7c1dc5561b18a8dcca4df38dc613ea859c37eb1336b")]
    public void TextAndBinary_SpecVectors_RoundTrip(string text, string hex)
    {
        var parsed = Multiaddr.Parse(text);
        Assert.Equal(hex, Convert.ToHexString(parsed.Bytes).ToLowerInvariant());
        var decoded = Multiaddr.Decode(Convert.FromHexString(hex));
        Assert.Equal(text, decoded.ToString());
        Assert.Equal(parsed, decoded);
    }

    [Theory]
    [InlineData("/dns/example.com/tcp/1")]
    [InlineData("/dns6/example.com/tcp/1")]
    [InlineData("/ip4/0.0.0.0/tcp/0")]
    [InlineData("/ip6/::/tcp/0")]
    [InlineData("/ip4/10.0.0.1/udp/53")]
    public void Parse_ThenToString_IsIdentity(string text) => Assert.Equal(text, Multiaddr.Parse(text).ToString());

    [Fact]
    public void Parse_LegacyIpfsName_PrintsAsP2p()
    {
        var ma = Multiaddr.Parse("/ip4/1.2.3.4/tcp/4001/ipfs/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");
        Assert.Equal("/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA", ma.ToString());
        Assert.Equal("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA", ma.PeerId!.ToString());
        Assert.Equal("/ip4/1.2.3.4/tcp/4001", ma.WithoutPeerId().ToString());
    }

    [Fact]
    public void Parse_P2pInCidForm_IsAccepted()
    {
        var ma = Multiaddr.Parse("/ip4/1.2.3.4/tcp/4001/p2p/bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe");
        Assert.Equal("/ip4/1.2.3.4/tcp/4001/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N", ma.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("ip4/1.2.3.4")]
    [InlineData("/ip4/1.2.3")]
    [InlineData("/ip4/1.2.3.4/tcp/65536")]
    [InlineData("/ip4/1.2.3.4/tcp")]
    [InlineData("/ip4/::1")]
    [InlineData("/ip6/1.2.3.4")]
    [InlineData("/foo/1")]
    [InlineData("/dns4//tcp/1")]
    [InlineData("/p2p/notapeerid")]
    [InlineData("/tcp/-1")]
    public void Parse_Malformed_ThrowsInvalidFormat(string text) =>
        Assert.Throws<InvalidFormatException>(() => Multiaddr.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("04")]
    [InlineData("047f0000")]
    [InlineData("047f00000106")]
    [InlineData("ff7f")]
    [InlineData("3820")]
    [InlineData("a503050012")]
    public void Decode_Malformed_ThrowsInvalidFormat(string hex) =>
        Assert.Throws<InvalidFormatException>(() => Multiaddr.Decode(Convert.FromHexString(hex)));

    [Fact]
    public void Decode_OverLengthLimit_Throws() =>
        Assert.Throws<InvalidFormatException>(() => Multiaddr.Decode(new byte[Multiaddr.MaxBinaryLength + 1]));

    [Fact]
    public void TcpEndPoint_RoundTrips_Ip4AndIp6()
    {
        var v4 = Multiaddr.FromTcpEndPoint(new IPEndPoint(IPAddress.Loopback, 4001));
        Assert.Equal("/ip4/127.0.0.1/tcp/4001", v4.ToString());
        Assert.True(v4.TryGetTcpEndPoint(out var ep4));
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 4001), ep4);

        var v6 = Multiaddr.FromTcpEndPoint(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        Assert.Equal("/ip6/::1/tcp/0", v6.ToString());
        Assert.False(Multiaddr.Parse("/dns4/localhost/tcp/1").TryGetTcpEndPoint(out _));
    }

    [Fact]
    public void PortComponent_RoundTripsThroughTextAndBinary()
    {
        var text = "/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA/port/aaaqeayeaudaocajbifqydiob4";
        var ma = Multiaddr.Parse(text);
        Assert.Equal(text, ma.ToString());
        Assert.Equal(ma, Multiaddr.Decode(ma.Bytes));
        Assert.Equal(16, ma.Components[1].Value.Length);
    }
}
