using PromiseGrid.Mesh.Discovery.Bootstrap;

namespace PromiseGrid.Mesh.Discovery.Tests.Bootstrap;

public class BackoffTests
{
    private static readonly TimeSpan Initial = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(0, 1.0)]
    [InlineData(1, 2.0)]
    [InlineData(2, 4.0)]
    [InlineData(5, 32.0)]
    [InlineData(6, 60.0)]
    [InlineData(60, 60.0)]
    [InlineData(int.MaxValue, 60.0)]
    public void Delay_NoJitter_DoublesUpToTheCap(int attempt, double expectedSeconds)
    {
        var delay = Backoff.Delay(attempt, Initial, Max, 2.0, 0.0, 0.5);
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), delay);
    }

    [Theory]
    [InlineData(0.0, 0.8)]
    [InlineData(0.5, 1.0)]
    [InlineData(0.75, 1.1)]
    public void Delay_Jitter_ScalesByUniformFactor(double uniform, double factor)
    {
        var delay = Backoff.Delay(2, Initial, Max, 2.0, 0.2, uniform);
        Assert.Equal(4.0 * factor, delay.TotalSeconds, 6);
    }

    [Fact]
    public void Delay_AnyAttemptAndJitter_StaysWithinBoundsAndNeverPassesTheCap()
    {
        var random = new Random(7);
        for (var i = 0; i < 10_000; i++)
        {
            var attempt = random.Next(0, 100);
            var uniform = random.NextDouble();
            var delay = Backoff.Delay(attempt, Initial, Max, 2.0, 0.2, uniform);
            var unjittered = Math.Min(60.0, Math.Pow(2, attempt));
            Assert.InRange(delay.TotalSeconds, unjittered * 0.8 - 1e-6, Math.Min(60.0, unjittered * 1.2) + 1e-6);
            Assert.True(delay <= Max);
        }
    }
}
