using System.CommandLine;
using System.Globalization;
using PromiseGrid.Mesh.Discovery;

namespace PromiseGrid.Mesh.Cli.Commands;

/// <summary>
/// <c>pgnode peers [--data-dir DIR]</c>: the peers a node knows, from its persisted peer store
/// (a running node rewrites it within a second of every change), most recently seen first.
/// </summary>
internal static class PeersCommand
{
    public static Command Create()
    {
        var dataDir = new Option<string?>("--data-dir") { Description = $"Node data directory (default {Defaults.DataDirectory})." };
        var command = new Command("peers", "List the peers this node knows, with addresses, sources and last-seen times.") { dataDir };
        command.SetAction((parse, cancellationToken) =>
        {
            var output = CommonOptions.Output(parse);
            return CliErrors.RunAsync(output, async () =>
            {
                var directory = parse.GetValue(dataDir) ?? Defaults.DataDirectory;
                var store = await PeerStore.LoadAsync(new PeerStoreOptions { DataDirectory = directory }, cancellationToken);
                foreach (var peer in store.GetAll().OrderByDescending(p => p.LastSeen))
                {
                    output.Event("peer", new Dictionary<string, object?>
                    {
                        ["peerId"] = peer.PeerId.ToString(),
                        ["agentVersion"] = peer.AgentVersion,
                        ["lastSeen"] = peer.LastSeen.ToString("O", CultureInfo.InvariantCulture),
                        ["addrs"] = peer.Addresses.Select(a => new Dictionary<string, object?>
                        {
                            ["addr"] = a.Address.ToString(),
                            ["source"] = a.Source,
                            ["lastSeen"] = a.LastSeen.ToString("O", CultureInfo.InvariantCulture),
                        }).ToList(),
                        ["protocols"] = peer.Protocols,
                    }, $"{peer.PeerId}  {peer.AgentVersion ?? "(agent unknown)"}  last seen {peer.LastSeen:u}\n" +
                       string.Join('\n', peer.Addresses.Select(a => $"    {a.Address}  ({a.Source}, {a.LastSeen:u})")));
                }

                output.Event("peers", new Dictionary<string, object?> { ["count"] = store.Count }, $"{store.Count} known peer(s)");
                return 0;
            });
        });
        return command;
    }
}
