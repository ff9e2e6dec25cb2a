using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace PromiseGrid.Mesh.Integration.Tests.Harness;

/// <summary>
/// A child process for multi-process tests. Every stdout line that is a JSON object is appended to
/// an event log (other lines are kept as text); <see cref="WaitForEventAsync"/> finds an event
/// already received or waits for one, always with a timeout. Stderr is kept for failure messages.
/// <see cref="DisposeAsync"/> closes stdin, gives the process a moment to exit, then kills its whole
/// tree by id and awaits its exit and the read loops.
/// </summary>
public sealed partial class ManagedProcess : IAsyncDisposable
{
    private const int MaxTextLinesKept = 10_000;
    private const int TextLinesDescribed = 50;

    private readonly Process _process;
    private readonly ManagedProcessOptions _options;
    private readonly Lock _gate = new();
    private readonly List<JsonElement> _events = [];
    private readonly List<string> _textLines = [];
    private readonly List<Waiter<JsonElement>> _waiters = [];
    private readonly List<Waiter<string>> _textWaiters = [];
    private readonly StringBuilder _stderr = new();
    private readonly SemaphoreSlim _stdinLock = new(1, 1);
    private static readonly TimeSpan ReaderDrainTimeout = TimeSpan.FromSeconds(5);

    private readonly Task _stdoutLoop;
    private readonly Task _stderrLoop;
    private bool _stdoutEnded;
    private int? _exitCodeAfterDispose;
    private Task? _disposeTask;

    private ManagedProcess(Process process, ManagedProcessOptions options, string name)
    {
        _process = process;
        _options = options;
        Name = name;
        Id = process.Id;
        _stdoutLoop = ReadStdoutAsync();
        _stderrLoop = ReadStderrAsync();
    }

    /// <summary>Name used in messages.</summary>
    public string Name { get; }

    /// <summary>Operating-system process id.</summary>
    public int Id { get; }

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => ExitCode is not null;

    /// <summary>Exit code, or null while running (kept after dispose).</summary>
    public int? ExitCode
    {
        get
        {
            if (_exitCodeAfterDispose is { } code)
            {
                return code;
            }

            try
            {
                return _process.HasExited ? _process.ExitCode : null;
            }
            catch (InvalidOperationException)
            {
                // Disposed between the two reads.
                return _exitCodeAfterDispose;
            }
        }
    }

    /// <summary>Number of JSON events received so far; pass it as <c>fromIndex</c> to wait only for newer ones.</summary>
    public int EventCount
    {
        get
        {
            lock (_gate)
            {
                return _events.Count;
            }
        }
    }

    /// <summary>Snapshot of every JSON event received so far, in order.</summary>
    public IReadOnlyList<JsonElement> Events
    {
        get
        {
            lock (_gate)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>The trailing part of stderr received so far.</summary>
    public string Stderr
    {
        get
        {
            lock (_gate)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="arguments"/> (under <c>ip netns exec</c> when a namespace is set).</summary>
    public static ManagedProcess Start(string fileName, IEnumerable<string> arguments, ManagedProcessOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        options ??= ManagedProcessOptions.Default;
        options.Validate();

        var psi = new ProcessStartInfo
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = options.WorkingDirectory ?? string.Empty,
        };
        if (options.NetworkNamespace is { } ns)
        {
            psi.FileName = "ip";
            foreach (var a in (string[])["netns", "exec", ns, fileName])
            {
                psi.ArgumentList.Add(a);
            }
        }
        else
        {
            psi.FileName = fileName;
        }

        foreach (var a in arguments)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (key, value) in options.Environment)
        {
            if (value is null)
            {
                psi.Environment.Remove(key);
            }
            else
            {
                psi.Environment[key] = value;
            }
        }

        var name = options.Name ?? Path.GetFileName(fileName);
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException($"{name}: Process.Start returned no process.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException(
                $"Cannot start {psi.FileName} ({string.Join(' ', psi.ArgumentList)}): {ex.Message}. Is it installed and on PATH?", ex);
        }

        return new ManagedProcess(process, options, name);
    }

    /// <summary>
    /// Returns the first event at or after <paramref name="fromIndex"/> matching <paramref name="predicate"/>,
    /// waiting up to <paramref name="timeout"/> for it. Throws <see cref="TimeoutException"/> on timeout and
    /// <see cref="InvalidOperationException"/> if stdout ends first; both messages carry the process's stderr.
    /// </summary>
    public async Task<JsonElement> WaitForEventAsync(
        Func<JsonElement, bool> predicate, TimeSpan timeout, int fromIndex = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        Waiter<JsonElement> waiter;
        lock (_gate)
        {
            for (var i = Math.Max(0, fromIndex); i < _events.Count; i++)
            {
                if (predicate(_events[i]))
                {
                    return _events[i];
                }
            }

            if (_stdoutEnded)
            {
                throw new InvalidOperationException($"{Name} closed stdout before the awaited event arrived.\n{Describe()}");
            }

            waiter = new Waiter<JsonElement>(predicate);
            _waiters.Add(waiter);
        }

        try
        {
            return await waiter.Completion.Task.WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Name}: the awaited event did not arrive within {timeout}.\n{Describe()}");
        }
        finally
        {
            lock (_gate)
            {
                _waiters.Remove(waiter);
            }
        }
    }

    /// <summary>
    /// Like <see cref="WaitForEventAsync"/> for stdout lines that are not JSON objects (e.g. a program's
    /// plain log output): returns the first kept line (the last 10,000) matching <paramref name="predicate"/>,
    /// or waits for one.
    /// </summary>
    public async Task<string> WaitForTextLineAsync(
        Func<string, bool> predicate, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        Waiter<string> waiter;
        lock (_gate)
        {
            foreach (var line in _textLines)
            {
                if (predicate(line))
                {
                    return line;
                }
            }

            if (_stdoutEnded)
            {
                throw new InvalidOperationException($"{Name} closed stdout before the awaited line arrived.\n{Describe()}");
            }

            waiter = new Waiter<string>(predicate);
            _textWaiters.Add(waiter);
        }

        try
        {
            return await waiter.Completion.Task.WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Name}: the awaited line did not arrive within {timeout}.\n{Describe()}");
        }
        finally
        {
            lock (_gate)
            {
                _textWaiters.Remove(waiter);
            }
        }
    }

    /// <summary>Writes one line to the process's stdin.</summary>
    public async ValueTask WriteLineAsync(string line, CancellationToken cancellationToken = default)
    {
        await _stdinLock.WaitAsync(cancellationToken);
        try
        {
            await _process.StandardInput.WriteLineAsync(line.AsMemory(), cancellationToken);
            await _process.StandardInput.FlushAsync(cancellationToken);
        }
        catch (IOException ex)
        {
            throw new InvalidOperationException($"{Name}: cannot write to stdin ({ex.Message}).\n{Describe()}", ex);
        }
        finally
        {
            _stdinLock.Release();
        }
    }

    /// <summary>Waits for the process to exit by itself and returns its exit code; throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (_exitCodeAfterDispose is { } code)
        {
            return code;
        }

        try
        {
            await _process.WaitForExitAsync(cancellationToken).WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Name} did not exit within {timeout}.\n{Describe()}");
        }

        // Exit is seen before our readers reach the end of stdout/stderr: give them a moment, so
        // every line the process printed is in Events/Stderr when this returns. (A descendant that
        // inherited the pipes can keep them open; then we stop waiting and return what we have.)
        await Task.WhenAny(Task.WhenAll(_stdoutLoop, _stderrLoop), Task.Delay(ReaderDrainTimeout, cancellationToken));
        return _process.ExitCode;
    }

    /// <summary>A multi-line description for failure messages: name, pid, exit state, stderr and non-JSON stdout tails.</summary>
    public string Describe()
    {
        lock (_gate)
        {
            var state = ExitCode is { } code ? $"exited with {code}" : "running";
            return $"[{Name} pid {Id}, {state}]\n--- stderr (tail) ---\n{_stderr}\n--- stdout text (tail) ---\n{string.Join('\n', _textLines.TakeLast(TextLinesDescribed))}";
        }
    }

    /// <summary>Stops the process (stdin closed, then tree kill after the grace period) and awaits its loops. Idempotent.</summary>
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
        if (!_process.HasExited && _options.GracefulStopTimeout > TimeSpan.Zero)
        {
            try
            {
                await _stdinLock.WaitAsync();
                _process.StandardInput.Close();
            }
            catch (IOException)
            {
                // Already gone.
            }
            finally
            {
                _stdinLock.Release();
            }

            try
            {
                await _process.WaitForExitAsync().WaitAsync(_options.GracefulStopTimeout);
            }
            catch (TimeoutException)
            {
                // Killed below.
            }
        }

        if (!_process.HasExited)
        {
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Exited in between.
            }

            await _process.WaitForExitAsync().WaitAsync(_options.KillTimeout);
        }

        // The pipes close with the process; the loops end on their own.
        await Task.WhenAll(_stdoutLoop, _stderrLoop).WaitAsync(_options.KillTimeout);
        _exitCodeAfterDispose = _process.ExitCode;
        _process.Dispose();
        _stdinLock.Dispose();
    }
}
