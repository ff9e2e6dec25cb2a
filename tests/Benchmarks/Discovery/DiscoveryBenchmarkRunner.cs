using System.Diagnostics;
using System.Globalization;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Node;

namespace PromiseGrid.Mesh.Benchmarks.Discovery;

/// <summary>
/// Mesh formation by mDNS: N nodes (in this process, real sockets) on the loopback interface of
/// a network namespace made for the run (so nothing multicasts outside it). Measures, per N, the
/// time from a node's start to its first discovery, the time from the last start to a full mesh
/// (every node connected to every other), and then idle CPU and bytes on the wire per node.
/// <c>dotnet run -c Release --project tests/Benchmarks -- discovery [--nodes 5,20,50] [--idle 20]</c> (root, iproute2).
/// </summary>
internal static class DiscoveryBenchmarkRunner
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length > 0 && args[0] == "--inside")
        {
            return await InsideAsync(args[1..]);
        }

        var ns = $"pgm-bench-{Environment.ProcessId}";
        try
        {
            await IpAsync("netns", "add", ns);
            await IpAsync("netns", "exec", ns, "ip", "link", "set", "lo", "up");
            await IpAsync("netns", "exec", ns, "ip", "route", "add", "224.0.0.0/4", "dev", "lo");
            var self = Environment.ProcessPath!;
            var dll = typeof(DiscoveryBenchmarkRunner).Assembly.Location;
            using var child = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", ns, self, dll, "discovery", "--inside", .. args])
            {
                UseShellExecute = false,
            })!;
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(20));
            await child.WaitForExitAsync(cts.Token);
            return child.ExitCode;
        }
        finally
        {
            await IpAsync("netns", "del", ns);
        }
    }

    private static async Task<int> InsideAsync(string[] args)
    {
        var counts = (Arg(args, "--nodes") ?? "5,20,50").Split(',').Select(int.Parse).ToArray();
        var idle = TimeSpan.FromSeconds(int.Parse(Arg(args, "--idle") ?? "20", CultureInfo.InvariantCulture));
        Console.WriteLine($"# mDNS mesh formation {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, loopback of one namespace, nodes in one process");
        Console.WriteLine("| nodes | first discovery after start, median (ms) | full mesh after the last start (ms) | idle CPU per node (% of one core) | idle bytes on the wire per node (B/s) |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: |");
        foreach (var n in counts)
        {
            Console.WriteLine(await RunOnceAsync(n, idle));
        }

        return 0;
    }

    private static async Task<string> RunOnceAsync(int n, TimeSpan idle)
    {
        var identities = Enumerable.Range(0, n).Select(_ => IdentityKeyPair.Generate()).ToList();
        var nodes = new List<MeshNode>();
        var firstDiscovery = new double[n];
        var readers = new List<Task>();
        try
        {
            long lastStart = 0;
            for (var i = 0; i < n; i++)
            {
                var started = Stopwatch.GetTimestamp();
                var node = await MeshNode.StartAsync(new MeshNodeOptions
                {
                    Identity = identities[i],
                    ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
                    EnableMdns = true,
                    MdnsInterfaces = ["lo"],
                    EnablePeerExchange = false,
                    EnableDiagnostics = false,
                });
                nodes.Add(node);
                lastStart = Stopwatch.GetTimestamp();
                var index = i;
                readers.Add(Task.Run(async () =>
                {
                    await foreach (var e in node.Events.ReadAllAsync())
                    {
                        if (e is MeshPeerDiscovered && firstDiscovery[index] == 0)
                        {
                            firstDiscovery[index] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                        }
                    }
                }));
            }

            var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 120;
            while (!nodes.All(node => node.Host.Connections.Select(c => c.RemotePeer).Distinct().Count() >= n - 1))
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    return $"| {n} | {Median(firstDiscovery):0} | not meshed within 120 s | — | — |";
                }

                await Task.Delay(5);
            }

            var meshed = Stopwatch.GetElapsedTime(lastStart).TotalMilliseconds;

            // Idle: nothing but mDNS queries/answers, yamux keep-alives and identify.
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var bytes0 = LoopbackBytes();
            var wall = Stopwatch.StartNew();
            await Task.Delay(idle);
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds / wall.Elapsed.TotalSeconds / n * 100;
            var bytes = (LoopbackBytes() - bytes0) / wall.Elapsed.TotalSeconds / n;
            return FormattableString.Invariant($"| {n} | {Median(firstDiscovery):0} | {meshed:0} | {cpu:0.00} | {bytes:0} |");
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }

            await Task.WhenAll(readers);
            identities.ForEach(i => i.Dispose());
        }
    }

    /// <summary>Bytes sent on <c>lo</c> in this namespace (/proc/net/dev is per namespace).</summary>
    private static long LoopbackBytes()
    {
        foreach (var line in File.ReadLines("/proc/net/dev"))
        {
            var parts = line.Split(':', 2);
            if (parts.Length == 2 && parts[0].Trim() == "lo")
            {
                var fields = parts[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(fields[8], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => v > 0).Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[sorted.Length / 2];
    }

    private static string? Arg(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static async Task IpAsync(params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo("ip", args) { UseShellExecute = false })!;
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)} failed with {p.ExitCode}");
        }
    }
}
