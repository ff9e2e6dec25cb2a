using PromiseGrid.Mesh.Integration.Tests.Harness;

namespace PromiseGrid.Mesh.Integration.Tests.Mesh;

/// <summary>
/// How real <c>pgnode run</c> processes form a mesh on virtual LANs (network namespaces the tests
/// create and delete; needs root and iproute2): mDNS on one LAN, bootstrap plus peer exchange
/// without mDNS, reconnection from the persisted peer store, a bootstrap peer that comes up late or
/// restarts, and two routed LANs joined only through one bootstrap node. Nodes listen on their LAN
/// address; mDNS runs only on the LAN interface <c>pgm0</c>. Nodes are stopped with SIGTERM, the
/// way an operator stops the daemon.
/// </summary>
public sealed class MeshFormationTests : IAsyncLifetime
{
    /// <summary>Time for one mesh event (discovery, connection) to show up, start-up of other nodes included.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static readonly string[] Mdns = ["--mdns", "--mdns-interface", "pgm0"];

    private readonly MeshTestbed _mesh = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _mesh.DisposeAsync();

    [Fact]
    public async Task Mdns_FiveNodesOnOneLan_EveryNodeDiscoversAndConnectsToTheFourOthers()
    {
        const int count = 5;
        await _mesh.CreateLanAsync(count);
        var nodes = await Task.WhenAll(Enumerable.Range(0, count)
            .Select(i => _mesh.StartNodeAsync(i, _mesh.CreateHome($"node{i + 1}"), Mdns)));

        await Task.WhenAll(
            from node in nodes
            from peer in nodes
            where peer != node
            select Task.WhenAll(node.WaitForDiscoveryAsync(peer, "mdns", Timeout), node.WaitForConnectAsync(peer, Timeout)));

        foreach (var node in nodes)
        {
            var others = nodes.Where(n => n != node).Select(n => n.PeerId).ToHashSet();
            Assert.True(others.SetEquals(node.DiscoveredPeers("mdns")), $"{node.Name} discovered by mDNS a different set.\n{_mesh.DescribeAll()}");
            Assert.True(others.SetEquals(node.ConnectedPeers()), $"{node.Name} connected to a different set.\n{_mesh.DescribeAll()}");
            foreach (var peer in nodes.Where(n => n != node))
            {
                var found = await node.WaitForDiscoveryAsync(peer, "mdns", Timeout);
                Assert.Contains(MeshNodeProcess.AddrsOf(found), a => a.StartsWith($"/ip4/{peer.Host.Address}/tcp/", StringComparison.Ordinal));
            }
        }
    }

    [Fact]
    public async Task Mdns_NodeLeavesAndRejoinsWithAFreshPeerStore_OthersSeeItGoThenFindAndConnectToItAgain()
    {
        await _mesh.CreateLanAsync(3);
        var homes = Enumerable.Range(0, 3).Select(i => _mesh.CreateHome($"node{i + 1}")).ToList();
        var nodes = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => _mesh.StartNodeAsync(i, homes[i], Mdns)));
        var (leaver, stayers) = (nodes[0], nodes[1..]);
        await Task.WhenAll(stayers.Select(n => n.WaitForConnectAsync(leaver, Timeout)));

        Assert.Equal(0, await leaver.StopAsync(Timeout));
        await Task.WhenAll(stayers.Select(n => n.Process.WaitForEventAsync(e => MeshNodeProcess.Is(e, "peer:disconnect", leaver.PeerId), Timeout)));
        var marks = stayers.Select(n => n.Process.EventCount).ToList();
        // Same key, empty peer store: only mDNS can bring it back.
        var back = await _mesh.StartNodeAsync(0, _mesh.CreateHome("node1-again") with { KeyFile = homes[0].KeyFile }, Mdns);

        Assert.Equal(leaver.PeerId, back.PeerId);
        for (var i = 0; i < stayers.Length; i++)
        {
            var found = await stayers[i].WaitForDiscoveryAsync(back, "mdns", Timeout, marks[i]);
            await stayers[i].WaitForConnectAsync(back, Timeout, marks[i]);
            await back.WaitForDiscoveryAsync(stayers[i], "mdns", Timeout);
            await back.WaitForConnectAsync(stayers[i], Timeout);
            var transport = back.LanAddress[..back.LanAddress.IndexOf("/p2p/", StringComparison.Ordinal)];
            Assert.Contains(MeshNodeProcess.AddrsOf(found), x => x.StartsWith(transport, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task PeerExchange_TwoNodesBootstrappedFromAThirdWithoutMdns_LearnAndConnectToEachOther()
    {
        await _mesh.CreateLanAsync(3);
        var hub = await _mesh.StartNodeAsync(0, _mesh.CreateHome("hub"));
        var first = await _mesh.StartNodeAsync(1, _mesh.CreateHome("first"), "--bootstrap", hub.LanAddress);
        // The hub learns first's listen address from identify; only then can it pass it on.
        await first.WaitForConnectAsync(hub, Timeout);
        await hub.WaitForIdentifyAsync(first, Timeout);

        var second = await _mesh.StartNodeAsync(2, _mesh.CreateHome("second"), "--bootstrap", hub.LanAddress);

        var learned = await second.WaitForDiscoveryAsync(first, "exchange", Timeout);
        var dialled = await second.WaitForConnectAsync(first, Timeout);
        var accepted = await first.WaitForConnectAsync(second, Timeout);
        Assert.Contains(MeshNodeProcess.AddrsOf(learned), a => a.StartsWith($"/ip4/{first.Host.Address}/tcp/", StringComparison.Ordinal));
        Assert.Equal("outbound", MeshNodeProcess.StringProperty(dialled, "direction"));
        Assert.Equal("inbound", MeshNodeProcess.StringProperty(accepted, "direction"));
        Assert.StartsWith($"/ip4/{first.Host.Address}/tcp/", MeshNodeProcess.StringProperty(dialled, "addr"), StringComparison.Ordinal);
        Assert.All([hub, first, second], n => Assert.Empty(n.DiscoveredPeers("mdns")));
    }

    [Fact]
    public async Task PeerStore_NodeRestartedWithoutMdns_RedialsThePeerItFoundBefore()
    {
        await _mesh.CreateLanAsync(2);
        var homeA = _mesh.CreateHome("a");
        var a = await _mesh.StartNodeAsync(0, homeA, Mdns);
        var b = await _mesh.StartNodeAsync(1, _mesh.CreateHome("b"), Mdns);
        await a.WaitForDiscoveryAsync(b, "mdns", Timeout);
        await a.WaitForConnectAsync(b, Timeout);
        await b.WaitForConnectAsync(a, Timeout);

        Assert.Equal(0, await a.StopAsync(Timeout));
        await a.Process.DisposeAsync();
        Assert.True(File.Exists(homeA.PeersFile), $"{homeA.PeersFile} was not written.\n{_mesh.DescribeAll()}");
        var stored = Assert.Single(await MeshTestbed.ListStoredPeersAsync(homeA), p => MeshNodeProcess.StringProperty(p, "peerId") == b.PeerId);
        var storedAddrs = stored.GetProperty("addrs").EnumerateArray()
            .Select(x => (Addr: MeshNodeProcess.StringProperty(x, "addr") ?? string.Empty, Source: MeshNodeProcess.StringProperty(x, "source")))
            .ToList();
        Assert.Contains(storedAddrs, x => x.Source == "mdns" && x.Addr.StartsWith($"/ip4/{b.Host.Address}/tcp/", StringComparison.Ordinal));
        var bEventsBeforeRestart = b.Process.EventCount;

        var again = await _mesh.StartNodeAsync(0, homeA);

        Assert.Equal(a.PeerId, again.PeerId);
        var remembered = await again.WaitForDiscoveryAsync(b, "peerstore", Timeout);
        var dialled = await again.WaitForConnectAsync(b, Timeout);
        await b.WaitForConnectAsync(again, Timeout, bEventsBeforeRestart);
        Assert.Contains(MeshNodeProcess.AddrsOf(remembered), x => x.StartsWith($"/ip4/{b.Host.Address}/tcp/", StringComparison.Ordinal));
        Assert.Equal("outbound", MeshNodeProcess.StringProperty(dialled, "direction"));
        Assert.Empty(again.DiscoveredPeers("mdns"));
    }

    [Fact]
    public async Task Bootstrap_PeerStartsAfterTheNodeThatNamesIt_NodeRetriesAndConnects()
    {
        await _mesh.CreateLanAsync(2);
        var homeA = _mesh.CreateHome("a");
        var peerIdA = await MeshTestbed.CreateIdentityAsync(homeA);
        var listenA = $"/ip4/{_mesh.Lan.Hosts[0].Address}/tcp/4801";

        var b = await _mesh.StartNodeAsync(1, _mesh.CreateHome("b"), "--bootstrap", $"{listenA}/p2p/{peerIdA}");
        var announced = await b.WaitForDiscoveryAsync(peerIdA, "bootstrap", Timeout);
        // The bootstrap dialer logs each failed dial (a warning naming the peer): B has tried and failed before A exists.
        await b.WaitForStderrAsync(peerIdA, Timeout);
        Assert.Empty(b.ConnectedPeers());

        var a = await _mesh.StartNodeAsync(0, homeA, "--listen", listenA);

        Assert.Equal(peerIdA, a.PeerId);
        Assert.Contains($"{listenA}/p2p/{peerIdA}", a.Addrs);
        var dialled = await b.WaitForConnectAsync(a, Timeout);
        var accepted = await a.WaitForConnectAsync(b, Timeout);
        Assert.Equal([listenA], MeshNodeProcess.AddrsOf(announced));
        Assert.Equal("outbound", MeshNodeProcess.StringProperty(dialled, "direction"));
        Assert.StartsWith(listenA, MeshNodeProcess.StringProperty(dialled, "addr"), StringComparison.Ordinal);
        Assert.Equal("inbound", MeshNodeProcess.StringProperty(accepted, "direction"));
    }

    [Fact]
    public async Task Bootstrap_PeerRestarts_NodeRedialsItAfterTheConnectionDrops()
    {
        await _mesh.CreateLanAsync(2);
        var homeA = _mesh.CreateHome("a");
        var listenA = $"/ip4/{_mesh.Lan.Hosts[0].Address}/tcp/4801";
        var a = await _mesh.StartNodeAsync(0, homeA, "--listen", listenA);
        var b = await _mesh.StartNodeAsync(1, _mesh.CreateHome("b"), "--bootstrap", a.LanAddress);
        await b.WaitForConnectAsync(a, Timeout);

        Assert.Equal(0, await a.StopAsync(Timeout));
        await b.Process.WaitForEventAsync(e => MeshNodeProcess.Is(e, "peer:disconnect", a.PeerId), Timeout);
        var bEventsAfterDrop = b.Process.EventCount;
        // Same key and address, empty peer store: A cannot dial B, so only B's bootstrap redial can reconnect them.
        var again = await _mesh.StartNodeAsync(0, _mesh.CreateHome("a-again") with { KeyFile = homeA.KeyFile }, "--listen", listenA);

        Assert.Equal(a.PeerId, again.PeerId);
        var redialled = await b.WaitForConnectAsync(again, Timeout, bEventsAfterDrop);
        var accepted = await again.WaitForConnectAsync(b, Timeout);
        Assert.Equal("outbound", MeshNodeProcess.StringProperty(redialled, "direction"));
        Assert.Equal("inbound", MeshNodeProcess.StringProperty(accepted, "direction"));
    }

    [Fact]
    public async Task PeerExchange_TwoRoutedLansJoinedByOneBootstrapNode_MdnsStaysOnEachLanAndEveryNodeConnectsToEveryOther()
    {
        var lanA = await _mesh.CreateLanAsync(3);
        var lanB = await _mesh.CreateLanAsync(2, new VirtualLanOptions { SubnetPrefix = "10.78.0" });
        var hubOnB = await LanRouter.JoinAsync(lanA, lanB);
        var hub = await _mesh.StartNodeAsync(
            lanA.Hosts[0], _mesh.CreateHome("hub"), "--listen", $"/ip4/{lanA.Hosts[0].Address}/tcp/0", "--listen", $"/ip4/{hubOnB}/tcp/0");

        // One at a time, each once the hub has identified it, so every later node learns every earlier one from the hub.
        List<MeshNodeProcess> nodes = [];
        foreach (var (host, name, hubAddress) in new[]
        {
            (lanA.Hosts[1], "a1", hub.LanAddress), (lanA.Hosts[2], "a2", hub.LanAddress),
            (lanB.Hosts[0], "b1", hub.AddressOn(hubOnB)), (lanB.Hosts[1], "b2", hub.AddressOn(hubOnB)),
        })
        {
            var node = await _mesh.StartNodeAsync(host, _mesh.CreateHome(name), [.. Mdns, "--bootstrap", hubAddress]);
            await hub.WaitForIdentifyAsync(node, Timeout);
            nodes.Add(node);
        }

        var (a1, a2, b1, b2) = (nodes[0], nodes[1], nodes[2], nodes[3]);
        await Task.WhenAll(
            from node in nodes
            from peer in nodes
            where peer != node
            select node.WaitForConnectAsync(peer, Timeout));
        await Task.WhenAll(
            a1.WaitForDiscoveryAsync(a2, "mdns", Timeout), a2.WaitForDiscoveryAsync(a1, "mdns", Timeout),
            b1.WaitForDiscoveryAsync(b2, "mdns", Timeout), b2.WaitForDiscoveryAsync(b1, "mdns", Timeout),
            b1.WaitForDiscoveryAsync(a1, "exchange", Timeout), b1.WaitForDiscoveryAsync(a2, "exchange", Timeout),
            b2.WaitForDiscoveryAsync(a1, "exchange", Timeout), b2.WaitForDiscoveryAsync(a2, "exchange", Timeout));

        foreach (var (node, neighbour) in new[] { (a1, a2), (a2, a1), (b1, b2), (b2, b1) })
        {
            Assert.True(
                node.DiscoveredPeers("mdns").SetEquals([neighbour.PeerId]),
                $"{node.Name} should find only {neighbour.Name} by mDNS.\n{_mesh.DescribeAll()}");
        }
    }
}
