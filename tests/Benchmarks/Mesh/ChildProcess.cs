using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;

namespace PromiseGrid.Mesh.Benchmarks.Mesh;

/// <summary>A child process whose stdout JSON lines are read into a channel; killed by id on dispose.</summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<JsonElement> _lines = Channel.CreateUnbounded<JsonElement>();
    private readonly Task _reader;

    private ChildProcess(Process process)
    {
        _process = process;
        _reader = ReadAsync();
    }

    public static ChildProcess Start(string file, IEnumerable<string> args, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        return new ChildProcess(Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}"));
    }

    /// <summary>Runs a command to completion and returns its JSON lines.</summary>
    public static async Task<List<JsonElement>> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout)
    {
        await using var child = Start(file, args);
        child._process.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout);
        await child._process.WaitForExitAsync(cts.Token);
        await child._reader.WaitAsync(cts.Token);
        var lines = new List<JsonElement>();
        while (child._lines.Reader.TryRead(out var line))
        {
            lines.Add(line);
        }

        if (child._process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {child._process.ExitCode}");
        }

        return lines;
    }

    /// <summary>Waits for the next JSON line that satisfies <paramref name="predicate"/>.</summary>
    public async Task<JsonElement> WaitAsync(Func<JsonElement, bool> predicate, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            var line = await _lines.Reader.ReadAsync(cts.Token);
            if (predicate(line))
            {
                return line;
            }
        }
    }

    public async Task WriteLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(cts.Token);
            await _reader.WaitAsync(cts.Token);
        }
        finally
        {
            _process.Dispose();
        }
    }

    private async Task ReadAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith('{'))
            {
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    _lines.Writer.TryWrite(doc.RootElement.Clone());
                }
                catch (JsonException)
                {
                    // Not one of ours: ignore.
                }
            }
        }

        _lines.Writer.TryComplete();
    }
}
