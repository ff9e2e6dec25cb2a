using System.Text.Json;

namespace PromiseGrid.Mesh.Integration.Tests.Harness;

// ManagedProcess: the stdout and stderr read loops and the hand-off of lines to waiters.
public sealed partial class ManagedProcess
{
    private async Task ReadStdoutAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                OnStdoutLine(line);
            }
        }
        catch (IOException)
        {
            // Pipe broken: the process is gone.
        }
        finally
        {
            List<Waiter<JsonElement>> orphans;
            List<Waiter<string>> textOrphans;
            lock (_gate)
            {
                _stdoutEnded = true;
                orphans = [.. _waiters];
                textOrphans = [.. _textWaiters];
                _waiters.Clear();
                _textWaiters.Clear();
            }

            foreach (var w in orphans)
            {
                w.Completion.TrySetException(new InvalidOperationException($"{Name} closed stdout before the awaited event arrived."));
            }

            foreach (var w in textOrphans)
            {
                w.Completion.TrySetException(new InvalidOperationException($"{Name} closed stdout before the awaited line arrived."));
            }
        }
    }

    private void OnStdoutLine(string line)
    {
        JsonElement? element = null;
        if (line.StartsWith('{'))
        {
            try
            {
                using var doc = JsonDocument.Parse(line);
                element = doc.RootElement.Clone();
            }
            catch (JsonException)
            {
                // Kept as text below.
            }
        }

        lock (_gate)
        {
            if (element is { } e)
            {
                _events.Add(e);
                Offer(_waiters, e);
                return;
            }

            _textLines.Add(line);
            if (_textLines.Count > MaxTextLinesKept)
            {
                _textLines.RemoveAt(0);
            }

            Offer(_textWaiters, line);
        }
    }

    /// <summary>Completes and removes every waiter whose predicate accepts <paramref name="item"/>; caller holds the lock.</summary>
    private static void Offer<T>(List<Waiter<T>> waiters, T item)
    {
        for (var i = waiters.Count - 1; i >= 0; i--)
        {
            var w = waiters[i];
            try
            {
                if (!w.Predicate(item))
                {
                    continue;
                }

                w.Completion.TrySetResult(item);
            }
            catch (Exception ex)
            {
                w.Completion.TrySetException(ex);
            }

            waiters.RemoveAt(i);
        }
    }

    private async Task ReadStderrAsync()
    {
        var buffer = new char[4096];
        try
        {
            int n;
            while ((n = await _process.StandardError.ReadAsync(buffer.AsMemory())) > 0)
            {
                lock (_gate)
                {
                    _stderr.Append(buffer, 0, n);
                    if (_stderr.Length > _options.MaxStderrChars)
                    {
                        _stderr.Remove(0, _stderr.Length - _options.MaxStderrChars);
                    }
                }
            }
        }
        catch (IOException)
        {
            // Pipe broken: the process is gone.
        }
    }

    private sealed class Waiter<T>(Func<T, bool> predicate)
    {
        public Func<T, bool> Predicate { get; } = predicate;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
