using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery;

/// <summary>
/// A discovery event: <paramref name="PeerId"/> is reachable at <paramref name="Multiaddrs"/>
/// (each ending in <c>/p2p/&lt;PeerId&gt;</c>) for <paramref name="Ttl"/>. A <see cref="Ttl"/> of
/// zero with no addresses means the peer said goodbye or its records expired (<see cref="IsGone"/>).
/// </summary>
/// <param name="PeerId">The discovered peer.</param>
/// <param name="Multiaddrs">Addresses the peer announced, each with its <c>/p2p</c> suffix.</param>
/// <param name="Source">Where the peer was found, for example <c>"mdns"</c>.</param>
/// <param name="Ttl">How long the addresses stay valid.</param>
public sealed record PeerDiscovered(PeerId PeerId, IReadOnlyList<Multiaddr> Multiaddrs, string Source, TimeSpan Ttl)
{
    /// <summary>The peer left (goodbye record) or every one of its records expired.</summary>
    public bool IsGone => Ttl == TimeSpan.Zero;
}
