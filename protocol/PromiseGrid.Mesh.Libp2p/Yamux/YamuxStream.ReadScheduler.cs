using System.IO.Pipelines;

namespace PromiseGrid.Mesh.Yamux;

public sealed partial class YamuxStream
{
    /// <summary>
    /// Where code awaiting the stream's <see cref="Input"/> resumes. By default on the thread pool.
    /// After <see cref="ResumeReadsInline"/>, a reader woken by the read loop's flush is not run inside
    /// the flush (the stream's lock is held there) but kept and run by the read loop right after it
    /// releases the lock; any other wake-up (completion, reset, session end) still goes to the thread
    /// pool.
    /// </summary>
    private sealed class ReadScheduler : PipeScheduler
    {
        private Continuation _deferred;

        /// <summary>Set once the application asked for inline reads.</summary>
        public volatile bool ResumeInline;

        /// <summary>True while the read loop flushes under the stream's lock (guarded by that lock).</summary>
        public bool Defer;

        public override void Schedule(Action<object?> action, object? state)
        {
            if (Defer && ResumeInline)
            {
                _deferred = new Continuation(action, state);
                return;
            }

            PipeScheduler.ThreadPool.Schedule(action, state);
        }

        /// <summary>The reader continuation kept by the last flush, if any (call under the stream's lock).</summary>
        public Continuation TakeDeferred()
        {
            var deferred = _deferred;
            _deferred = default;
            return deferred;
        }

        public readonly record struct Continuation(Action<object?>? Action, object? State)
        {
            public void Run() => Action?.Invoke(State);
        }
    }
}
