using System.CommandLine;
using PromiseGrid.Mesh.Cli;
using PromiseGrid.Mesh.Cli.Commands;

// pgnode: the PromiseGrid node executable. `pgnode run` is the daemon; the other commands are
// one-shot clients that dial a node, do one thing, print it and exit.
// Socket completions run on the socket engine's thread instead of being queued to the thread pool:
// receiving, decrypting and demultiplexing then take no thread hand-off (the stack above never
// blocks on that path). Read once by the runtime before the first socket is used; a value set in
// the environment wins.
const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
if (Environment.GetEnvironmentVariable(InlineCompletions) is null)
{
    Environment.SetEnvironmentVariable(InlineCompletions, "1");
}

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
