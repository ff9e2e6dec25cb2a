using System.CommandLine;
using PromiseGrid.Mesh.Host;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Node;

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
        };
        var key = CommonOptions.Key("Identity key file (default <data-dir>/identity.key).");
        var dataDir = new Option<string?>("--data-dir") { Description = $"Node data directory: key and peer store (default {Defaults.DataDirectory})." };
        var mdns = new Option<bool>("--mdns") { Description = "Discover peers on the LAN by mDNS." };
        var mdnsInterface = new Option<string[]>("--mdns-interface")
        {
            Description = "Interface for mDNS (repeatable; default every up, multicast-capable, non-loopback interface).",
        };
        var bootstrap = new Option<string[]>("--bootstrap") { Description = "Bootstrap peer multiaddr ending in /p2p/<id> (repeatable)." };
        var noExchange = new Option<bool>("--no-peer-exchange") { Description = "Do not serve or use /promisegrid/pex/1.0.0." };
        var command = new Command("run", "Run a node until interrupted.") { listen, key, dataDir, mdns, mdnsInterface, bootstrap, noExchange };
        command.SetAction((parse, cancellationToken) =>
        {
            var output = CommonOptions.Output(parse);
            return CliErrors.RunAsync(output, async () =>
            {
                var addresses = (parse.GetValue(listen) is { Length: > 0 } given ? given : [Defaults.ListenAddress])
                    .Select(a => CommonOptions.ParseAddress(a, requirePeerId: false))
                    .ToList();
                var bootstrapPeers = (parse.GetValue(bootstrap) ?? [])
                    .Select(a => CommonOptions.ParseAddress(a, requirePeerId: true))
                    .ToList();
                var directory = parse.GetValue(dataDir) ?? Defaults.DataDirectory;
                using var identity = IdentityKeyPair.LoadOrCreate(parse.GetValue(key) ?? Path.Combine(directory, Defaults.KeyFileName));
                using var loggerFactory = CommonOptions.Logging(parse);
                using var stop = CommonOptions.CancelOnSignals(cancellationToken, out var signals);
                using (signals)
                {
                    var node = await MeshNode.StartAsync(new MeshNodeOptions
                    {
                        Identity = identity,
                        ListenAddresses = addresses,
                        DataDirectory = directory,
                        EnableMdns = parse.GetValue(mdns),
                        MdnsInterfaces = parse.GetValue(mdnsInterface) ?? [],
                        BootstrapPeers = bootstrapPeers,
                        EnablePeerExchange = !parse.GetValue(noExchange),
                        LoggerFactory = loggerFactory,
                    }, stop.Token);
                    await using (node)
                    {
                        var advertised = node.Host.ListenAddresses.Select(a => a.WithPeerId(node.PeerId).ToString()).ToList();
                        output.Event("listening", new Dictionary<string, object?>
                        {
                            ["peerId"] = node.PeerId.ToString(),
                            ["addrs"] = advertised,
                        }, $"peer id {node.PeerId}\n" + string.Join('\n', advertised.Select(a => "listening on " + a)));

                        await PrintEventsAsync(node, output, stop.Token);
                    }

                    output.Event("stopped", new Dictionary<string, object?> { ["peerId"] = identity.PeerId.ToString() }, "stopped");
                    return 0;
                }
            });
        });
        return command;
    }

    private static async Task PrintEventsAsync(MeshNode node, CliOutput output, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var item in node.Events.ReadAllAsync(cancellationToken))
            {
                if (item is MeshPeerDiscovered found)
                {
                    output.Event("peer:discovery", new Dictionary<string, object?>
                    {
                        ["peerId"] = found.Peer.ToString(),
                        ["addrs"] = found.Addresses.Select(a => a.ToString()).ToList(),
                        ["source"] = found.Source,
                    }, $"discovered {found.Peer} via {found.Source}: {string.Join(", ", found.Addresses)}");
                    continue;
                }

                switch (((MeshHostEvent)item).Event)
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
