using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;

namespace PromiseGrid.Mesh.Integration.Tests.Harness;

/// <summary>
/// A Linux network namespace created for one test, named <c>pgm-&lt;pid&gt;-&lt;random&gt;-&lt;role&gt;</c>
/// so that <see cref="CleanupStaleAsync"/> can tell namespaces of crashed runs (creator pid gone)
/// from those of test runs still going on. <see cref="DisposeAsync"/> kills what still runs inside
/// and deletes it; a process-exit hook deletes whatever a test run left behind.
/// </summary>
public sealed class NetworkNamespace : IAsyncDisposable
{
    /// <summary>Prefix of every namespace the harness creates.</summary>
    public const string NamePrefix = "pgm-";

    private static readonly ConcurrentDictionary<string, byte> Live = new();
    private static int _exitHookInstalled;

    private readonly Lock _gate = new();
    private Task? _disposeTask;

    private NetworkNamespace(string name) => Name = name;

    /// <summary>The namespace's name (as in <c>ip netns list</c>).</summary>
    public string Name { get; }

    /// <summary>Its interface on a <see cref="VirtualLan"/>, if attached.</summary>
    public string? InterfaceName { get; internal set; }

    /// <summary>Its IPv4 address on a <see cref="VirtualLan"/>, if attached.</summary>
    public IPAddress? Address { get; internal set; }

    /// <summary>Command prefix that runs a program inside: <c>ip netns exec &lt;Name&gt;</c>.</summary>
    public IReadOnlyList<string> ExecPrefix => ["ip", "netns", "exec", Name];

    /// <summary>Creates a namespace with <c>lo</c> up. Needs root and <c>ip</c> (see <see cref="IpCommand.EnsureAvailableAsync"/>).</summary>
    public static async Task<NetworkNamespace> CreateAsync(string role, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(role);
        await IpCommand.EnsureAvailableAsync(cancellationToken);
        InstallExitHook();
        var name = $"{NamePrefix}{Environment.ProcessId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}-{role}";
        await IpCommand.RunAsync("ip", ["netns", "add", name], cancellationToken: cancellationToken);
        var ns = new NetworkNamespace(name);
        Live[name] = 0;
        try
        {
            await ns.IpAsync(cancellationToken, "link", "set", "lo", "up");
        }
        catch
        {
            await ns.DisposeAsync();
            throw;
        }

        return ns;
    }

    /// <summary>Runs <c>ip -n &lt;Name&gt; &lt;arguments&gt;</c> and returns its stdout.</summary>
    public Task<string> IpAsync(CancellationToken cancellationToken, params string[] arguments) =>
        IpCommand.RunAsync("ip", ["-n", Name, .. arguments], cancellationToken: cancellationToken);

    /// <summary>Runs a short command inside the namespace and returns its stdout.</summary>
    public Task<string> ExecAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken = default) =>
        IpCommand.RunAsync("ip", ["netns", "exec", Name, fileName, .. arguments], cancellationToken: cancellationToken);

    /// <summary>Names of all namespaces on the machine.</summary>
    public static async Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken = default)
    {
        var text = await IpCommand.RunAsync("ip", ["netns", "list"], cancellationToken: cancellationToken);
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(l => l.Split(' ')[0])];
    }

    /// <summary>
    /// Deletes <c>pgm-*</c> namespaces whose creating process no longer runs (left by crashed or killed
    /// test runs), after killing what still runs inside them. Namespaces of live runs are left alone.
    /// Returns the names deleted.
    /// </summary>
    public static async Task<IReadOnlyList<string>> CleanupStaleAsync(CancellationToken cancellationToken = default)
    {
        List<string> deleted = [];
        foreach (var name in await ListAsync(cancellationToken))
        {
            if (!IsStale(name))
            {
                continue;
            }

            await KillProcessesInsideAsync(name, cancellationToken);
            try
            {
                await IpCommand.RunAsync("ip", ["netns", "del", name], cancellationToken: cancellationToken);
                deleted.Add(name);
            }
            catch (InvalidOperationException)
            {
                // Raced with another cleanup.
            }
        }

        return deleted;
    }

    /// <summary>True for a harness namespace name whose creator pid is not a running process.</summary>
    public static bool IsStale(string name)
    {
        if (!name.StartsWith(NamePrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var parts = name.Split('-');
        if (parts.Length < 3 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            return false;
        }

        return !Directory.Exists($"/proc/{pid}");
    }

    /// <summary>Kills whatever still runs inside, then deletes the namespace (and with it its veth ends). Idempotent.</summary>
    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposeTask ??= DisposeCoreAsync();
            return new ValueTask(_disposeTask);
        }
    }

    private async Task DisposeCoreAsync()
    {
        await KillProcessesInsideAsync(Name, CancellationToken.None);
        await IpCommand.RunAsync("ip", ["netns", "del", Name]);
        Live.TryRemove(Name, out _);
    }

    private static async Task KillProcessesInsideAsync(string name, CancellationToken cancellationToken)
    {
        string pids;
        try
        {
            pids = await IpCommand.RunAsync("ip", ["netns", "pids", name], cancellationToken: cancellationToken);
        }
        catch (InvalidOperationException)
        {
            return;
        }

        foreach (var line in pids.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                using var p = Process.GetProcessById(pid);
                p.Kill(entireProcessTree: true);
                await p.WaitForExitAsync(cancellationToken).WaitAsync(IpCommand.DefaultTimeout, cancellationToken);
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
            catch (InvalidOperationException)
            {
                // Exited in between.
            }
        }
    }

    private static void InstallExitHook()
    {
        if (Interlocked.Exchange(ref _exitHookInstalled, 1) == 1)
        {
            return;
        }

        // Safety net for runs that end without disposing (a hung test killed by the runner, Ctrl-C).
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var name in Live.Keys)
            {
                try
                {
                    using var p = Process.Start(new ProcessStartInfo("ip", ["netns", "del", name]) { UseShellExecute = false });
                    p?.WaitForExit(5000);
                }
                catch (Exception)
                {
                    // Best effort; CleanupStaleAsync catches the rest next run.
                }
            }
        };
    }
}
