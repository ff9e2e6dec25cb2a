using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery;

/// <summary>One known address of a peer: where we learnt it (<c>"mdns"</c>, <c>"bootstrap"</c>, <c>"identify"</c>, …) and when we last saw it.</summary>
public sealed record PeerAddress(Multiaddr Address, string Source, DateTimeOffset LastSeen);

/// <summary>A snapshot of what the store knows about one peer.</summary>
public sealed record PeerRecord(
    PeerId PeerId,
    IReadOnlyList<PeerAddress> Addresses,
    IReadOnlyList<string> Protocols,
    string? AgentVersion,
    DateTimeOffset LastSeen);
