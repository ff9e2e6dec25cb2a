namespace PromiseGrid.Mesh.Yamux;

/// <summary>Ping, RTT and keep-alive (libp2p-wire.md §6.5).</summary>
public sealed partial class YamuxSession
{
    private readonly object _pingLock = new();
    private readonly Dictionary<uint, PendingPing> _pings = [];
    private uint _nextPingValue;
    private long _rttTicks;

    private sealed class PendingPing(long started)
    {
        public long Started { get; } = started;

        public TaskCompletionSource<TimeSpan> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>The latest measured round-trip time, or <see cref="TimeSpan.Zero"/> before the first pong.</summary>
    public TimeSpan Rtt => TimeSpan.FromTicks(Interlocked.Read(ref _rttTicks));

    /// <summary>Sends a ping and waits for the reply.</summary>
    /// <returns>The round-trip time, measured with <see cref="YamuxOptions.TimeProvider"/>.</returns>
    /// <exception cref="ConnectionClosedException">The session ended first.</exception>
    public async ValueTask<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        var (value, ping) = StartPing();
        try
        {
            return await ping.Reply.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            lock (_pingLock)
            {
                _pings.Remove(value);
            }
        }
    }

    private (uint Value, PendingPing Ping) StartPing()
    {
        var ping = new PendingPing(TimeProvider.GetTimestamp());
        uint value;
        lock (_pingLock)
        {
            value = ++_nextPingValue;
            _pings[value] = ping;
        }

        if (IsEnded || !EnqueueControl(YamuxFrameHeader.Ping(YamuxFlags.Syn, value)))
        {
            ping.Reply.TrySetException(new ConnectionClosedException("the yamux session has ended or cannot send"));
        }

        return (value, ping);
    }

    /// <summary>A ping reply: completes the matching ping; an unexpected one is ignored (tolerated, logged).</summary>
    private void OnPong(uint value)
    {
        PendingPing? ping;
        lock (_pingLock)
        {
            if (_pings.Remove(value, out ping) is false)
            {
                ping = null;
            }
        }

        if (ping is null)
        {
            YamuxLog.UnexpectedPong(_logger, value, _peer);
            return;
        }

        var rtt = TimeProvider.GetElapsedTime(ping.Started);
        Interlocked.Exchange(ref _rttTicks, Math.Max(1, rtt.Ticks));
        ping.Reply.TrySetResult(rtt);
    }

    private void FailPings(Exception error)
    {
        PendingPing[] pings;
        lock (_pingLock)
        {
            pings = [.. _pings.Values];
            _pings.Clear();
        }

        foreach (var ping in pings)
        {
            ping.Reply.TrySetException(error);
        }
    }

    /// <summary>
    /// Pings every <see cref="YamuxOptions.KeepAliveInterval"/>; a ping still unanswered at the next
    /// tick ends the session with <see cref="MeshTimeoutException"/>.
    /// </summary>
    private async Task KeepAliveLoopAsync()
    {
        var interval = Options.KeepAliveInterval;
        using var timer = _keepAliveTimer!;
        PendingPing? outstanding = null;
        uint outstandingValue = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(_shutdown.Token).ConfigureAwait(false))
            {
                if (outstanding is not null && !outstanding.Reply.Task.IsCompleted)
                {
                    YamuxLog.KeepAliveTimeout(_logger, _peer, interval);
                    EndSession(new MeshTimeoutException($"yamux keep-alive ping unanswered for {interval}"), goAway: null, fault: true);
                    return;
                }

                (outstandingValue, outstanding) = StartPing();
            }
        }
        catch (OperationCanceledException) when (_shutdown.IsCancellationRequested)
        {
            // The session ended.
        }
        finally
        {
            lock (_pingLock)
            {
                _pings.Remove(outstandingValue);
            }
        }
    }
}
