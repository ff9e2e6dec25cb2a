using System.Diagnostics;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Cli.Commands;

/// <summary>What <c>pgnode port send</c> sends and how.</summary>
internal sealed record PortSendSettings
{
    public int Count { get; init; } = 1;

    /// <summary>Payload of the message with the given index.</summary>
    public required Func<int, ReadOnlyMemory<byte>> Payload { get; init; }

    /// <summary>Ask for a reply to every message (a send-once reply right); a message completes when its reply arrives.</summary>
    public bool Request { get; init; }

    /// <summary>Time allowed for each message's acknowledgement, and then for its reply.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Most messages in flight at once.</summary>
    public int Window { get; init; } = 4096;

    /// <summary>Most messages issued per second; 0 means no limit.</summary>
    public double Rate { get; init; }

    /// <summary>Added to the index of each message to make its id (a warm-up run uses negative ids).</summary>
    public int IdOffset { get; init; }

    public void Validate()
    {
        if (Count < 1)
        {
            throw new CliUsageException("--count must be at least 1");
        }

        if (Window < 1)
        {
            throw new CliUsageException("--window must be at least 1");
        }

        if (Rate < 0 || double.IsNaN(Rate) || double.IsInfinity(Rate))
        {
            throw new CliUsageException("--rate must be a non-negative number of messages per second");
        }
    }
}

/// <summary>The outcome of a <see cref="PortSendRun"/>: counts, elapsed time and latency percentiles of the completed messages.</summary>
internal readonly record struct PortSendSummary(
    int Sent, int Acked, int Replied, int Failed, TimeSpan Elapsed, double MessagesPerSecond, TimeSpan P50, TimeSpan P99);

/// <summary>
/// Sends messages 0..N-1 to one send right from one loop, so the order of the send calls (and so
/// the delivery order) is the id order, keeping up to a window of them unacknowledged. A message
/// completes when its home node acknowledges it (with a request, when its reply arrives); a
/// message that fails prints one <c>send:error</c> line with the exception's type.
/// </summary>
internal sealed class PortSendRun(PortTask task, PortName destination, PortSendSettings settings, CliOutput output)
{
    private readonly long[] _latency = new long[settings.Count];
    private readonly TaskCompletionSource[]? _replies = settings.Request ? new TaskCompletionSource[settings.Count] : null;
    private int _acked;
    private int _replied;

    public async Task<PortSendSummary> RunAsync(CancellationToken cancellationToken)
    {
        if (settings.Request && settings.Window == 1)
        {
            return await RunCallsAsync(cancellationToken);
        }

        var replyPort = settings.Request ? task.CreatePort() : PortName.Null;
        using var stopReplies = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var replyLoop = settings.Request ? ReceiveRepliesAsync(replyPort, stopReplies.Token) : Task.CompletedTask;

        var started = Stopwatch.GetTimestamp();
        var sent = settings.Request
            ? await RunRequestsAsync(replyPort, cancellationToken)
            : await RunOneWayAsync(cancellationToken);

        var elapsed = Stopwatch.GetElapsedTime(started);
        await stopReplies.CancelAsync();
        await replyLoop;

        return Summarize(sent, settings.Request ? _replied : _acked, elapsed);
    }

    /// <summary>Requests: one task per message, which completes when its reply arrives.</summary>
    private async Task<int> RunRequestsAsync(PortName replyPort, CancellationToken cancellationToken)
    {
        var inFlight = new Queue<Task>();
        var started = Stopwatch.GetTimestamp();
        var sent = 0;
        try
        {
            for (var i = 0; i < settings.Count && !cancellationToken.IsCancellationRequested; i++)
            {
                while (inFlight.Count > 0 && (inFlight.Count >= settings.Window || inFlight.Peek().IsCompleted))
                {
                    await inFlight.Dequeue();
                }

                if (settings.Rate > 0)
                {
                    await PaceAsync(started, i, cancellationToken);
                }

                inFlight.Enqueue(SendOneAsync(i, replyPort, cancellationToken));
                sent++;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Interrupted while pacing: report what was sent.
        }

        while (inFlight.Count > 0)
        {
            await inFlight.Dequeue();
        }

        return sent;
    }

    private PortSendSummary Summarize(int sent, int completed, TimeSpan elapsed)
    {
        var latencies = _latency.Where(t => t > 0).Order().ToArray();
        return new PortSendSummary(
            sent,
            _acked,
            _replied,
            sent - completed,
            elapsed,
            elapsed > TimeSpan.Zero ? completed / elapsed.TotalSeconds : 0,
            Percentile(latencies, 0.50),
            Percentile(latencies, 0.99));
    }

    /// <summary>
    /// One-way messages: the send calls' own awaitables in a ring of the window's size, taken in
    /// send order, so the load generator adds no task and no thread hand-off per message.
    /// Acknowledgements are settled in send order, so a message's latency is taken when this loop
    /// sees its acknowledgement: at once if it is waiting for it, else before the next send.
    /// </summary>
    private async Task<int> RunOneWayAsync(CancellationToken cancellationToken)
    {
        var window = Math.Min(settings.Window, settings.Count);
        var ring = new ValueTask[window];
        var issued = new long[window];
        var started = Stopwatch.GetTimestamp();
        var sent = 0;
        var done = 0;
        try
        {
            for (var i = 0; i < settings.Count && !cancellationToken.IsCancellationRequested; i++)
            {
                while (done < sent && (sent - done >= window || ring[done % window].IsCompleted))
                {
                    await CompleteAsync(done++);
                }

                if (settings.Rate > 0)
                {
                    await PaceAsync(started, i, cancellationToken);
                }

                issued[i % window] = Stopwatch.GetTimestamp();
                ring[i % window] = Send(i, cancellationToken);
                sent++;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Interrupted while pacing: report what was sent.
        }

        while (done < sent)
        {
            await CompleteAsync(done++);
        }

        return sent;

        async ValueTask CompleteAsync(int index)
        {
            try
            {
                await ring[index % window];
                _acked++;
                _latency[index] = Math.Max(1, Stopwatch.GetTimestamp() - issued[index % window]);
            }
            catch (Exception e)
            {
                ReportFailure(index, e);
            }
        }
    }

    /// <summary>Issues one-way message <paramref name="index"/>; a send that fails at once fails its awaitable.</summary>
    private ValueTask Send(int index, CancellationToken cancellationToken)
    {
        try
        {
            return task.SendMessageAsync(PortMessage.Create(destination, settings.Payload(Id(index)), Id(index)), settings.Timeout, cancellationToken);
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
    }

    /// <summary>
    /// Requests one at a time, as a client calling a server would: send, then receive the reply on
    /// the reply port in the same flow. No reply dispatcher sits between the two, so a round trip
    /// costs the two wake-ups it needs (acknowledgement, reply) and no more.
    /// </summary>
    private async Task<PortSendSummary> RunCallsAsync(CancellationToken cancellationToken)
    {
        var replyPort = task.CreatePort();
        var started = Stopwatch.GetTimestamp();
        var sent = 0;
        for (var i = 0; i < settings.Count && !cancellationToken.IsCancellationRequested; i++)
        {
            sent++;
            var message = PortMessage.Create(destination, settings.Payload(Id(i)), Id(i));
            message.ReplyPort = replyPort;
            message.ReplyDisposition = PortDisposition.MakeSendOnce;
            var callStarted = Stopwatch.GetTimestamp();
            try
            {
                // The reply proves the request was enqueued, so the call waits for the reply only;
                // the acknowledgement, which comes first, is collected afterwards without a wake-up.
                var sending = task.SendMessageAsync(message, settings.Timeout, cancellationToken);
                var replied = await ReceiveReplyAsync(replyPort, i, sending, cancellationToken);
                await sending;
                _acked++;
                if (!replied)
                {
                    throw new ReceiveTimeoutException($"no reply to message {Id(i)} within {settings.Timeout.TotalSeconds:0.###} s");
                }

                _replied++;
                _latency[i] = Math.Max(1, Stopwatch.GetTimestamp() - callStarted);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                ReportFailure(i, e);
            }
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        task.DestroyPort(replyPort);
        return Summarize(sent, _replied, elapsed);
    }

    /// <summary>
    /// Waits for the reply to call <paramref name="index"/> (an earlier call's late reply is
    /// skipped), looking at the send between slices of the wait so that a refused send ends the
    /// call at once. False when the timeout passed, or when the send has failed (the caller's
    /// await of the send then throws its error).
    /// </summary>
    private async ValueTask<bool> ReceiveReplyAsync(PortName replyPort, int index, ValueTask sending, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(settings.Timeout.TotalSeconds * Stopwatch.Frequency);
        while (!sending.IsFaulted && !sending.IsCanceled)
        {
            var left = TimeSpan.FromSeconds((double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            try
            {
                using var reply = await task.ReceiveMessageAsync(replyPort, left < ReplySlice ? left : ReplySlice, cancellationToken);
                if (reply.MessageId == Id(index))
                {
                    return true;
                }
            }
            catch (ReceiveTimeoutException)
            {
                // A slice passed: look at the send again.
            }
        }

        return false;
    }

    /// <summary>How long a call waits for its reply before it looks at its send again.</summary>
    private static readonly TimeSpan ReplySlice = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Issues message <paramref name="index"/>: the send call happens before this method first
    /// yields, so the loop's call order is the send order.
    /// </summary>
    private async Task SendOneAsync(int index, PortName replyPort, CancellationToken cancellationToken)
    {
        var message = PortMessage.Create(destination, settings.Payload(Id(index)), Id(index));
        TaskCompletionSource? reply = null;
        if (_replies is not null)
        {
            reply = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _replies[index], reply);
            message.ReplyPort = replyPort;
            message.ReplyDisposition = PortDisposition.MakeSendOnce;
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            await task.SendMessageAsync(message, settings.Timeout, cancellationToken);
            Interlocked.Increment(ref _acked);
            if (reply is not null)
            {
                try
                {
                    await reply.Task.WaitAsync(settings.Timeout, cancellationToken);
                }
                catch (TimeoutException)
                {
                    throw new ReceiveTimeoutException($"no reply to message {Id(index)} within {settings.Timeout.TotalSeconds:0.###} s");
                }

                Interlocked.Increment(ref _replied);
            }

            _latency[index] = Math.Max(1, Stopwatch.GetTimestamp() - started);
        }
        catch (Exception e)
        {
            ReportFailure(index, e);
        }
    }

    /// <summary>The id of the message with index <paramref name="index"/> in this run.</summary>
    private int Id(int index) => settings.IdOffset + index;

    /// <summary>Every failure is reported, whatever its type: nothing is lost silently.</summary>
    private void ReportFailure(int index, Exception e)
    {
        var mayHaveBeenDelivered = e is NodeUnreachableException { MayHaveBeenDelivered: true };
        output.Event("send:error", new Dictionary<string, object?>
        {
            ["id"] = Id(index),
            ["error"] = e.GetType().Name,
            ["message"] = e.Message,
            ["mayHaveBeenDelivered"] = mayHaveBeenDelivered,
        }, $"message {Id(index)} failed: {e.GetType().Name}: {e.Message}" + (mayHaveBeenDelivered ? " (may have been delivered)" : string.Empty));
    }

    /// <summary>Completes each request's waiter as its reply (same message id) arrives.</summary>
    private async Task ReceiveRepliesAsync(PortName replyPort, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                using var message = await task.ReceiveMessageAsync(replyPort, timeout: null, cancellationToken);
                var id = message.MessageId - settings.IdOffset;
                if (id >= 0 && id < _replies!.Length)
                {
                    Volatile.Read(ref _replies[id])?.TrySetResult();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Every request has completed or failed.
        }
    }

    /// <summary>Waits until message <paramref name="index"/> may be issued at the configured rate.</summary>
    private async Task PaceAsync(long started, int index, CancellationToken cancellationToken)
    {
        var due = TimeSpan.FromSeconds(index / settings.Rate);
        var wait = due - Stopwatch.GetElapsedTime(started);
        if (wait > TimeSpan.FromMilliseconds(1))
        {
            await Task.Delay(wait, cancellationToken);
        }
    }

    private static TimeSpan Percentile(long[] sortedTicks, double quantile) =>
        sortedTicks.Length == 0
            ? TimeSpan.Zero
            : Stopwatch.GetElapsedTime(0, sortedTicks[(int)Math.Round(quantile * (sortedTicks.Length - 1))]);
}
