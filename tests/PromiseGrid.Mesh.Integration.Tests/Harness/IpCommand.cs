using System.Diagnostics;

namespace PromiseGrid.Mesh.Integration.Tests.Harness;

/// <summary>Runs iproute2's <c>ip</c> (and other short commands) to completion, with a timeout and the output kept for errors.</summary>
public static class IpCommand
{
    /// <summary>Time allowed for one short command. </summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    private static readonly Lazy<Task> Availability = new(() => CheckAvailableAsync(CancellationToken.None));

    /// <summary>Throws with a clear message unless the process is root and <c>ip</c> runs (checked once per test run).</summary>
    public static Task EnsureAvailableAsync(CancellationToken cancellationToken = default) =>
        Availability.Value.WaitAsync(cancellationToken);

    private static async Task CheckAvailableAsync(CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new InvalidOperationException("Network-namespace tests need Linux (ip netns).");
        }

        if (!Environment.IsPrivilegedProcess)
        {
            throw new InvalidOperationException(
                "Network-namespace tests need root (CAP_NET_ADMIN, CAP_SYS_ADMIN): run the tests as root.");
        }

        try
        {
            await RunAsync("ip", ["-V"], cancellationToken: cancellationToken);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException(
                "Network-namespace tests need iproute2's `ip` on PATH (apt-get install iproute2).", ex);
        }
    }

    /// <summary>Runs <c>ip &lt;arguments&gt;</c>; returns stdout, throws <see cref="InvalidOperationException"/> with stderr on a non-zero exit.</summary>
    public static Task<string> IpAsync(params string[] arguments) => RunAsync("ip", arguments);

    /// <summary>Runs a command to completion; returns stdout, throws <see cref="InvalidOperationException"/> on failure or timeout.</summary>
    public static async Task<string> RunAsync(
        string fileName, IReadOnlyList<string> arguments, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var a in arguments)
        {
            psi.ArgumentList.Add(a);
        }

        var commandLine = $"{fileName} {string.Join(' ', arguments)}";
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {commandLine}.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"Could not start {commandLine}: {ex.Message}", ex);
        }

        using (process)
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            try
            {
                await process.WaitForExitAsync(cancellationToken).WaitAsync(timeout ?? DefaultTimeout, cancellationToken);
            }
            catch (TimeoutException)
            {
                process.Kill(entireProcessTree: true);
                throw new InvalidOperationException($"`{commandLine}` did not finish within {timeout ?? DefaultTimeout}.");
            }

            var output = await stdout;
            var errors = await stderr;
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"`{commandLine}` failed with exit code {process.ExitCode}: {errors.Trim()}");
            }

            return output;
        }
    }
}
