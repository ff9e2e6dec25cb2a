using System.Text.Json;
using PromiseGrid.Mesh.Integration.Tests.Cli;
using PromiseGrid.Mesh.Integration.Tests.Harness;

namespace PromiseGrid.Mesh.Integration.Tests.Ports;

/// <summary>A running <c>pgnode port serve --json</c>: its port reference, addresses and the messages it printed.</summary>
internal sealed class PortServe : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private PortServe(ManagedProcess process, JsonElement port)
    {
        Process = process;
        Ref = port.GetProperty("ref").GetString()!;
        Addrs = [.. port.GetProperty("addrs").EnumerateArray().Select(a => a.GetString()!)];
        PeerId = Ref.Split('/')[2];
    }

    public ManagedProcess Process { get; }

    /// <summary>The published port, <c>/p2p/&lt;id&gt;/port/&lt;id&gt;</c>.</summary>
    public string Ref { get; }

    /// <summary>The node's listen addresses, each ending in <c>/p2p/&lt;id&gt;</c>.</summary>
    public IReadOnlyList<string> Addrs { get; }

    public string PeerId { get; }

    /// <summary>The <c>message</c> lines printed so far, in order.</summary>
    public IReadOnlyList<JsonElement> Messages => [.. Process.Events.Where(e => PgnodeProcess.Event(e) == "message")];

    /// <summary>Message ids printed so far, in order.</summary>
    public IReadOnlyList<int> MessageIds => [.. Messages.Select(m => m.GetProperty("id").GetInt32())];

    /// <summary>
    /// Starts <c>pgnode port serve --json --name NAME --key KEY</c> (listening on 127.0.0.1, any port,
    /// unless <paramref name="listen"/> says otherwise) and waits for its <c>port</c> line. Disposing
    /// kills it at once (serve stops on signals, not on stdin EOF).
    /// </summary>
    public static async Task<PortServe> StartAsync(string keyFile, string name = "test", string listen = "/ip4/127.0.0.1/tcp/0", params string[] extraArgs)
    {
        var process = ManagedProcess.Start(
            "dotnet",
            [RepoPaths.RequirePgnodeBuilt(), "port", "serve", "--json", "--name", name, "--key", keyFile, "--listen", listen, .. extraArgs],
            new ManagedProcessOptions { Name = "pgnode-port-serve", GracefulStopTimeout = TimeSpan.Zero });
        try
        {
            var port = await process.WaitForEventAsync(e => PgnodeProcess.Event(e) == "port", StartTimeout);
            return new PortServe(process, port);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until a message with id at least <paramref name="id"/> has been printed.</summary>
    public Task<JsonElement> WaitForMessageAsync(int id, TimeSpan timeout) =>
        Process.WaitForEventAsync(e => PgnodeProcess.Event(e) == "message" && e.GetProperty("id").GetInt32() >= id, timeout);

    /// <summary>Kills the process by id (SIGKILL) and waits for it and its output to end.</summary>
    public ValueTask DisposeAsync() => Process.DisposeAsync();
}

/// <summary>Runs <c>pgnode port send --json</c>.</summary>
internal static class PortSend
{
    public static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(180);

    /// <summary>Starts <c>pgnode port send REF --peer PEER --json …</c> without waiting for it.</summary>
    public static ManagedProcess Start(string portRef, string peer, params string[] extraArgs) =>
        ManagedProcess.Start(
            "dotnet",
            [RepoPaths.RequirePgnodeBuilt(), "port", "send", portRef, "--peer", peer, "--json", .. extraArgs],
            new ManagedProcessOptions { Name = "pgnode-port-send", GracefulStopTimeout = TimeSpan.Zero });

    /// <summary>Runs a send to completion.</summary>
    public static async Task<PortSendResult> RunAsync(string portRef, string peer, params string[] extraArgs)
    {
        await using var process = Start(portRef, peer, extraArgs);
        return await WaitAsync(process);
    }

    /// <summary>Waits for a started send to exit and collects what it printed.</summary>
    public static async Task<PortSendResult> WaitAsync(ManagedProcess process)
    {
        var code = await process.WaitForExitAsync(RunTimeout);
        return new PortSendResult(code, process.Events, process.Stderr, process.Describe());
    }
}

/// <summary>What a <c>pgnode port send --json</c> printed.</summary>
internal sealed record PortSendResult(int ExitCode, IReadOnlyList<JsonElement> Events, string Stderr, string Description)
{
    /// <summary>The <c>send</c> summary line (there must be exactly one).</summary>
    public JsonElement Summary => Assert.Single(Events, e => PgnodeProcess.Event(e) == "send");

    /// <summary>The <c>send:error</c> lines.</summary>
    public IReadOnlyList<JsonElement> Errors => [.. Events.Where(e => PgnodeProcess.Event(e) == "send:error")];

    public long Field(string name) => Summary.GetProperty(name).GetInt64();

    /// <summary>The stderr lines (logs and the error line of a failed command).</summary>
    public IReadOnlyList<string> StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
