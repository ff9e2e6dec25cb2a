using Microsoft.Extensions.Time.Testing;
using PromiseGrid.Mesh.Discovery.Tests.Testing;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Tests.PeerStore;

public sealed class PeerStoreTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "pgm-peerstore-" + Guid.NewGuid().ToString("N"));

    private PeerStoreOptions Options => new() { DataDirectory = _directory, TimeProvider = _time };

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public void AddAddresses_WithP2pSuffix_StoresBareAddressWithSource()
    {
        var store = new Discovery.PeerStore(Options);
        var id = TestPeers.Id(1);

        store.AddAddresses(id, [Multiaddr.Parse("/ip4/10.0.0.1/tcp/4001").WithPeerId(id)], "mdns");

        Assert.True(store.TryGet(id, out var record));
        var address = Assert.Single(record.Addresses);
        Assert.Equal(Multiaddr.Parse("/ip4/10.0.0.1/tcp/4001"), address.Address);
        Assert.Equal("mdns", address.Source);
        Assert.Equal(_time.GetUtcNow(), address.LastSeen);
    }

    [Fact]
    public void AddAddresses_OtherPeersId_Throws()
    {
        var store = new Discovery.PeerStore(Options);

        Assert.Throws<ArgumentException>(() =>
            store.AddAddresses(TestPeers.Id(1), [Multiaddr.Parse("/ip4/10.0.0.1/tcp/4001").WithPeerId(TestPeers.Id(2))], "mdns"));
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public void AddAddresses_PastMaxPeers_EvictsLeastRecentlySeen()
    {
        var store = new Discovery.PeerStore(Options with { MaxPeers = 2 });

        store.AddAddresses(TestPeers.Id(1), [Multiaddr.Parse("/ip4/10.0.0.1/tcp/1")], "mdns");
        _time.Advance(TimeSpan.FromSeconds(1));
        store.AddAddresses(TestPeers.Id(2), [Multiaddr.Parse("/ip4/10.0.0.2/tcp/1")], "mdns");
        _time.Advance(TimeSpan.FromSeconds(1));
        store.AddAddresses(TestPeers.Id(1), [Multiaddr.Parse("/ip4/10.0.0.1/tcp/1")], "mdns"); // peer 1 seen again
        _time.Advance(TimeSpan.FromSeconds(1));
        store.AddAddresses(TestPeers.Id(3), [Multiaddr.Parse("/ip4/10.0.0.3/tcp/1")], "mdns");

        Assert.Equal(2, store.Count);
        Assert.True(store.TryGet(TestPeers.Id(1), out _));
        Assert.False(store.TryGet(TestPeers.Id(2), out _));
        Assert.True(store.TryGet(TestPeers.Id(3), out _));
    }

    [Fact]
    public void AddAddresses_PastMaxAddresses_EvictsOldestAddress()
    {
        var store = new Discovery.PeerStore(Options with { MaxAddressesPerPeer = 2 });
        var id = TestPeers.Id(1);

        for (var port = 1; port <= 3; port++)
        {
            store.AddAddresses(id, [Multiaddr.Parse($"/ip4/10.0.0.1/tcp/{port}")], "mdns");
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.True(store.TryGet(id, out var record));
        Assert.Equal(["/ip4/10.0.0.1/tcp/3", "/ip4/10.0.0.1/tcp/2"], record.Addresses.Select(a => a.Address.ToString()));
    }

    [Fact]
    public void SetProtocols_PastLimitAndLongStrings_AreBounded()
    {
        var store = new Discovery.PeerStore(Options with { MaxProtocolsPerPeer = 3, MaxStringLength = 10 });
        var id = TestPeers.Id(1);

        store.SetProtocols(id, ["/a", "/b", "/c", "/d", "/e"]);
        store.SetAgentVersion(id, new string('x', 50));

        Assert.True(store.TryGet(id, out var record));
        Assert.Equal(["/a", "/b", "/c"], record.Protocols);
        Assert.Equal(10, record.AgentVersion!.Length);
    }

    [Fact]
    public async Task SaveAsync_ThenLoadAsync_RoundTrips()
    {
        var store = new Discovery.PeerStore(Options);
        var id = TestPeers.Id(1);
        store.AddAddresses(id, [Multiaddr.Parse("/ip4/10.0.0.1/tcp/4001"), Multiaddr.Parse("/ip6/fe80::1/tcp/4001")], "mdns");
        store.SetProtocols(id, ["/ipfs/ping/1.0.0", "/ipfs/id/1.0.0"]);
        store.SetAgentVersion(id, "pgnode/0.1");
        store.AddAddresses(TestPeers.Id(2), [Multiaddr.Parse("/dns4/example.com/tcp/443")], "bootstrap");

        await store.SaveAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var loaded = await Discovery.PeerStore.LoadAsync(Options).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(2, loaded.Count);
        Assert.True(loaded.TryGet(id, out var record));
        Assert.True(store.TryGet(id, out var original));
        Assert.Equal(original.Addresses, record.Addresses);
        Assert.Equal(original.Protocols, record.Protocols);
        Assert.Equal("pgnode/0.1", record.AgentVersion);
        Assert.Equal(original.LastSeen, record.LastSeen);
        Assert.Equal(["peers.json"], Directory.GetFiles(_directory).Select(Path.GetFileName)); // no temp file left behind
    }

    [Fact]
    public async Task SaveAsync_Twice_ReplacesFile()
    {
        var store = new Discovery.PeerStore(Options);
        store.AddAddresses(TestPeers.Id(1), [Multiaddr.Parse("/ip4/10.0.0.1/tcp/1")], "mdns");
        await store.SaveAsync().WaitAsync(TimeSpan.FromSeconds(10));

        store.Remove(TestPeers.Id(1));
        store.AddAddresses(TestPeers.Id(2), [Multiaddr.Parse("/ip4/10.0.0.2/tcp/1")], "mdns");
        await store.SaveAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var loaded = await Discovery.PeerStore.LoadAsync(Options).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([TestPeers.Id(2)], loaded.GetAll().Select(r => r.PeerId));
    }

    [Fact]
    public async Task LoadAsync_MorePeersThanLimit_KeepsMostRecent()
    {
        var store = new Discovery.PeerStore(Options);
        for (byte i = 1; i <= 5; i++)
        {
            store.AddAddresses(TestPeers.Id(i), [Multiaddr.Parse($"/ip4/10.0.0.{i}/tcp/1")], "mdns");
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        await store.SaveAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var loaded = await Discovery.PeerStore.LoadAsync(Options with { MaxPeers = 2 }).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([TestPeers.Id(5), TestPeers.Id(4)], loaded.GetAll().Select(r => r.PeerId));
    }

    [Theory]
    [InlineData("{ not json")]
    [InlineData("{\"version\": 99, \"peers\": []}")]
    [InlineData("null")]
    public async Task LoadAsync_CorruptFile_StartsEmpty(string content)
    {
        Directory.CreateDirectory(_directory);
        await File.WriteAllTextAsync(Path.Combine(_directory, "peers.json"), content);

        var loaded = await Discovery.PeerStore.LoadAsync(Options).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(0, loaded.Count);
    }

    [Fact]
    public async Task LoadAsync_BadEntries_AreSkipped()
    {
        Directory.CreateDirectory(_directory);
        var good = TestPeers.Id(1);
        await File.WriteAllTextAsync(Path.Combine(_directory, "peers.json"), $$"""
            {"version":1,"peers":[
              {"id":"not-a-peer-id","addrs":[]},
              {"id":"{{good}}","lastSeen":"2026-01-01T00:00:00+00:00","addrs":[
                {"multiaddr":"/ip4/10.0.0.1/tcp/1","source":"mdns","lastSeen":"2026-01-01T00:00:00+00:00"},
                {"multiaddr":"garbage","source":"mdns"},
                {"multiaddr":"/ip4/10.0.0.2/tcp/1/p2p/{{TestPeers.Id(2)}}","source":"mdns"}]}]}
            """);

        var loaded = await Discovery.PeerStore.LoadAsync(Options).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(loaded.TryGet(good, out var record));
        Assert.Equal(1, loaded.Count);
        Assert.Equal("/ip4/10.0.0.1/tcp/1", Assert.Single(record.Addresses).Address.ToString());
    }

    [Fact]
    public async Task LoadAsync_FileOverSizeLimit_StartsEmpty()
    {
        Directory.CreateDirectory(_directory);
        await using (var stream = File.Create(Path.Combine(_directory, "peers.json")))
        {
            stream.SetLength(PeerStoreOptions.MaxFileLength + 1);
        }

        var loaded = await Discovery.PeerStore.LoadAsync(Options).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(0, loaded.Count);
    }

    [Fact]
    public async Task SaveAsync_InMemoryStore_Throws()
    {
        var store = new Discovery.PeerStore();

        await Assert.ThrowsAsync<InvalidOperationException>(() => store.SaveAsync());
    }
}
