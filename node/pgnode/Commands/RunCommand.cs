using System.CommandLine;
using PromiseGrid.Mesh.Host;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Cli.Commands;

/// <summary>
/// <c>pgnode run</c>: the node daemon. Listens, serves identify, ping, perf and echo, prints
/// <c>listening</c> first and then connection events, and shuts down cleanly on SIGINT/SIGTERM.
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var listen = new Option<string[]>("--listen", "-l")
        {
            Description = $"Listen multiaddr (repeatable; default {Defaults.ListenAddress}).",
            AllowMultipleArgumentsPerToken = false,
        };
        var key = CommonOptions.Key($"Identity key file (default {Defaults.KeyFile}).");
        var command = new Command("run", "Run a node until interrupted.") { listen, key };
        command.SetAction((parse, cancellationToken) =>
        {
            var output = CommonOptions.Output(parse);
            return CliErrors.RunAsync(output, async () =>
            {
                var addresses = (parse.GetValue(listen) is { Length: > 0 } given ? given : [Defaults.ListenAddress])
                    .Select(a => CommonOptions.ParseAddress(a, requirePeerId: false))
                    .ToList();
                using var identity = IdentityKeyPair.LoadOrCreate(parse.GetValue(key) ?? Defaults.KeyFile);
                using var loggerFactory = CommonOptions.Logging(parse);
                using var stop = CommonOptions.CancelOnSignals(cancellationToken, out var signals);
                using (signals)
                {
                    var host = new Libp2pHost(new Libp2pHostOptions
                    {
                        Identity = identity,
                        ListenAddresses = addresses,
                        EnablePing = true,
                        EnablePerf = true,
                        EnableEcho = true,
                        LoggerFactory = loggerFactory,
                    });
                    await using (host)
                    {
                        await host.StartAsync(stop.Token);
                        var advertised = host.ListenAddresses.Select(a => a.WithPeerId(host.PeerId).ToString()).ToList();
                        output.Event("listening", new Dictionary<string, object?>
                        {
                            ["peerId"] = host.PeerId.ToString(),
                            ["addrs"] = advertised,
                        }, $"peer id {host.PeerId}\n" + string.Join('\n', advertised.Select(a => "listening on " + a)));

                        await PrintEventsAsync(host, output, stop.Token);
                    }

                    output.Event("stopped", new Dictionary<string, object?> { ["peerId"] = identity.PeerId.ToString() }, "stopped");
                    return 0;
                }
            });
        });
        return command;
    }

    private static async Task PrintEventsAsync(Libp2pHost host, CliOutput output, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var e in host.Events.ReadAllAsync(cancellationToken))
            {
                switch (e)
                {
                    case PeerConnected c:
                        output.Event("peer:connect", new Dictionary<string, object?>
                        {
                            ["peerId"] = c.Peer.ToString(),
                            ["addr"] = c.Connection.RemoteAddress.ToString(),
                            ["direction"] = c.Connection.Direction.ToString().ToLowerInvariant(),
                        }, $"connected {c.Peer} at {c.Connection.RemoteAddress} ({c.Connection.Direction})");
                        break;
                    case PeerDisconnected d:
                        output.Event("peer:disconnect", new Dictionary<string, object?>
                        {
                            ["peerId"] = d.Peer.ToString(),
                            ["reason"] = d.Reason?.Message,
                        }, $"disconnected {d.Peer}" + (d.Reason is null ? string.Empty : $": {d.Reason.Message}"));
                        break;
                    case PeerIdentified i:
                        output.Event("peer:identify", new Dictionary<string, object?>
                        {
                            ["peerId"] = i.Peer.ToString(),
                            ["agentVersion"] = i.Info.AgentVersion,
                            ["protocols"] = i.Info.Protocols,
                            ["listenAddrs"] = i.Info.ListenAddrs.Select(a => a.ToString()).ToList(),
                        }, $"identified {i.Peer}: {i.Info.AgentVersion}");
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // SIGINT/SIGTERM: fall through to a clean shutdown.
        }
    }
}
