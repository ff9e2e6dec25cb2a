using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace PromiseGrid.Mesh.Discovery.Tests.Testing;

/// <summary>An MdnsAgent process inside a namespace; its JSON lines are read into a channel. Killed by id on dispose.</summary>
internal sealed class AgentProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<JsonElement> _lines = Channel.CreateUnbounded<JsonElement>();
    private readonly StringBuilder _stderr = new();
    private readonly List<JsonElement> _seen = [];
    private readonly Task _reader;

    private AgentProcess(Process process)
    {
        _process = process;
        _process.ErrorDataReceived += (_, e) =>
        {
            lock (_stderr)
            {
                _stderr.AppendLine(e.Data);
            }
        };
        _process.BeginErrorReadLine();
        _reader = ReadAsync();
    }

    public string PeerId { get; private set; } = "";

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static async Task<AgentProcess> StartAsync(NetworkNamespace ns, string iface, string announce, TimeSpan timeout)
    {
        var agent = Path.Combine(AppContext.BaseDirectory, "MdnsAgent.dll");
        var info = new ProcessStartInfo("ip")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "netns", "exec", ns.Name, "dotnet", agent, "--interface", iface, "--announce", announce, "--verbose" })
        {
            info.ArgumentList.Add(a);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start MdnsAgent");
        var result = new AgentProcess(process);
        var started = await result.WaitForAsync(e => e.GetProperty("event").GetString() == "started", timeout);
        result.PeerId = started.GetProperty("peerId").GetString()!;
        return result;
    }

    /// <summary>Next line (seen before or later) matching <paramref name="predicate"/>, or TimeoutException.</summary>
    public async Task<JsonElement> WaitForAsync(Func<JsonElement, bool> predicate, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            lock (_seen)
            {
                foreach (var line in _seen)
                {
                    if (predicate(line))
                    {
                        return line;
                    }
                }
            }

            while (true)
            {
                var line = await _lines.Reader.ReadAsync(cts.Token);
                if (predicate(line))
                {
                    return line;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            throw new TimeoutException($"agent {PeerId} did not print the expected line; stderr:\n{Stderr}");
        }
    }

    public Task<JsonElement> WaitForDiscoveryAsync(string peerId, TimeSpan timeout) =>
        WaitForAsync(e => e.GetProperty("event").GetString() == "peer:discovery" && e.GetProperty("peerId").GetString() == peerId, timeout);

    /// <summary>Closes stdin: the agent sends its goodbye and exits.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        _process.StandardInput.Close();
        await _process.WaitForExitAsync().WaitAsync(timeout);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            await _reader.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            // already gone, or a stuck pipe: nothing more to do
        }
        finally
        {
            _process.Dispose();
        }
    }

    private async Task ReadAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } text)
            {
                JsonElement line;
                try
                {
                    line = JsonDocument.Parse(text).RootElement.Clone();
                }
                catch (JsonException)
                {
                    continue;
                }

                lock (_seen)
                {
                    _seen.Add(line);
                }

                _lines.Writer.TryWrite(line);
            }
        }
        finally
        {
            _lines.Writer.TryComplete();
        }
    }
}
