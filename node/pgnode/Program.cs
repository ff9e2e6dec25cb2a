using System.CommandLine;
using PromiseGrid.Mesh.Cli;
using PromiseGrid.Mesh.Cli.Commands;

// pgnode: the PromiseGrid node executable. `pgnode run` is the daemon; the other commands are
// one-shot clients that dial a node, do one thing, print it and exit.
var root = new RootCommand("PromiseGrid.Mesh node: Mach-like message ports over a libp2p mesh.");
root.Options.Add(CommonOptions.Json);
root.Options.Add(CommonOptions.Verbose);
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(IdCommand.Create());
root.Subcommands.Add(ClientCommands.Ping());
root.Subcommands.Add(ClientCommands.Identify());
root.Subcommands.Add(ClientCommands.Perf());
root.Subcommands.Add(PeersCommand.Create());
root.Subcommands.Add(PortCommand.Create());

var parse = root.Parse(args);
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
