using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Node;

namespace PromiseGrid.Mesh.Benchmarks.Mesh;

/// <summary>
/// Both ends of a ports link in one process (two <see cref="MeshNode"/>s on loopback): node A
/// sends acknowledged messages to a port on node B, whose task receives them. Reports, per
/// message and over both nodes, the bytes allocated and the garbage collections of each
/// generation, and the rate. The sender keeps a window of <see cref="ValueTask"/>s (no task per
/// message), so the figures are those of the ports layer and the stack under it. CPU time is the
/// whole process's (both nodes), per message.
/// <c>dotnet run -c Release --project tests/Benchmarks -- ports --in-process [--count N] [--size B] [--window W] [--repeat R]</c>
/// </summary>
internal static class PortsAllocationProbe
{
    public static async Task<int> RunAsync(string[] args)
    {
        var count = IntArg(args, "--count", 200_000);
        var size = IntArg(args, "--size", 64);
        var window = IntArg(args, "--window", 4096);
        var repeat = IntArg(args, "--repeat", 3);

        await using var a = await StartAsync();
        await using var b = await StartAsync();
        a.PeerStore.AddAddresses(b.PeerId, [b.Host.ListenAddresses[0]], "probe");
        var server = b.Kernel.CreateTask("server");
        var inbox = server.CreatePort();
        server.SetQueueLimit(inbox, 1024);
        b.Ports.Publish(server, inbox, "inbox");
        var client = a.Kernel.CreateTask("client");
        var dest = await a.Ports.LookupAsync(client, b.PeerId, "inbox");

        using var stop = new CancellationTokenSource();
        var receiver = ReceiveAsync(server, inbox, stop.Token);

        using var types = args.Contains("--types") ? new AllocationSampler() : null;
        Console.WriteLine(FormattableString.Invariant($"# in-process ports probe: {size} B, window {window}, {count} messages per run, {Environment.ProcessorCount} cores"));
        await SendAsync(client, dest, count / 4, size, window, stop.Token);
        for (var run = 0; run < repeat; run++)
        {
            var gen0 = GC.CollectionCount(0);
            var gen1 = GC.CollectionCount(1);
            var gen2 = GC.CollectionCount(2);
            var bytes = GC.GetTotalAllocatedBytes(precise: true);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var started = Stopwatch.GetTimestamp();
            await SendAsync(client, dest, count, size, window, stop.Token);
            var elapsed = Stopwatch.GetElapsedTime(started);
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - bytes;
            var cpuPerMessage = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / count;
            Console.WriteLine(FormattableString.Invariant(
                $"run {run + 1}: {count / elapsed.TotalSeconds:0} msg/s, {cpuPerMessage:0.00} µs CPU/msg, {(double)allocated / count:0} B/msg, gen0 {GC.CollectionCount(0) - gen0}, gen1 {GC.CollectionCount(1) - gen1}, gen2 {GC.CollectionCount(2) - gen2}"));
        }

        types?.Print(Console.Out);
        await stop.CancelAsync();
        await receiver;
        await client.DisposeAsync();
        await server.DisposeAsync();
        return 0;
    }

    private static async Task SendAsync(PortTask client, PortName dest, int count, int size, int window, CancellationToken cancellationToken)
    {
        var ring = new ValueTask[window];
        var payload = new byte[size];
        for (var i = 0; i < count; i++)
        {
            if (i >= window)
            {
                await ring[i % window];
            }

            ring[i % window] = client.SendMessageAsync(PortMessage.Create(dest, payload, i), TimeSpan.FromSeconds(30), cancellationToken);
        }

        for (var i = Math.Max(0, count - window); i < count; i++)
        {
            await ring[i % window];
        }
    }

    private static async Task ReceiveAsync(PortTask server, PortName inbox, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                using var message = await server.ReceiveMessageAsync(inbox, timeout: null, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Which types are allocated, from the runtime's allocation ticks (one about every 100 KB
    /// allocated, naming the type of the object that crossed the mark): a sampled profile.
    /// </summary>
    private sealed class AllocationSampler : EventListener
    {
        private readonly Dictionary<string, long> _bytes = [];

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName is not { } name || !name.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.PayloadNames is null)
            {
                return;
            }

            var type = e.Payload![e.PayloadNames.IndexOf("TypeName")] as string ?? "?";
            var amount = Convert.ToInt64(e.Payload[e.PayloadNames.IndexOf("AllocationAmount64")], CultureInfo.InvariantCulture);
            lock (_bytes)
            {
                _bytes[type] = _bytes.GetValueOrDefault(type) + amount;
            }
        }

        public void Print(TextWriter output)
        {
            lock (_bytes)
            {
                var total = _bytes.Values.Sum();
                foreach (var (type, bytes) in _bytes.OrderByDescending(p => p.Value).Take(40))
                {
                    output.WriteLine(FormattableString.Invariant($"{100.0 * bytes / total,5:0.0} %  {type}"));
                }
            }
        }
    }

    private static Task<MeshNode> StartAsync() => MeshNode.StartAsync(new MeshNodeOptions
    {
        Identity = IdentityKeyPair.Generate(),
        ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
        EnableMdns = false,
        EnablePeerExchange = false,
        DialStoredPeers = false,
    });

    private static int IntArg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
