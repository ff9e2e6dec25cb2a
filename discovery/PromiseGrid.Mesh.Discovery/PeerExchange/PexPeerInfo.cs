using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.PeerExchange;

/// <summary>A peer and addresses it can be dialled at (transport addresses, without <c>/p2p</c>).</summary>
public sealed record PexPeerInfo(PeerId PeerId, IReadOnlyList<Multiaddr> Addresses);
