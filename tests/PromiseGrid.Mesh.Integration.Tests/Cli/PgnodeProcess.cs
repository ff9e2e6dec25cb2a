using System.Text.Json;
using PromiseGrid.Mesh.Integration.Tests.Harness;

namespace PromiseGrid.Mesh.Integration.Tests.Cli;

/// <summary>Runs the built pgnode (<c>dotnet pgnode.dll …</c>) as a real process.</summary>
internal static class PgnodeProcess
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Starts <c>pgnode run --json</c> with a key in <paramref name="home"/>; returns once it printed <c>listening</c>.</summary>
    public static async Task<(ManagedProcess Process, string PeerId, IReadOnlyList<string> Addrs)> RunAsync(
        string home, IEnumerable<string>? extraArgs = null, ManagedProcessOptions? options = null)
    {
        var args = new List<string> { RepoPaths.RequirePgnodeBuilt(), "run", "--json", "--key", Path.Combine(home, "identity.key") };
        if (extraArgs is null || !extraArgs.Contains("--listen"))
        {
            args.AddRange(["--listen", "/ip4/127.0.0.1/tcp/0"]);
        }

        args.AddRange(extraArgs ?? []);
        var process = ManagedProcess.Start("dotnet", args, (options ?? new ManagedProcessOptions()) with { Name = "pgnode-run" });
        try
        {
            var listening = await process.WaitForEventAsync(e => Event(e) == "listening", StartTimeout);
            var addrs = listening.GetProperty("addrs").EnumerateArray().Select(a => a.GetString()!).ToList();
            return (process, listening.GetProperty("peerId").GetString()!, addrs);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs a one-shot pgnode command to completion; returns its exit code, JSON lines and stderr.</summary>
    public static async Task<(int ExitCode, IReadOnlyList<JsonElement> Events, string Stderr)> ExecAsync(params string[] args)
    {
        var process = ManagedProcess.Start("dotnet", [RepoPaths.RequirePgnodeBuilt(), .. args], new ManagedProcessOptions { Name = "pgnode-" + args[0] });
        await using (process)
        {
            var code = await process.WaitForExitAsync(TimeSpan.FromSeconds(120));
            return (code, process.Events, process.Stderr);
        }
    }

    public static string? Event(JsonElement e) => e.TryGetProperty("event", out var name) ? name.GetString() : null;
}
