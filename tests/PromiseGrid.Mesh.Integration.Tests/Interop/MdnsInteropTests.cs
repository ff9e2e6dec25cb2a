using PromiseGrid.Mesh.Integration.Tests.Cli;
using PromiseGrid.Mesh.Integration.Tests.Harness;

namespace PromiseGrid.Mesh.Integration.Tests.Interop;

/// <summary>
/// mDNS between a real js-libp2p 2.10.0 node (@libp2p/mdns 11) and a pgnode process, each on its
/// own host of a virtual LAN built from network namespaces (nothing multicasts outside them).
/// </summary>
public sealed class MdnsInteropTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task JsAndCSharp_OnOneLan_DiscoverEachOtherAndConnect()
    {
        await using var lan = await VirtualLan.CreateAsync(2).WaitAsync(Timeout);
        var jsHost = lan.Hosts[0];
        var csHost = lan.Hosts[1];
        await using var js = await JsPeer.StartAsync(new JsPeerOptions
        {
            Name = "js-mdns",
            Listen = [$"/ip4/{jsHost.Address}/tcp/0"],
            Mdns = true,
            MdnsInterface = jsHost.InterfaceName,
            NetworkNamespace = jsHost.Name,
        }).WaitAsync(Timeout);

        var home = Directory.CreateTempSubdirectory("pgm-mdns-interop-");
        try
        {
            var (node, peerId, _) = await PgnodeProcess.RunAsync(
                home.FullName,
                ["--listen", $"/ip4/{csHost.Address}/tcp/0", "--mdns", "--mdns-interface", csHost.InterfaceName!, "--data-dir", home.FullName],
                new ManagedProcessOptions { NetworkNamespace = csHost.Name });
            await using (node)
            {
                // C# learns js by mDNS (js's dnsaddr TXT records) ...
                var found = await node.WaitForEventAsync(
                    e => PgnodeProcess.Event(e) == "peer:discovery"
                        && e.GetProperty("source").GetString() == "mdns"
                        && e.GetProperty("peerId").GetString() == js.PeerId,
                    Timeout);
                Assert.Contains(found.GetProperty("addrs").EnumerateArray(), a => a.GetString()!.StartsWith($"/ip4/{jsHost.Address}/tcp/", StringComparison.Ordinal));

                // ... and js learns C# from our responses.
                var seen = await js.WaitForEventAsync(
                    "peer:discovery",
                    e => e.GetProperty("peerId").GetString() == peerId
                        && e.GetProperty("addrs").EnumerateArray().Any(a => a.GetString()!.Contains($"/ip4/{csHost.Address}/tcp/", StringComparison.Ordinal)),
                    Timeout);
                Assert.Equal(peerId, seen.GetProperty("peerId").GetString());

                // The discovered peers connect (the node dials what mDNS found) and identify each other.
                await node.WaitForEventAsync(
                    e => PgnodeProcess.Event(e) == "peer:identify" && e.GetProperty("peerId").GetString() == js.PeerId
                        && e.GetProperty("agentVersion").GetString()!.StartsWith("js-libp2p/", StringComparison.Ordinal),
                    Timeout);
                await js.WaitForPeerEventAsync("peer:connect", peerId, Timeout);
            }
        }
        finally
        {
            home.Delete(recursive: true);
        }
    }
}
