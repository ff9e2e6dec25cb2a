using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using PromiseGrid.Mesh.Integration.Tests.Cli;
using PromiseGrid.Mesh.Integration.Tests.Harness;

namespace PromiseGrid.Mesh.Integration.Tests.Mesh;

/// <summary>Where one mesh node keeps its state between runs: its identity key file and its data directory (<c>peers.json</c>).</summary>
internal sealed record MeshNodeHome(string Name, string KeyFile, string DataDirectory)
{
    /// <summary>The node's persisted peer store.</summary>
    public string PeersFile => Path.Combine(DataDirectory, "peers.json");
}

/// <summary>
/// One running <c>pgnode run --json</c> inside a host namespace of a <see cref="VirtualLan"/>, with
/// waits for the mesh events it prints (<c>peer:discovery</c>, <c>peer:connect</c>). Every wait has
/// a timeout; a timeout message lists the events the node did print, for diagnosis.
/// Created and disposed by <see cref="MeshTestbed"/>.
/// </summary>
internal sealed class MeshNodeProcess
{
    private static readonly TimeSpan StderrPollInterval = TimeSpan.FromMilliseconds(100);

    public MeshNodeProcess(MeshNodeHome home, NetworkNamespace host, ManagedProcess process, string peerId, IReadOnlyList<string> addrs)
    {
        Home = home;
        Host = host;
        Process = process;
        PeerId = peerId;
        Addrs = addrs;
    }

    public string Name => Home.Name;

    public MeshNodeHome Home { get; }

    /// <summary>The namespace the node runs in.</summary>
    public NetworkNamespace Host { get; }

    public ManagedProcess Process { get; }

    /// <summary>PeerId from the <c>listening</c> event.</summary>
    public string PeerId { get; }

    /// <summary>Dialable addresses from the <c>listening</c> event (each ending in <c>/p2p/&lt;PeerId&gt;</c>).</summary>
    public IReadOnlyList<string> Addrs { get; }

    /// <summary>The first listen address on the host's LAN interface, with <c>/p2p/</c>.</summary>
    public string LanAddress => AddressOn(Host.Address ?? throw new InvalidOperationException($"{Name}: host has no LAN address."));

    /// <summary>The first listen address on IPv4 address <paramref name="ip"/>, with <c>/p2p/</c>.</summary>
    public string AddressOn(IPAddress ip) =>
        Addrs.FirstOrDefault(a => a.StartsWith($"/ip4/{ip}/tcp/", StringComparison.Ordinal))
        ?? throw new InvalidOperationException($"{Name} does not listen on {ip}: {string.Join(", ", Addrs)}");

    public static bool Is(JsonElement e, string eventName, string peerId) =>
        PgnodeProcess.Event(e) == eventName
        && e.TryGetProperty("peerId", out var p)
        && p.GetString() == peerId;

    public static string? StringProperty(JsonElement e, string name) =>
        e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;

    public static IReadOnlyList<string> AddrsOf(JsonElement e) =>
        e.TryGetProperty("addrs", out var a) && a.ValueKind == JsonValueKind.Array
            ? [.. a.EnumerateArray().Select(x => x.GetString() ?? string.Empty)]
            : [];

    /// <summary>Peers this node reported as discovered from <paramref name="source"/> so far.</summary>
    public IReadOnlySet<string> DiscoveredPeers(string source) =>
        Process.Events
            .Where(e => PgnodeProcess.Event(e) == "peer:discovery" && StringProperty(e, "source") == source)
            .Select(e => StringProperty(e, "peerId") ?? string.Empty)
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>Peers this node reported a <c>peer:connect</c> with so far.</summary>
    public IReadOnlySet<string> ConnectedPeers() =>
        Process.Events
            .Where(e => PgnodeProcess.Event(e) == "peer:connect")
            .Select(e => StringProperty(e, "peerId") ?? string.Empty)
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>Waits for <c>peer:discovery</c> of <paramref name="peer"/> with the given source.</summary>
    public Task<JsonElement> WaitForDiscoveryAsync(MeshNodeProcess peer, string source, TimeSpan timeout, int fromIndex = 0) =>
        WaitForDiscoveryAsync(peer.PeerId, source, timeout, fromIndex);

    /// <summary>Waits for <c>peer:discovery</c> of <paramref name="peerId"/> with the given source.</summary>
    public Task<JsonElement> WaitForDiscoveryAsync(string peerId, string source, TimeSpan timeout, int fromIndex = 0) =>
        WaitAsync(
            e => Is(e, "peer:discovery", peerId) && StringProperty(e, "source") == source,
            $"peer:discovery of {peerId} (source {source})",
            timeout,
            fromIndex);

    /// <summary>Waits for <c>peer:connect</c> with <paramref name="peer"/>.</summary>
    public Task<JsonElement> WaitForConnectAsync(MeshNodeProcess peer, TimeSpan timeout, int fromIndex = 0) =>
        WaitForConnectAsync(peer.PeerId, timeout, fromIndex);

    /// <summary>Waits for <c>peer:connect</c> with <paramref name="peerId"/>.</summary>
    public Task<JsonElement> WaitForConnectAsync(string peerId, TimeSpan timeout, int fromIndex = 0) =>
        WaitAsync(e => Is(e, "peer:connect", peerId), $"peer:connect with {peerId}", timeout, fromIndex);

    /// <summary>Waits for <c>peer:identify</c> of <paramref name="peer"/>.</summary>
    public Task<JsonElement> WaitForIdentifyAsync(MeshNodeProcess peer, TimeSpan timeout, int fromIndex = 0) =>
        WaitAsync(e => Is(e, "peer:identify", peer.PeerId), $"peer:identify of {peer.PeerId}", timeout, fromIndex);

    /// <summary>
    /// Waits until the node's stderr (its warning log) contains <paramref name="text"/>, checking every 100 ms.
    /// Used only where a log line is the one outward sign of a condition (a failed dial).
    /// </summary>
    public async Task WaitForStderrAsync(string text, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (!Process.Stderr.Contains(text, StringComparison.Ordinal))
        {
            if (Process.HasExited || deadline.IsCancellationRequested)
            {
                throw new TimeoutException(
                    $"{Name}: stderr did not mention '{text}' within {timeout}.\n{Describe()}");
            }

            try
            {
                await Task.Delay(StderrPollInterval, deadline.Token);
            }
            catch (OperationCanceledException)
            {
                // Checked once more at the top of the loop.
            }
        }
    }

    /// <summary>Stops the node the way an operator does (SIGTERM) and waits for it to exit; returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        // `ip netns exec` execs its command, so the pid is pgnode's own.
        await IpCommand.RunAsync("kill", ["-TERM", Process.Id.ToString(CultureInfo.InvariantCulture)]);
        return await Process.WaitForExitAsync(timeout);
    }

    /// <summary>The node's name, PeerId, address, every event it printed (one line each) and its stderr tail.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"=== {Name} {PeerId} on {Host.Name} ({Host.Address}) ===\n");
        foreach (var e in Process.Events)
        {
            text.Append("  ").Append(e.GetRawText()).Append('\n');
        }

        text.Append(Process.Describe());
        return text.ToString();
    }

    private async Task<JsonElement> WaitAsync(Func<JsonElement, bool> predicate, string what, TimeSpan timeout, int fromIndex)
    {
        try
        {
            return await Process.WaitForEventAsync(predicate, timeout, fromIndex);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Name} did not print {what} within {timeout}.\n{Describe()}");
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException($"{Name} stopped before printing {what}: {ex.Message}\n{Describe()}", ex);
        }
    }
}
