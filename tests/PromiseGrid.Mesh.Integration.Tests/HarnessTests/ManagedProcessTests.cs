using PromiseGrid.Mesh.Integration.Tests.Harness;

namespace PromiseGrid.Mesh.Integration.Tests.HarnessTests;

public sealed class ManagedProcessTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static ManagedProcess Shell(string script, TimeSpan? graceful = null) =>
        ManagedProcess.Start("sh", ["-c", script], new ManagedProcessOptions
        {
            Name = "sh-test",
            GracefulStopTimeout = graceful ?? TimeSpan.Zero,
        });

    [Fact]
    public async Task WaitForEventAsync_EventAlreadyReceived_ReturnsIt()
    {
        await using var p = Shell("""echo 'not json'; echo '{"event":"a","n":1}'; echo '{"event":"b","n":2}'; exec sleep 60""");

        var b = await p.WaitForEventAsync(e => e.GetProperty("event").GetString() == "b", Timeout);
        var a = await p.WaitForEventAsync(e => e.GetProperty("event").GetString() == "a", Timeout);

        Assert.Equal(2, b.GetProperty("n").GetInt32());
        Assert.Equal(1, a.GetProperty("n").GetInt32());
        Assert.Equal(2, p.EventCount);
        Assert.Contains("not json", p.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WaitForEventAsync_FromIndexPastMatch_WaitsForNewerEvent()
    {
        await using var p = Shell("""echo '{"x":1}'; read line; echo '{"x":2}'; exec sleep 60""");
        await p.WaitForEventAsync(_ => true, Timeout);
        var mark = p.EventCount;

        var waiting = p.WaitForEventAsync(e => e.TryGetProperty("x", out _), Timeout, mark);
        await p.WriteLineAsync("go");
        var newer = await waiting;

        Assert.Equal(2, newer.GetProperty("x").GetInt32());
    }

    [Fact]
    public async Task WaitForTextLineAsync_PlainLines_MatchesOldAndNewLines()
    {
        await using var p = Shell("""echo 'starting up'; echo '{"event":"json"}'; read line; echo 'listening on 1234'; exec sleep 60""");
        var old = await p.WaitForTextLineAsync(l => l.StartsWith("starting", StringComparison.Ordinal), Timeout);

        var waiting = p.WaitForTextLineAsync(l => l.StartsWith("listening", StringComparison.Ordinal), Timeout);
        await p.WriteLineAsync("go");
        var fresh = await waiting;

        Assert.Equal("starting up", old);
        Assert.Equal("listening on 1234", fresh);
        Assert.Equal(1, p.EventCount);
    }

    [Fact]
    public async Task WaitForEventAsync_NoMatchBeforeTimeout_ThrowsTimeoutWithStderr()
    {
        await using var p = Shell("echo 'diagnostic-on-stderr' >&2; exec sleep 60");
        await WaitForStderrAsync(p, "diagnostic-on-stderr");

        var ex = await Assert.ThrowsAsync<TimeoutException>(
            () => p.WaitForEventAsync(_ => true, TimeSpan.FromMilliseconds(200)));

        Assert.Contains("diagnostic-on-stderr", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WaitForEventAsync_ProcessExitsFirst_ThrowsInvalidOperation()
    {
        await using var p = Shell("echo 'dying' >&2; exit 3");

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => p.WaitForEventAsync(_ => true, Timeout));

        Assert.Contains("closed stdout", ex.Message, StringComparison.Ordinal);
        Assert.Equal(3, await p.WaitForExitAsync(Timeout));
    }

    [Fact]
    public async Task DisposeAsync_ProcessWithChild_KillsWholeTree()
    {
        var p = Shell("""sleep 300 & echo "{\"child\":$!}"; wait""");
        var childPid = (await p.WaitForEventAsync(e => e.TryGetProperty("child", out _), Timeout)).GetProperty("child").GetInt32();
        Assert.True(IsRunning(childPid), "the child should run before dispose");

        await p.DisposeAsync().AsTask().WaitAsync(Timeout);

        Assert.True(p.HasExited);
        Assert.False(IsRunning(childPid), $"child {childPid} survived dispose");
    }

    [Fact]
    public async Task DisposeAsync_ProcessExitsOnStdinClose_StopsGracefully()
    {
        var p = Shell("cat > /dev/null; exit 0", graceful: TimeSpan.FromSeconds(5));

        await p.DisposeAsync().AsTask().WaitAsync(Timeout);
        await p.DisposeAsync().AsTask().WaitAsync(Timeout);

        Assert.Equal(0, p.ExitCode);
    }

    [Fact]
    public void Start_MissingExecutable_ThrowsWithName()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => ManagedProcess.Start("pgm-no-such-program", []));

        Assert.Contains("pgm-no-such-program", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NegativeGracefulTimeout_Throws()
    {
        var options = new ManagedProcessOptions { GracefulStopTimeout = TimeSpan.FromSeconds(-1) };

        Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
    }

    private static async Task WaitForStderrAsync(ManagedProcess p, string text)
    {
        // Stderr is read by its own loop; poll it briefly (a condition, not a fixed sleep).
        using var cts = new CancellationTokenSource(Timeout);
        while (!p.Stderr.Contains(text, StringComparison.Ordinal))
        {
            await Task.Delay(20, cts.Token);
        }
    }

    /// <summary>Running means /proc/pid exists and is not a zombie (an orphan nobody reaped yet).</summary>
    private static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state != "Z" && state != "X";
        }
        catch (IOException)
        {
            return false;
        }
    }
}
