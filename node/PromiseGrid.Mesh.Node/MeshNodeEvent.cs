using PromiseGrid.Mesh.Host;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Node;

/// <summary>Something a <see cref="MeshNode"/> saw, read from <see cref="MeshNode.Events"/>.</summary>
public abstract record MeshNodeEvent;

/// <summary>A peer was learned from <paramref name="Source"/>: <c>mdns</c>, <c>bootstrap</c>, <c>exchange</c> or <c>peerstore</c>.</summary>
public sealed record MeshPeerDiscovered(PeerId Peer, IReadOnlyList<Multiaddr> Addresses, string Source) : MeshNodeEvent;

/// <summary>A connection event of the underlying host (connected, identified, disconnected).</summary>
public sealed record MeshHostEvent(HostEvent Event) : MeshNodeEvent;
