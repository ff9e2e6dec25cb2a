using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace PromiseGrid.Mesh.Node.Mesh;

/// <summary>
/// Options of the <see cref="ConnectionManager"/> and its <see cref="ConnectionTrimmer"/>: when
/// the node holds more than <see cref="HighWater"/> connections it closes the least useful ones
/// until <see cref="LowWater"/> remain.
/// </summary>
public sealed record ConnectionManagerOptions
{
    /// <summary>The defaults: 32/64 water marks, 30 s grace, a trim check every minute.</summary>
    public static ConnectionManagerOptions Default { get; } = new();

    /// <summary>Connections kept after a trim. Default 32.</summary>
    public int LowWater { get; init; } = 32;

    /// <summary>A trim happens only while the node holds more connections than this. Default 64.</summary>
    public int HighWater { get; init; } = 64;

    /// <summary>A connection younger than this is never trimmed (it may not have opened its streams yet). Default 30 s.</summary>
    public TimeSpan GracePeriod { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the trimmer checks the water marks on its own. Default 1 min.</summary>
    public TimeSpan TrimInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Clock for ages, idle times and the trim interval. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Default <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Checks every value; called by the <see cref="ConnectionManager"/> constructor.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(TimeProvider);
        ArgumentNullException.ThrowIfNull(LoggerFactory);
        if (LowWater < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(LowWater), LowWater, "must not be negative");
        }

        if (HighWater <= LowWater)
        {
            throw new ArgumentOutOfRangeException(nameof(HighWater), HighWater, "must be greater than LowWater");
        }

        if (GracePeriod < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(GracePeriod), GracePeriod, "must not be negative");
        }

        if (TrimInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(TrimInterval), TrimInterval, "must be positive");
        }
    }
}
