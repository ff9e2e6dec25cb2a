using System.Globalization;
using System.Text.Json;

namespace PromiseGrid.Mesh.Benchmarks.Mesh;

/// <summary>
/// Ports across the mesh between two pgnode processes on loopback, in one run so the figures
/// compare: one-way acknowledged throughput (<c>pgnode port send</c> to a <c>port serve --quiet</c>)
/// for 64 B and 4 KiB messages, request/reply latency (one request in flight, and a window of 64),
/// and raw <c>/perf/1.0.0</c> throughput to the same serving node as the ceiling. Prints a Markdown
/// table of medians for docs/benchmarks.md.
/// <c>dotnet run -c Release --project tests/Benchmarks -- ports [--count64 N] [--count4k N] [--requests N] [--repeat R] [--pgnode DIR] [--cold-only]</c>
/// (<c>--pgnode</c>: run the pgnode.dll in DIR, such as a copy of an earlier build, to compare two builds on the same machine).
/// With <c>--in-process</c>, both nodes run in this process instead (<see cref="PortsAllocationProbe"/>).
/// </summary>
internal static class PortsBenchmarkRunner
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(10);

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Contains("--in-process"))
        {
            return await PortsAllocationProbe.RunAsync(args);
        }

        var count64 = IntArg(args, "--count64", 200_000);
        var count4k = IntArg(args, "--count4k", 50_000);
        var requests = IntArg(args, "--requests", 5_000);
        var repeat = IntArg(args, "--repeat", 3);
        var pgnodeDir = Array.IndexOf(args, "--pgnode") is var at and >= 0 && at + 1 < args.Length
            ? args[at + 1]
            : Path.Combine(FindRoot(), "node", "pgnode", "bin", "Release", "net10.0");
        var pgnode = Path.Combine(pgnodeDir, "pgnode.dll");
        if (!File.Exists(pgnode))
        {
            Console.Error.WriteLine($"needs {pgnode} (dotnet build -c Release node/pgnode)");
            return 2;
        }

        var home = Directory.CreateTempSubdirectory("pgm-portbench-");
        try
        {
            await using var serve = ChildProcess.Start("dotnet",
                [pgnode, "port", "serve", "--json", "--quiet", "--reply", "--qlimit", "1024", "--name", "bench",
                 "--listen", "/ip4/127.0.0.1/tcp/0", "--key", Path.Combine(home.FullName, "serve.key")]);
            var port = await serve.WaitAsync(e => Event(e) == "port", TimeSpan.FromSeconds(60));
            var portRef = port.GetProperty("ref").GetString()!;
            var addr = port.GetProperty("addrs")[0].GetString()!;

            Console.WriteLine($"# ports benchmark {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, repeat {repeat}, medians");
            var rows = new List<string>();
            // Each measurement runs in a fresh process twice: cold (its figure includes the JIT
            // compiling and tiering up the send path) and warm (after three times as many
            // messages, sent the same way and left out: the tiered JIT compiles its final code in
            // the background, and while the run keeps both cores busy that takes a while; after
            // as many messages again as measured, 64 B runs were still 20-30 % slower).
            // --cold-only skips the warm runs, for builds older than 'port send --warmup'.
            var warmRuns = args.Contains("--cold-only") ? [false] : new[] { false, true };
            foreach (var (size, count) in new[] { (64, count64), (4096, count4k) })
            {
                foreach (var warm in warmRuns)
                {
                    var runs = await RepeatAsync(repeat, () => SendAsync(pgnode, portRef, addr, count, size, Warmup(warm, count)));
                    var rate = Median(runs.Select(r => r.GetProperty("msgs_per_s").GetDouble()));
                    rows.Add(FormattableString.Invariant(
                        $"| one-way, acknowledged, {Label(size)} × {count}, {Phase(warm)} | {rate:0} msg/s | {rate * size * 8 / 1e6:0.0} Mbit/s payload | p50 {Median(runs.Select(r => r.GetProperty("p50_us").GetDouble())):0} µs, p99 {Median(runs.Select(r => r.GetProperty("p99_us").GetDouble())):0} µs (send → ack, window 4096) |"));
                }
            }

            foreach (var window in new[] { 1, 64 })
            {
                foreach (var warm in warmRuns)
                {
                    var runs = await RepeatAsync(repeat, () => SendAsync(pgnode, portRef, addr, requests, 64, ["--request", "--window", window.ToString(CultureInfo.InvariantCulture), .. Warmup(warm, requests)]));
                    rows.Add(FormattableString.Invariant(
                        $"| request/reply, 64 B × {requests}, window {window}, {Phase(warm)} | {Median(runs.Select(r => r.GetProperty("msgs_per_s").GetDouble())):0} req/s | — | p50 {Median(runs.Select(r => r.GetProperty("p50_us").GetDouble())):0} µs, p99 {Median(runs.Select(r => r.GetProperty("p99_us").GetDouble())):0} µs (send → reply) |"));
                }
            }

            var perfBytes = (long)count4k * 4096;
            var perf = await RepeatAsync(repeat, () => PerfAsync(pgnode, addr, perfBytes));
            rows.Add(FormattableString.Invariant(
                $"| raw /perf/1.0.0 upload to the same node, {perfBytes >> 20} MiB | — | {Median(perf.Select(p => p.GetProperty("mbps_up").GetDouble())):0.0} Mbit/s | one stream, no per-message framing or acks |"));

            Console.WriteLine("| measurement | rate | throughput | latency |");
            Console.WriteLine("| --- | ---: | ---: | --- |");
            rows.ForEach(Console.WriteLine);
            return 0;
        }
        finally
        {
            home.Delete(recursive: true);
        }
    }

    /// <summary>Runs <c>pgnode port send</c> and returns its summary; every message must be acknowledged (and answered).</summary>
    private static async Task<JsonElement> SendAsync(string pgnode, string portRef, string addr, int count, int size, string[] extra)
    {
        var lines = await ChildProcess.RunAsync("dotnet",
            [pgnode, "port", "send", portRef, "--peer", addr, "--count", count.ToString(CultureInfo.InvariantCulture),
             "--size", size.ToString(CultureInfo.InvariantCulture), "--json", .. extra], Long);
        var summary = lines.Single(l => Event(l) == "send");
        Console.Error.WriteLine($"{size} B {string.Join(' ', extra)}: {summary}");
        return summary;
    }

    private static async Task<JsonElement> PerfAsync(string pgnode, string addr, long bytes)
    {
        var lines = await ChildProcess.RunAsync("dotnet",
            [pgnode, "perf", addr, "--upload", bytes.ToString(CultureInfo.InvariantCulture), "--download", "0", "--json"], Long);
        var perf = lines.Single(l => Event(l) == "perf");
        Console.Error.WriteLine($"perf: {perf}");
        return perf;
    }

    private static async Task<List<JsonElement>> RepeatAsync(int times, Func<Task<JsonElement>> run)
    {
        var results = new List<JsonElement>();
        for (var i = 0; i < times; i++)
        {
            results.Add(await run());
        }

        return results;
    }

    private static string[] Warmup(bool warm, int count) => warm ? ["--warmup", (3 * count).ToString(CultureInfo.InvariantCulture)] : [];

    private static string Phase(bool warm) => warm ? "warm" : "cold";

    private static string Label(int size) => size >= 1024 ? $"{size >> 10} KiB" : $"{size} B";

    private static string? Event(JsonElement e) => e.TryGetProperty("event", out var n) ? n.GetString() : null;

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static int IntArg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PromiseGrid.Mesh.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("repository root not found");
    }
}
