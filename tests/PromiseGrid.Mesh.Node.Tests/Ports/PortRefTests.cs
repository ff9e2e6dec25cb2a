using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Node.Tests.Ports;

public class PortRefTests
{
    [Fact]
    public void ToString_RoundTripsThroughParseAndMultiaddr()
    {
        var reference = new PortRef(TestPeers.Local, PortId.NewRandom());
        var text = reference.ToString();

        Assert.StartsWith($"/p2p/{TestPeers.Local}/port/", text, StringComparison.Ordinal);
        Assert.Equal(reference, PortRef.Parse(text));
        Assert.Equal(text, Multiaddr.Parse(text).ToString());
        Assert.Equal(reference, PortRef.FromMultiaddr(Multiaddr.Decode(reference.ToMultiaddr().Bytes)));
    }

    [Fact]
    public void PortId_TextIsLowercaseBase32Of128Bits()
    {
        var id = new PortId(0x0123456789abcdef, 0xfedcba9876543210);
        var text = id.ToString();

        Assert.Equal(26, text.Length);
        Assert.Equal(text.ToLowerInvariant(), text);
        Assert.Equal(id, PortId.Parse(text));
        Assert.Equal(id, PortId.Read(id.ToByteArray()));
    }

    [Fact]
    public void PortId_NewRandom_DoesNotRepeat()
    {
        var ids = Enumerable.Range(0, 10_000).Select(_ => PortId.NewRandom()).ToHashSet();
        Assert.Equal(10_000, ids.Count);
    }

    [Theory]
    [InlineData("/ip4/127.0.0.1/tcp/1")]
    [InlineData("/port/aaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void Parse_WrongShape_Throws(string text) =>
        Assert.Throws<InvalidFormatException>(() => PortRef.Parse(text));

    [Fact]
    public void Parse_ShortId_Throws() =>
        Assert.Throws<InvalidFormatException>(() => PortRef.Parse($"/p2p/{TestPeers.Local}/port/aaaa"));

    [Fact]
    public void Parse_TrailingComponent_Throws() =>
        Assert.Throws<InvalidFormatException>(() =>
            PortRef.Parse(new PortRef(TestPeers.Local, PortId.NewRandom()) + "/tcp/1"));
}
