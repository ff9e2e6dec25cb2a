namespace PromiseGrid.Mesh.Discovery.Bootstrap;

/// <summary>Exponential backoff with relative jitter, capped (pure function of the attempt number).</summary>
internal static class Backoff
{
    /// <summary>
    /// The delay before retry number <paramref name="attempt"/> (0 = first retry):
    /// <c>min(max, initial · multiplier^attempt) · (1 + jitter · (2u − 1))</c>, clamped to
    /// <c>(0, max]</c>, where <paramref name="uniform"/> is u in [0, 1).
    /// </summary>
    public static TimeSpan Delay(int attempt, TimeSpan initial, TimeSpan max, double multiplier, double jitter, double uniform)
    {
        var baseTicks = initial.Ticks * Math.Pow(multiplier, Math.Max(0, attempt));
        if (double.IsNaN(baseTicks) || baseTicks > max.Ticks)
        {
            baseTicks = max.Ticks;
        }

        var ticks = baseTicks * (1.0 + (jitter * ((2.0 * uniform) - 1.0)));
        ticks = Math.Clamp(ticks, 1.0, max.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }
}
