using PromiseGrid.Mesh.Integration.Tests.Harness;

namespace PromiseGrid.Mesh.Integration.Tests.HarnessTests;

/// <summary>Network namespaces built by the harness (needs root and iproute2), checked with real js-libp2p peers.</summary>
public sealed class VirtualLanTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static JsPeerOptions PeerOn(NetworkNamespace host, string name, bool mdns) => new()
    {
        Name = name,
        NetworkNamespace = host.Name,
        Listen = [$"/ip4/{host.Address}/tcp/0"],
        Mdns = mdns,
        MdnsInterface = mdns ? host.InterfaceName : null,
    };

    [Fact]
    public async Task JsPeers_SameNamespace_DiscoverEachOtherByMdns()
    {
        await using var lan = await VirtualLan.CreateAsync(1).WaitAsync(Timeout);
        var host = lan.Hosts[0];
        await using var a = await JsPeer.StartAsync(PeerOn(host, "js-a", mdns: true)).WaitAsync(Timeout);
        await using var b = await JsPeer.StartAsync(PeerOn(host, "js-b", mdns: true)).WaitAsync(Timeout);

        var aFoundB = await a.WaitForPeerEventAsync("peer:discovery", b.PeerId, Timeout);
        var bFoundA = await b.WaitForPeerEventAsync("peer:discovery", a.PeerId, Timeout);

        Assert.Contains($"/ip4/{host.Address}/tcp/", aFoundB.GetProperty("addrs")[0].GetString(), StringComparison.Ordinal);
        Assert.Contains($"/ip4/{host.Address}/tcp/", bFoundA.GetProperty("addrs")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsPeers_TwoHosts_DiscoverByMdnsAndConnectAcrossTheBridge()
    {
        await using var lan = await VirtualLan.CreateAsync(2).WaitAsync(Timeout);
        await using var a = await JsPeer.StartAsync(PeerOn(lan.Hosts[0], "js-h0", mdns: true)).WaitAsync(Timeout);
        await using var b = await JsPeer.StartAsync(PeerOn(lan.Hosts[1], "js-h1", mdns: true)).WaitAsync(Timeout);

        var found = await b.WaitForPeerEventAsync("peer:discovery", a.PeerId, Timeout);
        var addr = found.GetProperty("addrs")[0].GetString() + $"/p2p/{a.PeerId}";
        var dial = await b.DialAsync(addr).WaitAsync(Timeout);
        var echo = await b.EchoAsync(addr, 64 * 1024).WaitAsync(Timeout);

        Assert.StartsWith($"/ip4/{lan.Hosts[0].Address}/tcp/", addr, StringComparison.Ordinal);
        Assert.Equal(a.PeerId, dial.PeerId);
        Assert.True(echo.Ok);
    }

    [Fact]
    public async Task CreateAsync_ThreeHosts_AddressesAndMulticastRouteInEachHost()
    {
        await using var lan = await VirtualLan.CreateAsync(3).WaitAsync(Timeout);

        for (var i = 0; i < 3; i++)
        {
            var host = lan.Hosts[i];
            Assert.Equal($"10.77.0.{i + 1}", host.Address?.ToString());
            var addrs = await host.IpAsync(default, "-4", "addr", "show", "dev", "pgm0");
            var routes = await host.IpAsync(default, "route", "show");
            var lo = await host.IpAsync(default, "link", "show", "lo");
            Assert.Contains($"inet 10.77.0.{i + 1}/24", addrs, StringComparison.Ordinal);
            Assert.Contains("224.0.0.0/4 dev pgm0", routes, StringComparison.Ordinal);
            Assert.Contains("UP", lo, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task DisposeAsync_Lan_RemovesEveryNamespace()
    {
        var lan = await VirtualLan.CreateAsync(2).WaitAsync(Timeout);
        string[] names = [.. lan.Hosts.Select(h => h.Name), lan.Switch.Name];
        Assert.All(names, n => Assert.StartsWith(NetworkNamespace.NamePrefix, n, StringComparison.Ordinal));
        Assert.Subset(new HashSet<string>(await NetworkNamespace.ListAsync()), new HashSet<string>(names));

        await lan.DisposeAsync().AsTask().WaitAsync(Timeout);
        await lan.DisposeAsync().AsTask().WaitAsync(Timeout);

        var left = await NetworkNamespace.ListAsync();
        Assert.Empty(left.Intersect(names));
    }

    [Fact]
    public async Task DisposeAsync_ProcessStillInside_KillsItAndRemovesNamespace()
    {
        var ns = await NetworkNamespace.CreateAsync("kill").WaitAsync(Timeout);
        var p = ManagedProcess.Start("sleep", ["300"], new ManagedProcessOptions { NetworkNamespace = ns.Name, GracefulStopTimeout = TimeSpan.Zero });
        try
        {
            // `ip netns exec` enters the namespace a moment after it starts: only then is the
            // process "inside" (before that, deleting the namespace leaves it running outside).
            using (var inside = new CancellationTokenSource(Timeout))
            {
                while (!(await IpCommand.RunAsync("ip", ["netns", "pids", ns.Name], cancellationToken: inside.Token))
                    .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Contains(p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)))
                {
                    await Task.Delay(10, inside.Token);
                }
            }

            await ns.DisposeAsync().AsTask().WaitAsync(Timeout);

            await p.WaitForExitAsync(Timeout);
            Assert.DoesNotContain(ns.Name, await NetworkNamespace.ListAsync());
        }
        finally
        {
            await p.DisposeAsync();
        }
    }

    [Fact]
    public async Task CleanupStaleAsync_CreatorGone_DeletesOnlyStaleNamespaces()
    {
        await IpCommand.EnsureAvailableAsync();
        // pid 999999999 is above any pid_max: its creator cannot be alive.
        const string stale = "pgm-999999999-abcdef-stale";
        await IpCommand.IpAsync("netns", "add", stale);
        await using var live = await NetworkNamespace.CreateAsync("live").WaitAsync(Timeout);

        var deleted = await NetworkNamespace.CleanupStaleAsync().WaitAsync(Timeout);

        Assert.Contains(stale, deleted);
        var left = await NetworkNamespace.ListAsync();
        Assert.DoesNotContain(stale, left);
        Assert.Contains(live.Name, left);
    }

    [Theory]
    [InlineData("pgm-999999999-abcdef-h0", true)]
    [InlineData("pgm-notapid-abcdef-h0", false)]
    [InlineData("other-999999999-abcdef", false)]
    public void IsStale_Name_DecidesByCreatorPid(string name, bool expected)
    {
        Assert.Equal(expected, NetworkNamespace.IsStale(name));
    }

    [Fact]
    public void IsStale_OwnPid_IsFalse()
    {
        Assert.False(NetworkNamespace.IsStale($"pgm-{Environment.ProcessId}-abcdef-h0"));
    }
}
