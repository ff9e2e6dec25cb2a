using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using PromiseGrid.Mesh.Host;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Cli.Commands;

/// <summary>One-shot client commands: dial a node, do one thing, print it, exit.</summary>
internal static class ClientCommands
{
    private static Argument<string> AddressArgument() => new("multiaddr")
    {
        Description = "Address of the remote node, ending in /p2p/<peer id>.",
    };

    public static Command Ping()
    {
        var address = AddressArgument();
        var count = new Option<int>("--count", "-c") { Description = "Number of pings.", DefaultValueFactory = _ => 4 };
        var key = CommonOptions.Key("Identity key file (default: a fresh key per run).");
        var command = new Command("ping", "Dial a node and ping it, printing each round-trip time.") { address, count, key };
        command.SetAction((parse, ct) => WithHostAsync(parse, address, key, ct, async (host, output, target, token) =>
        {
            var n = parse.GetValue(count);
            if (n < 1)
            {
                throw new CliUsageException("--count must be at least 1");
            }

            var connection = await DialAsync(host, output, target, token);
            var seq = 0;
            await foreach (var rtt in host.PingAsync(connection.RemotePeer, n, token))
            {
                seq++;
                output.Event("ping", new Dictionary<string, object?>
                {
                    ["peerId"] = connection.RemotePeer.ToString(),
                    ["seq"] = seq,
                    ["rtt_ms"] = Math.Round(rtt.TotalMilliseconds, 3),
                }, $"pong from {connection.RemotePeer}: seq={seq} time={rtt.TotalMilliseconds.ToString("0.000", CultureInfo.InvariantCulture)} ms");
            }

            return 0;
        }));
        return command;
    }

    public static Command Identify()
    {
        var address = AddressArgument();
        var key = CommonOptions.Key("Identity key file (default: a fresh key per run).");
        var command = new Command("identify", "Dial a node and print its agent version, protocols and listen addresses.") { address, key };
        command.SetAction((parse, ct) => WithHostAsync(parse, address, key, ct, async (host, output, target, token) =>
        {
            var connection = await DialAsync(host, output, target, token);
            var info = await host.IdentifyAsync(connection, token);
            var listenAddrs = info.ListenAddrs.Select(a => a.ToString()).ToList();
            output.Event("identify", new Dictionary<string, object?>
            {
                ["peerId"] = connection.RemotePeer.ToString(),
                ["protocolVersion"] = info.ProtocolVersion,
                ["agentVersion"] = info.AgentVersion,
                ["protocols"] = info.Protocols,
                ["listenAddrs"] = listenAddrs,
                ["observedAddr"] = info.ObservedAddr?.ToString(),
            }, $"peer id:          {connection.RemotePeer}\n" +
               $"agent version:    {info.AgentVersion}\n" +
               $"protocol version: {info.ProtocolVersion}\n" +
               $"protocols:        {string.Join(", ", info.Protocols)}\n" +
               $"listen addrs:     {string.Join(", ", listenAddrs)}\n" +
               $"observed addr:    {info.ObservedAddr}");
            return 0;
        }));
        return command;
    }

    public static Command Perf()
    {
        var address = AddressArgument();
        var upload = new Option<ulong>("--upload") { Description = "Bytes to send.", DefaultValueFactory = _ => 100UL << 20 };
        var download = new Option<ulong>("--download") { Description = "Bytes to receive.", DefaultValueFactory = _ => 100UL << 20 };
        var key = CommonOptions.Key("Identity key file (default: a fresh key per run).");
        var command = new Command("perf", "Measure throughput to a node with /perf/1.0.0.") { address, upload, download, key };
        command.SetAction((parse, ct) => WithHostAsync(parse, address, key, ct, async (host, output, target, token) =>
        {
            var connection = await DialAsync(host, output, target, token);
            var result = await host.PerfAsync(connection.RemotePeer, parse.GetValue(upload), parse.GetValue(download), token);
            var downloadTime = result.TotalTime - result.UploadTime;
            var mbpsUp = result.UploadBytesPerSecond * 8 / 1e6;
            var mbpsDown = result.DownloadBytesPerSecond * 8 / 1e6;
            output.Event("perf", new Dictionary<string, object?>
            {
                ["upload_bytes"] = result.Uploaded,
                ["download_bytes"] = result.Downloaded,
                ["seconds"] = Math.Round(result.TotalTime.TotalSeconds, 6),
                ["upload_seconds"] = Math.Round(result.UploadTime.TotalSeconds, 6),
                ["download_seconds"] = Math.Round(downloadTime.TotalSeconds, 6),
                ["mbps_up"] = Math.Round(mbpsUp, 1),
                ["mbps_down"] = Math.Round(mbpsDown, 1),
            }, string.Create(CultureInfo.InvariantCulture,
                $"uploaded {result.Uploaded} B, downloaded {result.Downloaded} B in {result.TotalTime.TotalSeconds:0.000} s: up {mbpsUp:0.0} Mbit/s, down {mbpsDown:0.0} Mbit/s"));
            return 0;
        }));
        return command;
    }

    private static async Task<PeerConnection> DialAsync(Libp2pHost host, CliOutput output, Multiaddr address, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var connection = await host.DialAsync(address, cancellationToken);
        var elapsed = Stopwatch.GetElapsedTime(started);
        output.Event("connected", new Dictionary<string, object?>
        {
            ["peerId"] = connection.RemotePeer.ToString(),
            ["addr"] = connection.RemoteAddress.ToString(),
            ["connect_ms"] = Math.Round(elapsed.TotalMilliseconds, 3),
        }, string.Create(CultureInfo.InvariantCulture, $"connected to {connection.RemotePeer} in {elapsed.TotalMilliseconds:0.0} ms"));
        return connection;
    }

    private static Task<int> WithHostAsync(
        ParseResult parse,
        Argument<string> addressArgument,
        Option<string?> key,
        CancellationToken cancellationToken,
        Func<Libp2pHost, CliOutput, Multiaddr, CancellationToken, Task<int>> body)
    {
        var output = CommonOptions.Output(parse);
        return CliErrors.RunAsync(output, async () =>
        {
            var address = CommonOptions.ParseAddress(parse.GetValue(addressArgument)!, requirePeerId: true);
            using var identity = CommonOptions.ClientIdentity(parse.GetValue(key));
            using var loggerFactory = CommonOptions.Logging(parse);
            using var stop = CommonOptions.CancelOnSignals(cancellationToken, out var signals);
            using (signals)
            {
                var host = new Libp2pHost(new Libp2pHostOptions { Identity = identity, LoggerFactory = loggerFactory });
                await using (host)
                {
                    await host.StartAsync(stop.Token);
                    return await body(host, output, address, stop.Token);
                }
            }
        });
    }
}
