using PromiseGrid.Mesh.Discovery.PeerExchange;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Tests.PeerExchange;

public class AddressScopeTests
{
    [Theory]
    [InlineData("/ip4/127.0.0.1/tcp/1", AddressReach.Loopback)]
    [InlineData("/ip4/127.8.9.1/tcp/1", AddressReach.Loopback)]
    [InlineData("/ip6/::1/tcp/1", AddressReach.Loopback)]
    [InlineData("/dns4/localhost/tcp/1", AddressReach.Loopback)]
    [InlineData("/ip4/10.1.2.3/tcp/1", AddressReach.Private)]
    [InlineData("/ip4/172.16.0.1/tcp/1", AddressReach.Private)]
    [InlineData("/ip4/172.31.255.1/tcp/1", AddressReach.Private)]
    [InlineData("/ip4/192.168.1.1/tcp/1", AddressReach.Private)]
    [InlineData("/ip4/100.64.0.1/tcp/1", AddressReach.Private)]
    [InlineData("/ip6/fd00::1/tcp/1", AddressReach.Private)]
    [InlineData("/ip4/172.32.0.1/tcp/1", AddressReach.Public)]
    [InlineData("/ip4/100.128.0.1/tcp/1", AddressReach.Public)]
    [InlineData("/ip4/8.8.8.8/tcp/1", AddressReach.Public)]
    [InlineData("/ip6/2001:db8::1/tcp/1", AddressReach.Public)]
    [InlineData("/dns4/node.example.org/tcp/1", AddressReach.Public)]
    [InlineData("/ip4/0.0.0.0/tcp/1", AddressReach.None)]
    [InlineData("/ip6/::/tcp/1", AddressReach.None)]
    [InlineData("/ip4/169.254.1.1/tcp/1", AddressReach.None)]
    [InlineData("/ip6/fe80::1/tcp/1", AddressReach.None)]
    [InlineData("/ip4/224.0.0.251/udp/5353", AddressReach.None)]
    [InlineData("/ip4/8.8.8.8/tcp/1/p2p-circuit", AddressReach.None)]
    [InlineData("/unix/tmp/sock", AddressReach.None)]
    public void Classify_Address_HasItsReach(string address, object expected) =>
        Assert.Equal((AddressReach)expected, AddressScope.Classify(Multiaddr.Parse(address)));

    [Theory]
    [InlineData("/ip4/127.0.0.1/tcp/1", "/ip4/127.0.0.1/tcp/9", true)]
    [InlineData("/ip4/127.0.0.1/tcp/1", "/ip4/10.0.0.2/tcp/9", false)]
    [InlineData("/ip4/127.0.0.1/tcp/1", "/ip4/8.8.4.4/tcp/9", false)]
    [InlineData("/ip4/10.0.0.5/tcp/1", "/ip4/127.0.0.1/tcp/9", true)]
    [InlineData("/ip4/10.0.0.5/tcp/1", "/ip4/192.168.0.2/tcp/9", true)]
    [InlineData("/ip4/10.0.0.5/tcp/1", "/ip4/8.8.4.4/tcp/9", false)]
    [InlineData("/ip4/8.8.8.8/tcp/1", "/ip4/8.8.4.4/tcp/9", true)]
    [InlineData("/ip4/8.8.8.8/tcp/1", "/ip4/127.0.0.1/tcp/9", true)]
    [InlineData("/ip4/0.0.0.0/tcp/1", "/ip4/127.0.0.1/tcp/9", false)]
    public void IsShareable_AddressAndPeerConnection_FollowsTheRule(string address, string peer, bool expected) =>
        Assert.Equal(expected, AddressScope.IsShareable(Multiaddr.Parse(address), Multiaddr.Parse(peer)));

    [Fact]
    public void IsShareable_UnknownPeerAddress_TreatsThePeerAsPublic()
    {
        Assert.True(AddressScope.IsShareable(Multiaddr.Parse("/ip4/8.8.8.8/tcp/1"), null));
        Assert.False(AddressScope.IsShareable(Multiaddr.Parse("/ip4/10.0.0.1/tcp/1"), null));
    }
}
