using System.Diagnostics;
using System.Security.Cryptography;

namespace PromiseGrid.Mesh.Discovery.Tests.Testing;

/// <summary>
/// A network namespace this test creates (<c>ip netns add pgm-…</c>) with <c>lo</c> up; deleted on
/// dispose. mDNS tests run only inside such namespaces, never on the machine's own interfaces.
/// </summary>
internal sealed class NetworkNamespace : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(20);

    private NetworkNamespace(string name) => Name = name;

    public string Name { get; }

    /// <summary>Creates the namespace, brings <c>lo</c> up and routes multicast to <c>lo</c>.</summary>
    public static async Task<NetworkNamespace> CreateAsync(bool multicastOnLoopback)
    {
        var ns = new NetworkNamespace("pgm-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant());
        await RunAsync("ip", "netns", "add", ns.Name);
        try
        {
            await ns.ExecAsync("ip", "link", "set", "lo", "up");
            if (multicastOnLoopback)
            {
                await ns.ExecAsync("ip", "route", "add", "224.0.0.0/4", "dev", "lo");
            }
        }
        catch
        {
            await ns.DisposeAsync();
            throw;
        }

        return ns;
    }

    /// <summary>
    /// A veth pair between two namespaces, created inside <paramref name="a"/> so it never exists in
    /// the root namespace, with <paramref name="addressA"/>/<paramref name="addressB"/> (/24) and a
    /// multicast route on each end.
    /// </summary>
    public static async Task ConnectAsync(NetworkNamespace a, string nameA, string addressA, NetworkNamespace b, string nameB, string addressB)
    {
        await RunAsync("ip", "-n", a.Name, "link", "add", nameA, "type", "veth", "peer", "name", nameB, "netns", b.Name);
        foreach (var (ns, name, address) in new[] { (a, nameA, addressA), (b, nameB, addressB) })
        {
            await ns.ExecAsync("ip", "addr", "add", address + "/24", "dev", name);
            await ns.ExecAsync("ip", "link", "set", name, "up");
            await ns.ExecAsync("ip", "route", "add", "224.0.0.0/4", "dev", name);
        }
    }

    public Task ExecAsync(params string[] command) => RunAsync("ip", ["netns", "exec", Name, .. command]);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunAsync("ip", "netns", "delete", Name);
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    internal static async Task RunAsync(string file, params string[] arguments)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {file}");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(CommandTimeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        await Task.WhenAll(stderr, stdout).WaitAsync(CommandTimeout);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed ({process.ExitCode}): {stderr.Result}");
        }
    }
}
