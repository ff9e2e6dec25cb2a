using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Cli.Commands;

/// <summary>
/// <c>pgnode port send REF --peer MA</c>: dials the port's home node, looks the published port
/// up, sends <c>--count</c> messages with ids 0..N-1 (keeping up to <c>--window</c> in flight,
/// issued in order) and prints one <c>send:error</c> line per failed message, then a <c>send</c>
/// summary. Exit 0 when every message was acknowledged (or, with <c>--request</c>, answered),
/// <see cref="CliErrors.Incomplete"/> otherwise.
/// </summary>
internal static class PortSendCommand
{
    private const int DefaultSize = 64;

    public static Command Create()
    {
        var reference = new Argument<string>("ref") { Description = "The port, /p2p/<peer id>/port/<id> (as printed by 'port serve')." };
        var peer = new Option<string>("--peer") { Description = "Address of the port's home node, ending in /p2p/<peer id>.", Required = true };
        var count = new Option<int>("--count", "-c") { Description = "Number of messages (ids 0..N-1).", DefaultValueFactory = _ => 1 };
        var size = new Option<int?>("--size") { Description = $"Payload bytes; the first 4 hold the message index, little-endian (default {DefaultSize})." };
        var text = new Option<string?>("--text") { Description = "Payload: this text in UTF-8 (instead of --size)." };
        var request = new Option<bool>("--request") { Description = "Ask for a reply to each message; latency runs to the reply." };
        var timeout = new Option<double>("--timeout") { Description = "Seconds allowed for the dial, the lookup and each message's acknowledgement (or reply).", DefaultValueFactory = _ => 30 };
        var window = new Option<int>("--window") { Description = "Most messages in flight at once.", DefaultValueFactory = _ => 4096 };
        var rate = new Option<double>("--rate") { Description = "Most messages issued per second (default 0: no limit)." };
        var warmup = new Option<int>("--warmup") { Description = "Messages sent the same way before the measured ones, with ids -N..-1, and left out of the summary (default 0)." };
        var key = CommonOptions.Key("Identity key file (default: a fresh key per run).");
        var command = new Command("send", "Send messages to a published port on another node and report acknowledgements and latency.")
        {
            reference, peer, count, size, text, request, timeout, window, rate, warmup, key,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var output = CommonOptions.Output(parse);
            return CliErrors.RunAsync(output, async () =>
            {
                var portRef = ParseReference(parse.GetValue(reference)!);
                var address = CommonOptions.ParseAddress(parse.GetValue(peer)!, requirePeerId: true);
                if (address.PeerId != portRef.Home)
                {
                    throw new CliUsageException($"--peer names {address.PeerId} but the port's home is {portRef.Home}");
                }

                var settings = new PortSendSettings
                {
                    Count = parse.GetValue(count),
                    Payload = PayloadFactory(parse.GetValue(text), parse.GetValue(size)),
                    Request = parse.GetValue(request),
                    Timeout = Seconds(parse.GetValue(timeout), "--timeout"),
                    Window = parse.GetValue(window),
                    Rate = parse.GetValue(rate),
                };
                settings.Validate();
                var warmupCount = parse.GetValue(warmup);
                if (warmupCount < 0)
                {
                    throw new CliUsageException("--warmup must be 0 or more");
                }

                using var identity = CommonOptions.ClientIdentity(parse.GetValue(key));
                using var loggerFactory = CommonOptions.Logging(parse);
                using var stop = CommonOptions.CancelOnSignals(cancellationToken, out var signals);
                using (signals)
                {
                    var node = await PortCommand.StartNodeAsync(identity, [], loggerFactory, stop.Token);
                    await using (node)
                    {
                        await DialAsync(node, address, output, settings.Timeout, stop.Token);
                        var task = node.Kernel.CreateTask("send");

                        // Between two receives the run only records and sends: no blocking work.
                        task.ResumeReceivesInline = true;
                        await using (task)
                        {
                            var send = await node.Ports.LookupAsync(task, portRef, settings.Timeout, stop.Token);
                            if (warmupCount > 0)
                            {
                                // Compiles and tiers up the send path, so the summary measures the steady state.
                                var warm = await new PortSendRun(task, send, settings with { Count = warmupCount, IdOffset = -warmupCount }, output).RunAsync(stop.Token);
                                if (warm.Failed > 0)
                                {
                                    return CliErrors.Incomplete;
                                }
                            }

                            var summary = await new PortSendRun(task, send, settings, output).RunAsync(stop.Token);
                            var counters = node.Ports.Counters;
                            PrintSummary(output, summary, counters.Resent, counters.Reconnects, settings.Request);
                            return summary.Failed == 0 ? 0 : CliErrors.Incomplete;
                        }
                    }
                }
            });
        });
        return command;
    }

    private static PortRef ParseReference(string text)
    {
        try
        {
            return PortRef.Parse(text);
        }
        catch (InvalidFormatException e)
        {
            throw new CliUsageException($"bad port reference '{text}': {e.Message} (expected /p2p/<peer id>/port/<id>)");
        }
    }

    private static TimeSpan Seconds(double value, string option) =>
        value > 0 && value <= TimeSpan.MaxValue.TotalSeconds / 2
            ? TimeSpan.FromSeconds(value)
            : throw new CliUsageException($"{option} must be a positive number of seconds");

    /// <summary>Payload of message i: the text, or <paramref name="size"/> bytes whose first 4 are i (little-endian).</summary>
    private static Func<int, ReadOnlyMemory<byte>> PayloadFactory(string? text, int? size)
    {
        if (text is not null && size is not null)
        {
            throw new CliUsageException("give --text or --size, not both");
        }

        if (text is not null)
        {
            ReadOnlyMemory<byte> bytes = Encoding.UTF8.GetBytes(text);
            return _ => bytes;
        }

        var n = size ?? DefaultSize;
        if (n < sizeof(int) || n > PortKernelOptions.Default.MaxInlinePayload)
        {
            throw new CliUsageException($"--size must be between {sizeof(int)} and {PortKernelOptions.Default.MaxInlinePayload} bytes");
        }

        return index =>
        {
            var payload = new byte[n];
            BitConverter.TryWriteBytes(payload, index);
            if (!BitConverter.IsLittleEndian)
            {
                payload.AsSpan(0, sizeof(int)).Reverse();
            }

            return payload;
        };
    }

    private static async Task DialAsync(Node.MeshNode node, Multiaddr address, CliOutput output, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var started = Stopwatch.GetTimestamp();
        Host.PeerConnection connection;
        try
        {
            connection = await node.Host.DialAsync(address, deadline.Token);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new MeshTimeoutException($"could not connect to {address} within {timeout.TotalSeconds:0.###} s", e);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);

        // The port layer redials this address first after a lost connection (before what identify announced).
        node.Ports.PreferAddress(address);
        node.PeerStore.AddAddresses(connection.RemotePeer, [address], "cli");
        output.Event("connected", new Dictionary<string, object?>
        {
            ["peerId"] = connection.RemotePeer.ToString(),
            ["addr"] = connection.RemoteAddress.ToString(),
            ["connect_ms"] = Math.Round(elapsed.TotalMilliseconds, 3),
        }, string.Create(CultureInfo.InvariantCulture, $"connected to {connection.RemotePeer} in {elapsed.TotalMilliseconds:0.0} ms"));
    }

    private static void PrintSummary(CliOutput output, PortSendSummary summary, long retries, long reconnects, bool request)
    {
        var fields = new Dictionary<string, object?>
        {
            ["sent"] = summary.Sent,
            ["acked"] = summary.Acked,
        };
        if (request)
        {
            fields["replied"] = summary.Replied;
        }

        fields["failed"] = summary.Failed;
        fields["retries"] = retries;
        fields["reconnects"] = reconnects;
        fields["seconds"] = Math.Round(summary.Elapsed.TotalSeconds, 6);
        fields["msgs_per_s"] = Math.Round(summary.MessagesPerSecond, 1);
        fields["p50_us"] = Math.Round(summary.P50.TotalMicroseconds, 1);
        fields["p99_us"] = Math.Round(summary.P99.TotalMicroseconds, 1);
        var human = string.Create(CultureInfo.InvariantCulture,
            $"sent {summary.Sent}, acked {summary.Acked}{(request ? $", replied {summary.Replied}" : string.Empty)}, failed {summary.Failed}, retries {retries} " +
            $"in {summary.Elapsed.TotalSeconds:0.000} s: {summary.MessagesPerSecond:0} msg/s, p50 {summary.P50.TotalMicroseconds:0} µs, p99 {summary.P99.TotalMicroseconds:0} µs");
        output.Event("send", fields, human);
    }
}
