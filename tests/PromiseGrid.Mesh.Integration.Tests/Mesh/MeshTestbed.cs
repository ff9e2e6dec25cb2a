using System.Globalization;
using System.Text.Json;
using PromiseGrid.Mesh.Integration.Tests.Cli;
using PromiseGrid.Mesh.Integration.Tests.Harness;

namespace PromiseGrid.Mesh.Integration.Tests.Mesh;

/// <summary>
/// A mesh test's world: one or more <see cref="VirtualLan"/>s, a temporary directory holding every node's
/// key and data directory, and the pgnode processes started in the LAN's host namespaces.
/// <see cref="DisposeAsync"/> stops every process (also those still starting or already
/// stopped), deletes the LANs' namespaces and the directory; it is safe after a failed test and
/// idempotent.
/// </summary>
internal sealed class MeshTestbed : IAsyncDisposable
{
    /// <summary>Time for one pgnode to start and print <c>listening</c>.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("pgm-mesh-");
    private readonly Lock _gate = new();
    private readonly List<ManagedProcess> _processes = [];
    private readonly List<MeshNodeProcess> _nodes = [];
    private readonly List<VirtualLan> _lans = [];
    private Task? _disposeTask;

    /// <summary>The first LAN; throws before <see cref="CreateLanAsync"/>.</summary>
    public VirtualLan Lan
    {
        get
        {
            lock (_gate)
            {
                return _lans.Count > 0 ? _lans[0] : throw new InvalidOperationException("CreateLanAsync was not called.");
            }
        }
    }

    /// <summary>Creates a LAN of <paramref name="hostCount"/> hosts (10.77.0.1 … unless <paramref name="options"/> say otherwise).</summary>
    public async Task<VirtualLan> CreateLanAsync(int hostCount, VirtualLanOptions? options = null)
    {
        var lan = await VirtualLan.CreateAsync(hostCount, options).WaitAsync(StartTimeout);
        lock (_gate)
        {
            _lans.Add(lan);
        }

        return lan;
    }

    /// <summary>A fresh home (key file not created yet, empty data directory) for a node called <paramref name="name"/>.</summary>
    public MeshNodeHome CreateHome(string name)
    {
        var dir = _root.CreateSubdirectory(name);
        var data = dir.CreateSubdirectory("data");
        return new MeshNodeHome(name, Path.Combine(dir.FullName, "identity.key"), data.FullName);
    }

    /// <summary>Creates the home's key with <c>pgnode id --key</c> and returns its PeerId, before the node ever runs.</summary>
    public static async Task<string> CreateIdentityAsync(MeshNodeHome home)
    {
        var (code, events, stderr) = await PgnodeProcess.ExecAsync("id", "--key", home.KeyFile, "--json");
        Assert.True(code == 0, $"pgnode id failed with {code}: {stderr}");
        return MeshNodeProcess.StringProperty(Assert.Single(events), "peerId")
            ?? throw new InvalidOperationException("pgnode id printed no peerId.");
    }

    /// <summary>The <c>peer</c> lines of <c>pgnode peers --data-dir &lt;home&gt; --json</c>: the node's persisted peer store.</summary>
    public static async Task<IReadOnlyList<JsonElement>> ListStoredPeersAsync(MeshNodeHome home)
    {
        var (code, events, stderr) = await PgnodeProcess.ExecAsync("peers", "--data-dir", home.DataDirectory, "--json");
        Assert.True(code == 0, $"pgnode peers failed with {code}: {stderr}");
        return [.. events.Where(e => PgnodeProcess.Event(e) == "peer")];
    }

    /// <summary>Starts a node in host <paramref name="hostIndex"/> of the first LAN (see the other overload).</summary>
    public Task<MeshNodeProcess> StartNodeAsync(int hostIndex, MeshNodeHome home, params string[] extraArgs) =>
        StartNodeAsync(Lan.Hosts[hostIndex], home, extraArgs);

    /// <summary>
    /// Starts <c>pgnode run --json --key &lt;home&gt; --data-dir &lt;home&gt;</c> in <paramref name="host"/>,
    /// listening on <c>/ip4/&lt;host address&gt;/tcp/0</c> unless <paramref name="extraArgs"/> has <c>--listen</c>;
    /// returns once it printed <c>listening</c>.
    /// </summary>
    public async Task<MeshNodeProcess> StartNodeAsync(NetworkNamespace host, MeshNodeHome home, params string[] extraArgs)
    {
        ArgumentNullException.ThrowIfNull(host);
        var args = new List<string> { RepoPaths.RequirePgnodeBuilt(), "run", "--json", "--key", home.KeyFile, "--data-dir", home.DataDirectory };
        if (!extraArgs.Contains("--listen"))
        {
            args.AddRange(["--listen", $"/ip4/{host.Address}/tcp/0"]);
        }

        args.AddRange(extraArgs);
        var process = ManagedProcess.Start("dotnet", args, new ManagedProcessOptions { Name = home.Name, NetworkNamespace = host.Name });
        lock (_gate)
        {
            _processes.Add(process);
        }

        var listening = await process.WaitForEventAsync(e => PgnodeProcess.Event(e) == "listening", StartTimeout);
        var node = new MeshNodeProcess(
            home,
            host,
            process,
            MeshNodeProcess.StringProperty(listening, "peerId") ?? throw new InvalidOperationException($"{home.Name}: listening without peerId."),
            MeshNodeProcess.AddrsOf(listening));
        lock (_gate)
        {
            _nodes.Add(node);
        }

        return node;
    }

    /// <summary>Every node's events and stderr, for a failure message.</summary>
    public string DescribeAll()
    {
        lock (_gate)
        {
            return string.Join('\n', _nodes.Select(n => n.Describe()));
        }
    }

    /// <summary>Stops every process, deletes the namespaces and the directory. Idempotent.</summary>
    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposeTask ??= DisposeCoreAsync();
            return new ValueTask(_disposeTask);
        }
    }

    private static async Task StopAndDisposeAsync(ManagedProcess process)
    {
        if (!process.HasExited)
        {
            try
            {
                await IpCommand.RunAsync("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]);
            }
            catch (InvalidOperationException)
            {
                // Exited in between; the dispose below still runs.
            }
        }

        await process.DisposeAsync();
    }

    private async Task DisposeCoreAsync()
    {
        List<Exception> failures = [];
        ManagedProcess[] processes;
        lock (_gate)
        {
            processes = [.. _processes];
        }

        try
        {
            // SIGTERM first (pgnode does not stop on stdin EOF), so each dispose sees a clean exit instead of waiting
            // out its grace period; in parallel, since any of them may still have to be killed.
            await Task.WhenAll(processes.Select(StopAndDisposeAsync));
        }
        catch (Exception ex)
        {
            failures.Add(ex);
        }

        VirtualLan[] lans;
        lock (_gate)
        {
            lans = [.. _lans];
        }

        foreach (var lan in lans)
        {
            try
            {
                await lan.DisposeAsync();
            }
            catch (Exception ex)
            {
                failures.Add(ex);
            }
        }

        try
        {
            _root.Delete(recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            failures.Add(ex);
        }

        if (failures.Count > 0)
        {
            throw new AggregateException("The mesh testbed was not fully removed.", failures);
        }
    }
}
