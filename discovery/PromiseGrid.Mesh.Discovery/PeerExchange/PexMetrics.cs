using System.Diagnostics.Metrics;

namespace PromiseGrid.Mesh.Discovery.PeerExchange;

/// <summary>Peer-exchange counters on the <c>PromiseGrid.Mesh</c> meter.</summary>
internal static class PexMetrics
{
    private static readonly Meter Meter = new("PromiseGrid.Mesh");

    /// <summary>Outbound exchanges, tagged <c>outcome</c> = <c>success</c> | <c>failure</c> | <c>unsupported</c>.</summary>
    public static readonly Counter<long> Requests = Meter.CreateCounter<long>(
        "promisegrid.mesh.pex.requests", unit: "{request}", description: "Outbound peer-exchange requests");

    /// <summary>Inbound exchanges served, tagged <c>outcome</c> = <c>success</c> | <c>failure</c>.</summary>
    public static readonly Counter<long> Served = Meter.CreateCounter<long>(
        "promisegrid.mesh.pex.served", unit: "{request}", description: "Inbound peer-exchange requests served");

    /// <summary>Peers fed to discovery from exchanges.</summary>
    public static readonly Counter<long> PeersLearned = Meter.CreateCounter<long>(
        "promisegrid.mesh.pex.peers_learned", unit: "{peer}", description: "Peers learned by peer exchange");

    public static void Request(string outcome) => Requests.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public static void Serve(string outcome) => Served.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
}
