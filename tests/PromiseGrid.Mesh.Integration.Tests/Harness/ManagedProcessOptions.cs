namespace PromiseGrid.Mesh.Integration.Tests.Harness;

/// <summary>How <see cref="ManagedProcess"/> starts and stops a child process.</summary>
public sealed record ManagedProcessOptions
{
    /// <summary>Defaults: no namespace, current directory, 3 s graceful stop, 10 s kill wait, 64 KiB stderr kept.</summary>
    public static ManagedProcessOptions Default { get; } = new();

    /// <summary>Short name used in failure messages; defaults to the executable's file name.</summary>
    public string? Name { get; init; }

    /// <summary>When set, the process runs as <c>ip netns exec &lt;NetworkNamespace&gt; …</c>. Default: none.</summary>
    public string? NetworkNamespace { get; init; }

    /// <summary>Working directory of the process. Default: the test's current directory.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Extra environment variables (a null value removes the variable). Default: none.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>
    /// On dispose, stdin is closed first and the process gets this long to exit by itself before
    /// its whole tree is killed. <see cref="TimeSpan.Zero"/> kills at once. Default: 3 s.
    /// </summary>
    public TimeSpan GracefulStopTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How long dispose waits for the killed process tree to exit. Default: 10 s.</summary>
    public TimeSpan KillTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How many trailing characters of stderr are kept for failure messages. Default: 64 Ki.</summary>
    public int MaxStderrChars { get; init; } = 64 * 1024;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> on a negative timeout or a non-positive stderr limit.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(GracefulStopTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(KillTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(MaxStderrChars, 0);
        if (NetworkNamespace is { Length: 0 })
        {
            throw new ArgumentException("NetworkNamespace must be null or a namespace name.", nameof(NetworkNamespace));
        }
    }
}
