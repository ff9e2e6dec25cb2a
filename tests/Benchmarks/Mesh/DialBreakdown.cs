using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Host;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Ping;

namespace PromiseGrid.Mesh.Benchmarks.Mesh;

/// <summary>
/// Where a warm dial's time goes: dials <c>addr</c> (or an in-process listener) <c>--count</c> times (default 23, <c>--delay-ms</c> 250 apart) from fresh
/// hosts in this warm process and prints the median time from the dial's start to each phase,
/// read from the stack's own debug log events (TCP connected, Noise done, yamux started, connection
/// registered) and to the first negotiated stream.
/// <c>dotnet run -c Release --project tests/Benchmarks -- dial [/ip4/…/p2p/…]</c>
/// </summary>
internal static class DialBreakdown
{
    private static readonly (int EventId, string Phase)[] Phases =
    [
        (1002, "TCP connected"),
        (3000, "Noise handshake done"),
        (1300, "yamux session started"),
        (1401, "connection registered"),
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        var events = new EventRecorder();
        using var factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(events));
        await using var listener = new Libp2pHost(new Libp2pHostOptions
        {
            Identity = IdentityKeyPair.Generate(),
            ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
        });
        var count = Option(args, "--count", 23);
        var delay = Option(args, "--delay-ms", 250);
        Multiaddr target;
        if (args.Length > 0 && args[0].StartsWith('/'))
        {
            target = Multiaddr.Parse(args[0]);
        }
        else
        {
            await listener.StartAsync();
            target = Multiaddr.Parse($"{listener.ListenAddresses[0]}/p2p/{listener.PeerId}");
        }

        var samples = new Dictionary<string, List<double>>();
        for (var i = 0; i < count; i++)
        {
            using var identity = IdentityKeyPair.Generate();
            var host = new Libp2pHost(new Libp2pHostOptions { Identity = identity, LoggerFactory = factory });
            await using (host)
            {
                await host.StartAsync();
                events.Clear();
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var started = Stopwatch.GetTimestamp();
                var connection = await host.DialAsync(target);
                var stream = await connection.NewStreamAsync(PingProtocol.ProtocolId);
                var end = Stopwatch.GetTimestamp();
                cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
                stream.Reset();
                if (i < count - 20)
                {
                    continue;
                }

                foreach (var (id, phase) in Phases)
                {
                    if (events.First(id) is { } at)
                    {
                        Add(samples, phase, Stopwatch.GetElapsedTime(started, at).TotalMilliseconds);
                    }
                }

                Add(samples, "first stream negotiated (total)", Stopwatch.GetElapsedTime(started, end).TotalMilliseconds);
                Add(samples, "CPU time of this process (all threads)", cpu.TotalMilliseconds);
            }

            await Task.Delay(delay); // js-libp2p accepts at most 5 inbound connections per second per host
        }

        Console.WriteLine($"# warm dial to {target}, median of the last 20, ms since the dial started");
        foreach (var (phase, values) in samples)
        {
            var sorted = values.Order().ToArray();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{phase,-34} {sorted[sorted.Length / 2],8:0.000}"));
        }

        return 0;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static void Add(Dictionary<string, List<double>> samples, string phase, double ms)
    {
        if (!samples.TryGetValue(phase, out var list))
        {
            samples[phase] = list = [];
        }

        list.Add(ms);
    }

    /// <summary>Records the timestamp of the first occurrence of each log event id.</summary>
    private sealed class EventRecorder : ILoggerProvider
    {
        private readonly ConcurrentDictionary<int, long> _first = new();

        public void Clear() => _first.Clear();

        public long? First(int eventId) => _first.TryGetValue(eventId, out var t) ? t : null;

        public ILogger CreateLogger(string categoryName) => new Recorder(this);

        public void Dispose()
        {
        }

        private sealed class Recorder(EventRecorder owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner._first.TryAdd(eventId.Id, Stopwatch.GetTimestamp());
        }
    }
}
