using System.Diagnostics.Metrics;

namespace PromiseGrid.Mesh.Discovery.Bootstrap;

/// <summary>Bootstrap counters on the <c>PromiseGrid.Mesh</c> meter.</summary>
internal static class BootstrapMetrics
{
    private static readonly Meter Meter = new("PromiseGrid.Mesh");

    /// <summary>Dial attempts to bootstrap peers, tagged <c>outcome</c> = <c>success</c> | <c>failure</c>.</summary>
    public static readonly Counter<long> Dials = Meter.CreateCounter<long>(
        "promisegrid.mesh.bootstrap.dials", unit: "{dial}", description: "Dial attempts to bootstrap peers");

    public static void DialSucceeded() => Dials.Add(1, new KeyValuePair<string, object?>("outcome", "success"));

    public static void DialFailed() => Dials.Add(1, new KeyValuePair<string, object?>("outcome", "failure"));
}
