using PromiseGrid.Mesh.Discovery;
using PromiseGrid.Mesh.Discovery.PeerExchange;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Node.Mesh;

/// <summary>Feeds peers learned by exchange into the <see cref="PeerStore"/> (source <c>"exchange"</c>).</summary>
public sealed class PeerStoreSink(PeerStore store) : IDiscoveredPeerSink
{
    public void AddPeer(PeerId peer, IReadOnlyList<Multiaddr> addresses, string source) =>
        store.AddAddresses(peer, addresses, source);
}

/// <summary>The peer store's recently seen peers, newest first, as peer-exchange candidates.</summary>
public static class PeerStorePexCandidates
{
    /// <summary>Default window for "seen recently": 1 hour.</summary>
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromHours(1);

    /// <summary>
    /// Peers whose <see cref="PeerRecord.LastSeen"/> is within <paramref name="window"/> of now, newest
    /// first, each with its addresses seen within the window (newest first).
    /// </summary>
    public static IReadOnlyList<PexPeerInfo> Recent(PeerStore store, TimeProvider timeProvider, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var since = timeProvider.GetUtcNow() - window;
        return store.GetAll()
            .Where(r => r.LastSeen >= since)
            .OrderByDescending(r => r.LastSeen)
            .Select(r => new PexPeerInfo(r.PeerId, [.. r.Addresses.Where(a => a.LastSeen >= since).OrderByDescending(a => a.LastSeen).Select(a => a.Address)]))
            .Where(p => p.Addresses.Count > 0)
            .ToList();
    }
}
