using System.Collections.Concurrent;

namespace PromiseGrid.Mesh.Host;

/// <summary>
/// Owns background tasks the host starts (connection loops, handler tasks) so none is fire-and-forget:
/// each is registered until it ends, and <see cref="WhenAllAsync"/> awaits those still running.
/// </summary>
internal sealed class TaskTracker
{
    private readonly ConcurrentDictionary<int, Task> _tasks = new();
    private int _nextId;

    public int Count => _tasks.Count;

    /// <summary>Starts <paramref name="work"/> and tracks it until it finishes. Its exceptions must be handled inside.</summary>
    public void Run(Func<Task> work)
    {
        var id = Interlocked.Increment(ref _nextId);
        var task = Task.Run(async () =>
        {
            try
            {
                await work().ConfigureAwait(false);
            }
            finally
            {
                _tasks.TryRemove(id, out _);
            }
        });
        _tasks.TryAdd(id, task);
        if (task.IsCompleted)
        {
            _tasks.TryRemove(id, out _);
        }
    }

    public async Task WhenAllAsync()
    {
        while (!_tasks.IsEmpty)
        {
            try
            {
                await Task.WhenAll(_tasks.Values).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Tasks log their own failures.
            }
        }
    }
}
