using System.Diagnostics;
using System.Globalization;

namespace PromiseGrid.Mesh.Benchmarks;

/// <summary>
/// The <see cref="KernelBenchmarks"/> cases run in alternation, round after round, so the kernel
/// and the raw <see cref="System.Threading.Channels.Channel{T}"/> beside it see the same load:
/// on a shared machine whose load drifts within a minute, BenchmarkDotNet's one-case-after-another
/// order can hand one side a quiet minute and the other a busy one. Each round times one
/// invocation of every case (the case order rotates between rounds) and the kernel's share of
/// the channel's rate is taken per round; the runner prints the medians.
/// <c>dotnet run -c Release --project tests/Benchmarks -- kernel-ab [--rounds N] [--only TEXT] [--per-round]</c>;
/// <c>--only</c> runs just the cases whose names contain TEXT (for a profiler), <c>--per-round</c>
/// also prints every round's time (the regime a round ran in shows there).
/// </summary>
internal static class KernelAlternatingRunner
{
    private sealed record Case(string Name, int Operations, Func<KernelBenchmarks, Task> Run);

    private static readonly Case[] Cases =
    [
        new("one-way 32 B, kernel", 10_000, b => b.OneWay32B_Kernel()),
        new("one-way 32 B, channel", 10_000, b => b.OneWay32B_Channel()),
        new("request/reply, kernel (send, then receive)", 1_000, b => b.RequestReply32B_Kernel()),
        new("request/reply, kernel (SendReceiveAsync)", 1_000, b => b.RequestReply32B_KernelCall()),
        new("request/reply, channel", 1_000, b => b.RequestReply32B_Channel()),
    ];

    /// <summary>Kernel case, channel case: the shares reported.</summary>
    private static readonly (int Kernel, int Channel)[] Shares = [(0, 1), (2, 4), (3, 4)];

    private static readonly TimeSpan WarmupTime = TimeSpan.FromSeconds(10);

    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = Array.IndexOf(args, "--rounds") is var at and >= 0 && at + 1 < args.Length
            ? int.Parse(args[at + 1], CultureInfo.InvariantCulture)
            : 101;
        var perRound = args.Contains("--per-round");
        var only = Array.IndexOf(args, "--only") is var o and >= 0 && o + 1 < args.Length ? args[o + 1] : null;
        var cases = Cases.Where(c => only is null || c.Name.Contains(only, StringComparison.Ordinal)).ToArray();
        var shared = Shares.Where(s => cases.Contains(Cases[s.Kernel]) && cases.Contains(Cases[s.Channel]))
            .Select(s => (Kernel: Array.IndexOf(cases, Cases[s.Kernel]), Channel: Array.IndexOf(cases, Cases[s.Channel])))
            .ToArray();
        var bench = new KernelBenchmarks();
        bench.Setup();
        try
        {
            // Warm-up: tiered compilation reaches its final code before anything is timed (the
            // kernel's methods start at tier 0; the channel's are precompiled in CoreLib).
            var warmup = Stopwatch.StartNew();
            for (var i = 0; i < 30 || warmup.Elapsed < WarmupTime; i++)
            {
                foreach (var c in cases)
                {
                    await c.Run(bench);
                }
            }

            var nanos = cases.Select(_ => new List<double>()).ToArray();
            var shares = shared.Select(_ => new List<double>()).ToArray();
            for (var round = 0; round < rounds; round++)
            {
                var timed = new double[cases.Length];
                for (var k = 0; k < cases.Length; k++)
                {
                    var index = (k + round) % cases.Length;
                    var started = Stopwatch.GetTimestamp();
                    await cases[index].Run(bench);
                    timed[index] = Stopwatch.GetElapsedTime(started).TotalNanoseconds / cases[index].Operations;
                }

                for (var i = 0; i < cases.Length; i++)
                {
                    nanos[i].Add(timed[i]);
                }

                for (var s = 0; s < shared.Length; s++)
                {
                    shares[s].Add(timed[shared[s].Channel] / timed[shared[s].Kernel]);
                }
            }

            Console.WriteLine($"# kernel beside Channel<T>, alternating, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {rounds} rounds, medians");
            Console.WriteLine("| case | ns per message (request/reply: per round trip) |");
            Console.WriteLine("| --- | ---: |");
            for (var i = 0; i < cases.Length; i++)
            {
                Console.WriteLine(FormattableString.Invariant($"| {cases[i].Name} | {Median(nanos[i]):0} |"));
            }

            if (perRound)
            {
                Console.WriteLine();
                for (var i = 0; i < cases.Length; i++)
                {
                    Console.WriteLine($"{cases[i].Name}, ns per round: {string.Join(' ', nanos[i].Select(x => x.ToString("0", CultureInfo.InvariantCulture)))}");
                }
            }

            Console.WriteLine();
            Console.WriteLine("| kernel's rate as a share of the channel's (median of the per-round shares, with the lowest) | median | lowest |");
            Console.WriteLine("| --- | ---: | ---: |");
            for (var s = 0; s < shared.Length; s++)
            {
                Console.WriteLine(FormattableString.Invariant($"| {cases[shared[s].Kernel].Name} | {Median(shares[s]) * 100:0} % | {shares[s].Min() * 100:0} % |"));
            }

            return 0;
        }
        finally
        {
            await bench.CleanupAsync();
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
