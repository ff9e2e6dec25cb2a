using System.CommandLine;
using PromiseGrid.Mesh.Identity;

namespace PromiseGrid.Mesh.Cli.Commands;

/// <summary><c>pgnode id [--key FILE]</c>: prints the node's PeerId, creating the key file if missing.</summary>
internal static class IdCommand
{
    public static Command Create()
    {
        var key = CommonOptions.Key($"Identity key file (default {Defaults.KeyFile}).");
        var command = new Command("id", "Print this node's PeerId (creates the identity key if missing).") { key };
        command.SetAction(parse =>
        {
            var output = CommonOptions.Output(parse);
            return CliErrors.RunAsync(output, () =>
            {
                var path = parse.GetValue(key) ?? Defaults.KeyFile;
                using var identity = IdentityKeyPair.LoadOrCreate(path);
                output.Event("id", new Dictionary<string, object?>
                {
                    ["peerId"] = identity.PeerId.ToString(),
                    ["cid"] = identity.PeerId.ToCidString(),
                    ["keyFile"] = Path.GetFullPath(path),
                }, identity.PeerId.ToString());
                return Task.FromResult(0);
            });
        });
        return command;
    }
}
