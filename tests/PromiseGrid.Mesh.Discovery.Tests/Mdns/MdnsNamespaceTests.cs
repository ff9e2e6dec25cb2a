using PromiseGrid.Mesh.Discovery.Tests.Testing;

namespace PromiseGrid.Mesh.Discovery.Tests.Mdns;

/// <summary>
/// Real multicast between MdnsAgent processes, only inside network namespaces these tests create
/// and delete (needs root and iproute2). Nothing binds or joins on the root namespace's interfaces.
/// </summary>
[Trait("Category", "Integration")]
public class MdnsNamespaceTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Agents_ThreeOnOneLoopback_AllDiscoverEachOther()
    {
        await using var ns = await NetworkNamespace.CreateAsync(multicastOnLoopback: true);
        var starting = Enumerable.Range(1, 3).Select(i => AgentProcess.StartAsync(ns, "lo", $"/ip4/127.0.0.1/tcp/400{i}", Timeout)).ToArray();
        AgentProcess[] agents;
        try
        {
            agents = await Task.WhenAll(starting);
        }
        catch
        {
            foreach (var t in starting.Where(t => t.IsCompletedSuccessfully))
            {
                await (await t).DisposeAsync();
            }

            throw;
        }

        await using var a = agents[0];
        await using var b = agents[1];
        await using var c = agents[2];

        foreach (var seer in agents)
        {
            foreach (var seen in agents.Where(x => x != seer))
            {
                var line = await seer.WaitForDiscoveryAsync(seen.PeerId, Timeout);
                var addrs = line.GetProperty("addrs").EnumerateArray().Select(x => x.GetString()).ToArray();
                Assert.Single(addrs);
                Assert.EndsWith("/p2p/" + seen.PeerId, addrs[0], StringComparison.Ordinal);
                Assert.StartsWith("/ip4/127.0.0.1/tcp/400", addrs[0], StringComparison.Ordinal);
                Assert.Equal("mdns", line.GetProperty("source").GetString());
            }
        }
    }

    [Fact]
    public async Task Agents_TwoNamespacesOverVeth_DiscoverAcross()
    {
        await using var left = await NetworkNamespace.CreateAsync(multicastOnLoopback: false);
        await using var right = await NetworkNamespace.CreateAsync(multicastOnLoopback: false);
        await NetworkNamespace.ConnectAsync(left, "pgm-a", "10.77.0.1", right, "pgm-b", "10.77.0.2");
        await using var a = await AgentProcess.StartAsync(left, "pgm-a", "/ip4/10.77.0.1/tcp/4001", Timeout);
        await using var b = await AgentProcess.StartAsync(right, "pgm-b", "/ip4/10.77.0.2/tcp/4001", Timeout);

        var seenByA = await a.WaitForDiscoveryAsync(b.PeerId, Timeout);
        var seenByB = await b.WaitForDiscoveryAsync(a.PeerId, Timeout);

        Assert.Equal("/ip4/10.77.0.2/tcp/4001/p2p/" + b.PeerId, seenByA.GetProperty("addrs")[0].GetString());
        Assert.Equal("/ip4/10.77.0.1/tcp/4001/p2p/" + a.PeerId, seenByB.GetProperty("addrs")[0].GetString());
    }

    [Fact]
    public async Task Agent_StoppedWithGoodbye_IsRemovedByPeer()
    {
        await using var ns = await NetworkNamespace.CreateAsync(multicastOnLoopback: true);
        await using var a = await AgentProcess.StartAsync(ns, "lo", "/ip4/127.0.0.1/tcp/4001", Timeout);
        await using var b = await AgentProcess.StartAsync(ns, "lo", "/ip4/127.0.0.1/tcp/4002", Timeout);
        await a.WaitForDiscoveryAsync(b.PeerId, Timeout);

        await b.StopAsync(Timeout);
        var gone = await a.WaitForAsync(e => e.GetProperty("event").GetString() == "peer:gone"
            && e.GetProperty("peerId").GetString() == b.PeerId, Timeout);

        Assert.Equal("mdns", gone.GetProperty("source").GetString());
    }
}
