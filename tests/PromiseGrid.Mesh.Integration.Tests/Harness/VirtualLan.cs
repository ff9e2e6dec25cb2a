using System.Globalization;
using System.Net;

namespace PromiseGrid.Mesh.Integration.Tests.Harness;

/// <summary>Shape of a <see cref="VirtualLan"/>.</summary>
public sealed record VirtualLanOptions
{
    /// <summary>Subnet 10.77.0.0/24, host interface <c>pgm0</c>.</summary>
    public static VirtualLanOptions Default { get; } = new();

    /// <summary>First three octets of the /24 test subnet; host i gets <c>.(i+1)</c>. Default: <c>10.77.0</c>.</summary>
    public string SubnetPrefix { get; init; } = "10.77.0";

    /// <summary>Name of each host's LAN interface (≤ 15 characters). Default: <c>pgm0</c>.</summary>
    public string InterfaceName { get; init; } = "pgm0";

    /// <summary>Most hosts on one LAN. </summary>
    public const int MaxHosts = 200;

    /// <summary>Throws on a malformed subnet prefix or interface name.</summary>
    public void Validate()
    {
        var octets = SubnetPrefix.Split('.');
        if (octets.Length != 3 || !octets.All(o => byte.TryParse(o, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            throw new ArgumentException("SubnetPrefix must be three decimal octets, e.g. 10.77.0.", nameof(SubnetPrefix));
        }

        if (InterfaceName.Length is 0 or > 15)
        {
            throw new ArgumentException("InterfaceName must be 1 to 15 characters.", nameof(InterfaceName));
        }
    }
}

/// <summary>
/// A private Ethernet segment for multi-host tests, built only from namespaces it creates: a
/// switch namespace holding a bridge, and one namespace per host joined to the bridge by a veth
/// pair, with an address in the test subnet, <c>lo</c> up and <c>224.0.0.0/4</c> routed to the LAN
/// interface for multicast (mDNS). Nothing is added to the machine's own namespace, so multicast
/// never reaches its real interfaces. <see cref="DisposeAsync"/> deletes everything; creating a LAN
/// first removes namespaces left by crashed runs.
/// </summary>
public sealed class VirtualLan : IAsyncDisposable
{
    private const string BridgeName = "br0";

    private readonly Lock _gate = new();
    private readonly List<NetworkNamespace> _hosts;
    private Task? _disposeTask;

    private VirtualLan(NetworkNamespace switchNamespace, List<NetworkNamespace> hosts, VirtualLanOptions options)
    {
        Switch = switchNamespace;
        _hosts = hosts;
        Options = options;
    }

    /// <summary>The namespace holding the bridge.</summary>
    public NetworkNamespace Switch { get; }

    /// <summary>The host namespaces, in order; host i has address <c>&lt;SubnetPrefix&gt;.(i+1)</c>.</summary>
    public IReadOnlyList<NetworkNamespace> Hosts => _hosts;

    /// <summary>The options the LAN was built with.</summary>
    public VirtualLanOptions Options { get; }

    /// <summary>Creates a LAN of <paramref name="hostCount"/> hosts. Needs root and <c>ip</c>; fails with a clear message otherwise.</summary>
    public static async Task<VirtualLan> CreateAsync(
        int hostCount, VirtualLanOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hostCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(hostCount, VirtualLanOptions.MaxHosts);
        options ??= VirtualLanOptions.Default;
        options.Validate();
        await IpCommand.EnsureAvailableAsync(cancellationToken);
        await NetworkNamespace.CleanupStaleAsync(cancellationToken);

        var sw = await NetworkNamespace.CreateAsync("sw", cancellationToken);
        var lan = new VirtualLan(sw, [], options);
        try
        {
            await sw.IpAsync(cancellationToken, "link", "add", BridgeName, "type", "bridge", "mcast_snooping", "0");
            await sw.IpAsync(cancellationToken, "link", "set", BridgeName, "up");
            for (var i = 0; i < hostCount; i++)
            {
                lan._hosts.Add(await AddHostAsync(sw, i, options, cancellationToken));
            }
        }
        catch
        {
            await lan.DisposeAsync();
            throw;
        }

        return lan;
    }

    /// <summary>Deletes every host namespace and the switch (killing anything still running inside). Idempotent.</summary>
    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposeTask ??= DisposeCoreAsync();
            return new ValueTask(_disposeTask);
        }
    }

    private static async Task<NetworkNamespace> AddHostAsync(
        NetworkNamespace sw, int index, VirtualLanOptions options, CancellationToken cancellationToken)
    {
        var host = await NetworkNamespace.CreateAsync($"h{index}", cancellationToken);
        try
        {
            var ifName = options.InterfaceName;
            var switchPort = $"port{index}";
            var address = IPAddress.Parse($"{options.SubnetPrefix}.{index + 1}");
            // Both ends are created directly inside their namespaces.
            await IpCommand.IpAsync(
                "link", "add", ifName, "netns", host.Name, "type", "veth", "peer", "name", switchPort, "netns", sw.Name);
            await sw.IpAsync(cancellationToken, "link", "set", switchPort, "master", BridgeName);
            await sw.IpAsync(cancellationToken, "link", "set", switchPort, "up");
            await host.IpAsync(cancellationToken, "addr", "add", $"{address}/24", "dev", ifName);
            await host.IpAsync(cancellationToken, "link", "set", ifName, "up");
            await host.IpAsync(cancellationToken, "route", "add", "224.0.0.0/4", "dev", ifName);
            host.InterfaceName = ifName;
            host.Address = address;
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    private async Task DisposeCoreAsync()
    {
        List<Exception> failures = [];
        foreach (var ns in (IEnumerable<NetworkNamespace>)[.. _hosts, Switch])
        {
            try
            {
                await ns.DisposeAsync();
            }
            catch (Exception ex)
            {
                failures.Add(ex);
            }
        }

        if (failures.Count > 0)
        {
            throw new AggregateException("Some namespaces of the virtual LAN could not be deleted.", failures);
        }
    }
}
