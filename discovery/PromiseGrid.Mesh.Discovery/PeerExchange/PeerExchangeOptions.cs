using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace PromiseGrid.Mesh.Discovery.PeerExchange;

/// <summary>Options of the peer-exchange handler and <see cref="PeerExchangeService"/>.</summary>
public sealed record PeerExchangeOptions
{
    /// <summary>The defaults: every 5 minutes, at most 4 requests at once, 10 s per exchange.</summary>
    public static PeerExchangeOptions Default { get; } = new();

    /// <summary>Delay between two exchanges with the same connected peer (after the first, on connect). Default 5 min.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Most outbound exchanges in progress at once (K). Default 4.</summary>
    public int MaxConcurrentRequests { get; init; } = 4;

    /// <summary>Deadline of one exchange, both as requester and as responder. Default 10 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Most peers waiting for their turn; beyond it a due peer waits another interval. Default 1024.</summary>
    public int MaxQueuedPeers { get; init; } = 1024;

    /// <summary>Clock for intervals and timeouts. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Default <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Checks every value; called by the constructors that take these options.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(TimeProvider);
        ArgumentNullException.ThrowIfNull(LoggerFactory);
        if (Interval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(Interval), Interval, "must be positive");
        }

        if (MaxConcurrentRequests < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrentRequests), MaxConcurrentRequests, "must be at least 1");
        }

        if (RequestTimeout <= TimeSpan.Zero && RequestTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(RequestTimeout), RequestTimeout, "must be positive or infinite");
        }

        if (MaxQueuedPeers < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxQueuedPeers), MaxQueuedPeers, "must be at least 1");
        }
    }
}
