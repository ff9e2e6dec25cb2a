using Microsoft.Extensions.Time.Testing;
using PromiseGrid.Mesh.Discovery;
using PromiseGrid.Mesh.Discovery.PeerExchange;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Node.Mesh;
using static PromiseGrid.Mesh.Node.Tests.Mesh.ConnectionManagerTests;

namespace PromiseGrid.Mesh.Node.Tests.Mesh;

public class PeerStoreAdaptersTests
{
    [Fact]
    public void PeerStoreSink_AddPeer_StoresTheAddressesWithTheSource()
    {
        var store = new PeerStore();
        var address = Multiaddr.Parse("/ip4/10.0.0.2/tcp/4001");

        new PeerStoreSink(store).AddPeer(Peer(2), [address], PeerExchangeService.DiscoverySource);

        Assert.True(store.TryGet(Peer(2), out var record));
        var stored = Assert.Single(record.Addresses);
        Assert.Equal(address, stored.Address);
        Assert.Equal("exchange", stored.Source);
    }

    [Fact]
    public void Recent_PeersOlderThanTheWindow_AreLeftOutAndNewestComeFirst()
    {
        var time = new FakeTimeProvider(Now);
        var store = new PeerStore(new PeerStoreOptions { TimeProvider = time });
        store.AddAddresses(Peer(1), [Multiaddr.Parse("/ip4/10.0.0.1/tcp/1")], "mdns");
        time.Advance(TimeSpan.FromMinutes(50));
        store.AddAddresses(Peer(2), [Multiaddr.Parse("/ip4/10.0.0.2/tcp/1")], "mdns");
        time.Advance(TimeSpan.FromMinutes(5));
        store.AddAddresses(Peer(3), [Multiaddr.Parse("/ip4/10.0.0.3/tcp/1")], "mdns");
        time.Advance(TimeSpan.FromMinutes(30));

        var recent = PeerStorePexCandidates.Recent(store, time, PeerStorePexCandidates.DefaultWindow);

        Assert.Equal([Peer(3), Peer(2)], recent.Select(p => p.PeerId));
    }
}
