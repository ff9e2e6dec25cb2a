using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Benchmarks;

/// <summary>
/// The work of one message on one thread, kernel beside <see cref="Channel{T}"/>: batches of 512
/// sends (writes) followed by 512 receives (reads), so nothing ever blocks and no other thread is
/// involved. This is the cost a one-way stream pays per message when its producer and consumer
/// take turns on one core, the regime in which <see cref="KernelBenchmarks"/>' one-way channel
/// case runs fastest; there the kernel's share of the channel's rate is this ratio. Message
/// objects are as in <see cref="KernelBenchmarks"/> (a <see cref="PortMessage"/>, a 48-byte
/// record). Rounds alternate kernel and channel; the runner prints medians.
/// <c>dotnet run -c Release --project tests/Benchmarks -- kernel-serial [--rounds N]</c>
/// </summary>
internal static class KernelSerialRunner
{
    private const int Batch = 512;
    private const int BatchesPerRound = 400;

    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = Array.IndexOf(args, "--rounds") is var at and >= 0 && at + 1 < args.Length
            ? int.Parse(args[at + 1], CultureInfo.InvariantCulture)
            : 41;
        using var identity = IdentityKeyPair.Generate();
        await using var kernel = new PortKernel(identity.PeerId);
        var producer = kernel.CreateTask("producer");
        var consumer = kernel.CreateTask("consumer");
        var port = consumer.CreatePort();
        consumer.SetQueueLimit(port, 1024);
        var send = consumer.InsertRight(producer, port, PortDisposition.MakeSend);
        var channel = Channel.CreateBounded<Item>(new BoundedChannelOptions(1024) { SingleReader = false, SingleWriter = false });
        var payload = new byte[32];

        double Kernel()
        {
            var started = Stopwatch.GetTimestamp();
            for (var b = 0; b < BatchesPerRound; b++)
            {
                for (var i = 0; i < Batch; i++)
                {
                    var sent = producer.SendMessageAsync(new PortMessage { Destination = send, Payload = payload });
                    sent.GetAwaiter().GetResult();
                }

                for (var i = 0; i < Batch; i++)
                {
                    consumer.ReceiveMessageAsync(port).GetAwaiter().GetResult();
                }
            }

            return Stopwatch.GetElapsedTime(started).TotalNanoseconds / (Batch * BatchesPerRound);
        }

        double Raw()
        {
            var started = Stopwatch.GetTimestamp();
            for (var b = 0; b < BatchesPerRound; b++)
            {
                for (var i = 0; i < Batch; i++)
                {
                    channel.Writer.WriteAsync(new Item(payload, null)).GetAwaiter().GetResult();
                }

                for (var i = 0; i < Batch; i++)
                {
                    channel.Reader.ReadAsync().GetAwaiter().GetResult();
                }
            }

            return Stopwatch.GetElapsedTime(started).TotalNanoseconds / (Batch * BatchesPerRound);
        }

        // Warm-up: tiered compilation reaches its final code before anything is timed.
        var warmup = Stopwatch.StartNew();
        while (warmup.Elapsed < TimeSpan.FromSeconds(5))
        {
            Kernel();
            Raw();
        }

        var kernelNs = new List<double>();
        var channelNs = new List<double>();
        var shares = new List<double>();
        for (var r = 0; r < rounds; r++)
        {
            double k, c;
            if (r % 2 == 0)
            {
                k = Kernel();
                c = Raw();
            }
            else
            {
                c = Raw();
                k = Kernel();
            }

            kernelNs.Add(k);
            channelNs.Add(c);
            shares.Add(c / k);
        }

        Console.WriteLine($"# one message on one thread (send then receive, batches of {Batch}), {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {rounds} rounds, medians");
        Console.WriteLine(FormattableString.Invariant($"| kernel ns per message | channel ns per message | kernel's rate as a share of the channel's |"));
        Console.WriteLine("| ---: | ---: | ---: |");
        Console.WriteLine(FormattableString.Invariant($"| {Median(kernelNs):0.0} | {Median(channelNs):0.0} | {Median(shares) * 100:0} % |"));
        return 0;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private sealed record Item(ReadOnlyMemory<byte> Payload, Channel<Item>? ReplyTo);
}
