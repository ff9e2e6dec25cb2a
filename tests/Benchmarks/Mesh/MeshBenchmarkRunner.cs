using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace PromiseGrid.Mesh.Benchmarks.Mesh;

/// <summary>
/// End-to-end libp2p benchmark over loopback, all in one run so the figures compare: perf
/// throughput C#→C#, C#→js, js→C#, js→js (100 MiB and 1 GiB each way by default), ping round
/// trip, connection set-up time, and raw TCP loopback as the ceiling. Real processes: pgnode and
/// the js-libp2p interop peer (tests/interop-js, after <c>npm ci</c>). Prints a Markdown table of
/// medians for docs/benchmarks.md.
/// </summary>
internal static class MeshBenchmarkRunner
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(10);

    public static async Task<int> RunAsync(string[] args)
    {
        var sizesArg = Arg(args, "--sizes");
        var sizes = sizesArg == "none" ? [] : sizesArg?.Split(',').Select(long.Parse).ToArray() ?? [100L << 20, 1L << 30];
        var repeat = int.Parse(Arg(args, "--repeat") ?? "3", CultureInfo.InvariantCulture);
        var root = FindRoot();
        var pgnode = Path.Combine(root, "node", "pgnode", "bin", "Release", "net10.0", "pgnode.dll");
        var js = Path.Combine(root, "tests", "interop-js");
        if (!File.Exists(pgnode) || !Directory.Exists(Path.Combine(js, "node_modules")))
        {
            Console.Error.WriteLine($"needs {pgnode} (dotnet build -c Release node/pgnode) and {js}/node_modules (npm ci)");
            return 2;
        }

        // --baseline DIR: the output folder of an earlier pgnode build; adds "before" rows to the same run.
        var baseline = Arg(args, "--baseline") is { } dir ? Path.Combine(Path.GetFullPath(dir), "pgnode.dll") : null;
        var home = Directory.CreateTempSubdirectory("pgm-bench-");
        await using var csNode = ChildProcess.Start("dotnet", [pgnode, "run", "--json", "--listen", "/ip4/127.0.0.1/tcp/0", "--key", Path.Combine(home.FullName, "k")]);
        await using var jsListener = ChildProcess.Start("node", ["peer.mjs", "--no-ping-keepalive"], js);
        await using var jsDialer = ChildProcess.Start("node", ["peer.mjs", "--no-ping-keepalive"], js);
        await using var baseNode = baseline is null ? null : ChildProcess.Start("dotnet", [baseline, "run", "--json", "--listen", "/ip4/127.0.0.1/tcp/0", "--key", Path.Combine(home.FullName, "kb")]);
        var csAddr = FirstAddr(await csNode.WaitAsync(IsListening, TimeSpan.FromSeconds(60)));
        var baseAddr = baseNode is null ? null : FirstAddr(await baseNode.WaitAsync(IsListening, TimeSpan.FromSeconds(60)));
        var jsAddr = FirstAddr(await jsListener.WaitAsync(IsListening, TimeSpan.FromSeconds(60)));
        await jsDialer.WaitAsync(IsListening, TimeSpan.FromSeconds(60));
        var js2 = new JsDriver(jsDialer);

        var rows = new List<string>();
        Console.WriteLine($"# mesh benchmark {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {LoadAverage()}, repeat {repeat}, medians");
        foreach (var size in sizes)
        {
            var label = size >= 1L << 30 ? $"{size >> 30} GiB" : $"{size >> 20} MiB";
            var cases = new List<(string Name, Func<Task<(double Up, double Down)>> Run)>
            {
                ("C# → C#", () => PgnodePerfAsync(pgnode, csAddr, size)),
                ("C# → js", () => PgnodePerfAsync(pgnode, jsAddr, size)),
                ("js → C#", () => js2.PerfAsync(csAddr, size)),
                ("js → js", () => js2.PerfAsync(jsAddr, size)),
            };
            if (baseline is not null)
            {
                cases.Insert(1, ("C# → C# (baseline build)", () => PgnodePerfAsync(baseline, baseAddr!, size)));
            }
            // Rounds: every case once per round, so a change of machine load hits all cases alike.
            var results = cases.ToDictionary(c => c.Name, _ => new List<(double Up, double Down)>());
            for (var i = 0; i < repeat; i++)
            {
                foreach (var (name, run) in cases)
                {
                    results[name].Add(await run());
                }
            }

            var medians = new Dictionary<string, (double Up, double Down)>();
            foreach (var (name, _) in cases)
            {
                var runs = results[name];
                medians[name] = (Median(runs.Select(r => r.Up)), Median(runs.Select(r => r.Down)));
                Console.Error.WriteLine($"{label} {name}: " + string.Join("; ", runs.Select(r => $"up {r.Up:0} down {r.Down:0}")));
            }

            var tcp = Median(Enumerable.Range(0, repeat).Select(_ => RawTcpMbps(size)));
            var jsjs = medians["js → js"];
            foreach (var (name, m) in medians)
            {
                rows.Add(FormattableString.Invariant(
                    $"| {label} | {name} | {m.Up:0} | {m.Down:0} | {m.Up / jsjs.Up:0.00}× / {m.Down / jsjs.Down:0.00}× |"));
            }

            rows.Add(FormattableString.Invariant($"| {label} | raw TCP loopback (one socket, 256 KiB buffers) | {tcp:0} | — | {tcp / jsjs.Up:0.00}× |"));
        }

        Console.WriteLine("| size | direction (dialer → listener) | upload Mbit/s | download Mbit/s | vs js → js (up / down) |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: |");
        rows.ForEach(Console.WriteLine);

        var csPing = await PgnodePingAsync(pgnode, csAddr);
        var jsPing = await PgnodePingAsync(pgnode, jsAddr);
        var jsjsPing = await js2.PingAsync(jsAddr, 50);
        Console.WriteLine();
        Console.WriteLine("| measurement | C# → C# | C# → js | js → js |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        Console.WriteLine(FormattableString.Invariant($"| ping RTT median (ms, 50 pings on one stream) | {csPing.Rtt:0.000} | {jsPing.Rtt:0.000} | {jsjsPing:0.000} |"));
        Console.WriteLine(FormattableString.Invariant($"| connection set-up median (ms: TCP + Noise + Yamux + first stream, 20 warm dials in one process) | {await WarmDialMsAsync(csAddr):0.000} | {await WarmDialMsAsync(jsAddr):0.000} | — |"));
        Console.WriteLine(FormattableString.Invariant($"| first dial of a fresh pgnode process (ms, includes JIT warm-up) | {csPing.Connect:0.0} | {jsPing.Connect:0.0} | — |"));
        Console.WriteLine($"# finished {DateTime.UtcNow:HH:mm} UTC, load average {LoadAverage()}");
        home.Delete(recursive: true);
        return 0;
    }

    private static async Task<(double Up, double Down)> PgnodePerfAsync(string pgnode, string addr, long size)
    {
        var lines = await ChildProcess.RunAsync("dotnet", [pgnode, "perf", addr, "--upload", size.ToString(CultureInfo.InvariantCulture), "--download", size.ToString(CultureInfo.InvariantCulture), "--json"], Long);
        var perf = lines.Single(l => l.GetProperty("event").GetString() == "perf");
        return (perf.GetProperty("mbps_up").GetDouble(), perf.GetProperty("mbps_down").GetDouble());
    }

    private static async Task<(double Rtt, double Connect)> PgnodePingAsync(string pgnode, string addr)
    {
        var rtts = new List<double>();
        var connects = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            var lines = await ChildProcess.RunAsync("dotnet", [pgnode, "ping", addr, "--count", "50", "--json"], Long);
            rtts.AddRange(lines.Where(l => l.GetProperty("event").GetString() == "ping").Skip(1).Select(l => l.GetProperty("rtt_ms").GetDouble()));
            connects.Add(lines.Single(l => l.GetProperty("event").GetString() == "connected").GetProperty("connect_ms").GetDouble());
        }

        return (Median(rtts), Median(connects));
    }

    /// <summary>Median time to dial and upgrade a new connection from a warm in-process host.</summary>
    private static async Task<double> WarmDialMsAsync(string addr)
    {
        var target = Multiformats.Multiaddr.Parse(addr);
        var samples = new List<double>();
        for (var i = 0; i < 23; i++)
        {
            using var identity = Identity.IdentityKeyPair.Generate();
            var host = new Host.Libp2pHost(new Host.Libp2pHostOptions { Identity = identity });
            await using (host)
            {
                await host.StartAsync();
                var started = Stopwatch.GetTimestamp();
                var connection = await host.DialAsync(target);
                var stream = await connection.NewStreamAsync(Ping.PingProtocol.ProtocolId);
                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                stream.Reset();
                if (i >= 3)
                {
                    samples.Add(elapsed);
                }
            }

            // js-libp2p accepts at most 5 inbound connections per second per host by default.
            await Task.Delay(250);
        }

        return Median(samples);
    }

    /// <summary>One TCP connection over loopback, <paramref name="size"/> bytes one way, Mbit/s.</summary>
    private static double RawTcpMbps(long size)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect((IPEndPoint)listener.LocalEndpoint);
        using var server = listener.AcceptSocket();
        var buffer = new byte[256 * 1024];
        var reader = Task.Run(() =>
        {
            var inbox = new byte[256 * 1024];
            long total = 0;
            while (total < size)
            {
                total += server.Receive(inbox);
            }
        });
        var started = Stopwatch.GetTimestamp();
        for (long sent = 0; sent < size; sent += buffer.Length)
        {
            client.Send(buffer, (int)Math.Min(buffer.Length, size - sent), SocketFlags.None);
        }

        reader.Wait();
        return size * 8 / Stopwatch.GetElapsedTime(started).TotalSeconds / 1e6;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    private static bool IsListening(JsonElement e) => e.TryGetProperty("event", out var n) && n.GetString() == "listening";

    private static string FirstAddr(JsonElement listening) => listening.GetProperty("addrs")[0].GetString()!;

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string? Arg(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
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

    /// <summary>Drives the js interop peer through its JSON-line commands.</summary>
    private sealed class JsDriver(ChildProcess process)
    {
        private int _nextId;

        public async Task<(double Up, double Down)> PerfAsync(string addr, long size)
        {
            var answer = await SendAsync($"{{\"cmd\":\"perf\",\"addr\":\"{addr}\",\"upload\":{size},\"download\":{size}}}");
            return (answer.GetProperty("uploadMbps").GetDouble(), answer.GetProperty("downloadMbps").GetDouble());
        }

        public async Task<double> PingAsync(string addr, int count)
        {
            var answer = await SendAsync($"{{\"cmd\":\"ping\",\"addr\":\"{addr}\",\"count\":{count}}}");
            return Median(answer.GetProperty("rtts").EnumerateArray().Skip(1).Select(r => r.GetDouble()));
        }

        private async Task<JsonElement> SendAsync(string command)
        {
            var id = ++_nextId;
            await process.WriteLineAsync("{\"id\":" + id + "," + command[1..]);
            var answer = await process.WaitAsync(e => e.TryGetProperty("id", out var i) && i.GetInt32() == id, Long);
            if (answer.TryGetProperty("error", out var error))
            {
                throw new InvalidOperationException("js peer: " + error.GetString());
            }

            return answer;
        }
    }
}
