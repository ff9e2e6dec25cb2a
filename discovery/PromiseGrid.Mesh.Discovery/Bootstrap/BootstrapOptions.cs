using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Bootstrap;

/// <summary>
/// Options of the <see cref="BootstrapDialer"/> (<c>pgnode run --bootstrap MA</c>, repeatable).
/// Each retry waits <c>min(MaxBackoff, InitialBackoff · Multiplier^n) · (1 ± Jitter)</c>, never more
/// than <see cref="MaxBackoff"/>.
/// </summary>
public sealed record BootstrapOptions
{
    /// <summary>The defaults: no peers, 1 s initial backoff doubling up to 60 s, ±20 % jitter.</summary>
    public static BootstrapOptions Default { get; } = new();

    /// <summary>Bootstrap peers; each address must end in <c>/p2p/&lt;peerId&gt;</c>. Default: none.</summary>
    public IReadOnlyList<Multiaddr> Peers { get; init; } = [];

    /// <summary>Delay before the first retry after a failed dial or a dropped connection. Default 1 s.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound of every retry delay, jitter included. Default 60 s.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Growth factor of the delay per failed attempt. Default 2.</summary>
    public double Multiplier { get; init; } = 2.0;

    /// <summary>Relative jitter: each delay is scaled by a uniform factor in [1 − Jitter, 1 + Jitter). Default 0.2.</summary>
    public double Jitter { get; init; } = 0.2;

    /// <summary>
    /// Deadline of one dial attempt; <see cref="Timeout.InfiniteTimeSpan"/> leaves it to the dialer.
    /// Default 30 s.
    /// </summary>
    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A connection that stayed up at least this long resets the backoff when it drops; a shorter
    /// one continues the backoff where it was (so a peer that accepts and drops at once is not
    /// redialled every second). Default 60 s.
    /// </summary>
    public TimeSpan StableConnection { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Clock for delays and timeouts. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Source of jitter, called under a lock. Default <see cref="Random.Shared"/>.</summary>
    public Random Random { get; init; } = Random.Shared;

    /// <summary>Default <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Checks every value; called by the <see cref="BootstrapDialer"/> constructor.</summary>
    /// <exception cref="ArgumentException">A peer address lacks <c>/p2p</c> or appears twice.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A duration or factor is out of range.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Peers);
        ArgumentNullException.ThrowIfNull(TimeProvider);
        ArgumentNullException.ThrowIfNull(Random);
        ArgumentNullException.ThrowIfNull(LoggerFactory);
        var seen = new HashSet<Identity.PeerId>();
        foreach (var address in Peers)
        {
            ArgumentNullException.ThrowIfNull(address, nameof(Peers));
            var last = address.Components[^1];
            if (last.Protocol != MultiaddrProtocol.P2p || address.Components.Count < 2)
            {
                throw new ArgumentException($"bootstrap address '{address}' must be a transport address ending in /p2p/<peerId>", nameof(Peers));
            }

            if (!seen.Add(address.PeerId!))
            {
                throw new ArgumentException($"bootstrap peer {address.PeerId} is listed twice", nameof(Peers));
            }
        }

        if (InitialBackoff <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(InitialBackoff), InitialBackoff, "must be positive");
        }

        if (MaxBackoff < InitialBackoff)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBackoff), MaxBackoff, "must be at least InitialBackoff");
        }

        if (!(Multiplier >= 1.0) || double.IsInfinity(Multiplier))
        {
            throw new ArgumentOutOfRangeException(nameof(Multiplier), Multiplier, "must be a finite number >= 1");
        }

        if (!(Jitter >= 0.0 && Jitter < 1.0))
        {
            throw new ArgumentOutOfRangeException(nameof(Jitter), Jitter, "must be in [0, 1)");
        }

        if (DialTimeout <= TimeSpan.Zero && DialTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(DialTimeout), DialTimeout, "must be positive or infinite");
        }

        if (StableConnection < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(StableConnection), StableConnection, "must not be negative");
        }
    }
}
