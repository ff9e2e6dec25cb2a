using System.Net;
using PromiseGrid.Mesh.Integration.Tests.Harness;

namespace PromiseGrid.Mesh.Integration.Tests.Mesh;

/// <summary>
/// Joins two <see cref="VirtualLan"/>s (different subnets) through one router host: host 0 of the
/// first LAN gets a second interface, <see cref="UplinkInterface"/>, on the second LAN's bridge with
/// address <c>&lt;second prefix&gt;.254</c> and forwards IPv4; every other host of either LAN gets a
/// route to the other subnet through the router. Multicast (mDNS) is not forwarded, so each LAN
/// stays its own mDNS segment. Everything is created inside the LANs' own namespaces and goes
/// with them.
/// </summary>
internal static class LanRouter
{
    /// <summary>The router's interface on the second LAN.</summary>
    public const string UplinkInterface = "pgm1";

    private const string SwitchPort = "uplink";

    /// <summary>Wires the router and routes; returns the router's address on <paramref name="second"/>.</summary>
    public static async Task<IPAddress> JoinAsync(VirtualLan first, VirtualLan second, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        var router = first.Hosts[0];
        var routerOnFirst = router.Address ?? throw new InvalidOperationException("The router host has no address.");
        var routerOnSecond = IPAddress.Parse($"{second.Options.SubnetPrefix}.254");
        var bridge = await BridgeNameAsync(second.Switch, cancellationToken);

        await IpCommand.IpAsync(
            "link", "add", UplinkInterface, "netns", router.Name, "type", "veth", "peer", "name", SwitchPort, "netns", second.Switch.Name);
        await second.Switch.IpAsync(cancellationToken, "link", "set", SwitchPort, "master", bridge);
        await second.Switch.IpAsync(cancellationToken, "link", "set", SwitchPort, "up");
        await router.IpAsync(cancellationToken, "addr", "add", $"{routerOnSecond}/24", "dev", UplinkInterface);
        await router.IpAsync(cancellationToken, "link", "set", UplinkInterface, "up");
        await router.ExecAsync("sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"], cancellationToken);

        foreach (var host in first.Hosts.Skip(1))
        {
            await host.IpAsync(cancellationToken, "route", "add", $"{second.Options.SubnetPrefix}.0/24", "via", routerOnFirst.ToString());
        }

        foreach (var host in second.Hosts)
        {
            await host.IpAsync(cancellationToken, "route", "add", $"{first.Options.SubnetPrefix}.0/24", "via", routerOnSecond.ToString());
        }

        return routerOnSecond;
    }

    /// <summary>The one bridge in a LAN's switch namespace (from <c>ip -o link show type bridge</c>: <c>"3: br0: &lt;…"</c>).</summary>
    private static async Task<string> BridgeNameAsync(NetworkNamespace switchNamespace, CancellationToken cancellationToken)
    {
        var text = await switchNamespace.IpAsync(cancellationToken, "-o", "link", "show", "type", "bridge");
        var line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Single();
        return line.Split(':')[1].Trim();
    }
}
