using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.PeerExchange;

/// <summary>What a node offers when asked for peers; the node adapts its host and peer store to it.</summary>
public interface IPexPeerSource
{
    /// <summary>
    /// Candidate peers, most useful first: peers currently connected, then peers seen recently
    /// (the peer store's recent entries), with their known transport addresses. Must not include
    /// the local node. The handler removes the requester, filters addresses and applies the limits.
    /// </summary>
    IReadOnlyList<PexPeerInfo> GetPeers();
}

/// <summary>Opens peer-exchange streams; the node adapts <c>Libp2pHost.NewStreamAsync(peer, PeerExchangeProtocol.ProtocolId)</c>.</summary>
public interface IPexStreamOpener
{
    /// <summary>Opens a stream to <paramref name="peer"/> already negotiated to <see cref="PeerExchangeProtocol.ProtocolId"/>.</summary>
    /// <exception cref="MeshException">No connection, or the peer does not speak the protocol.</exception>
    ValueTask<IMuxedStream> OpenStreamAsync(PeerId peer, CancellationToken cancellationToken = default);
}

/// <summary>Where discovered peers go (the peer store).</summary>
public interface IDiscoveredPeerSink
{
    /// <summary>Records addresses of <paramref name="peer"/> learned from <paramref name="source"/> (for example <c>"exchange"</c>).</summary>
    void AddPeer(PeerId peer, IReadOnlyList<Multiaddr> addresses, string source);
}
