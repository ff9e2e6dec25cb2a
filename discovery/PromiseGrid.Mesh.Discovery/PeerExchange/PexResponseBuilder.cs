using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.PeerExchange;

/// <summary>
/// Builds the response a responder sends (docs/peer-exchange.md §5): candidates in the source's
/// order, without the requester, each with at most <see cref="PeerExchangeProtocol.MaxAddressesPerPeer"/>
/// shareable addresses (<c>/p2p</c> stripped, duplicates removed), peers left without addresses
/// dropped, at most <c>min(max_peers, MaxPeersPerResponse)</c> peers, and stopping before the body
/// would pass <see cref="PeerExchangeProtocol.MaxMessageSize"/>.
/// </summary>
internal static class PexResponseBuilder
{
    public static IReadOnlyList<PexPeerInfo> Build(
        IReadOnlyList<PexPeerInfo> candidates, PeerId requester, Multiaddr? requesterAddress, int requestedMaxPeers)
    {
        var maxPeers = requestedMaxPeers > 0
            ? Math.Min(requestedMaxPeers, PeerExchangeProtocol.MaxPeersPerResponse)
            : PeerExchangeProtocol.MaxPeersPerResponse;
        var result = new List<PexPeerInfo>();
        var seen = new HashSet<PeerId> { requester };
        var size = 0;
        foreach (var candidate in candidates)
        {
            if (result.Count >= maxPeers)
            {
                break;
            }

            if (!seen.Add(candidate.PeerId))
            {
                continue;
            }

            var addresses = FilterAddresses(candidate.Addresses, requesterAddress);
            if (addresses.Count == 0)
            {
                continue;
            }

            var peer = new PexPeerInfo(candidate.PeerId, addresses);
            var entry = PexCodec.EncodePeer(peer).Length;
            var entrySize = 1 + Varint.GetLength((ulong)entry) + entry;
            if (size + entrySize > PeerExchangeProtocol.MaxMessageSize)
            {
                continue; // a smaller entry further on may still fit
            }

            size += entrySize;
            result.Add(peer);
        }

        return result;
    }

    /// <summary>The shareable addresses among <paramref name="addresses"/>, <c>/p2p</c> stripped, deduplicated, capped.</summary>
    public static IReadOnlyList<Multiaddr> FilterAddresses(IReadOnlyList<Multiaddr> addresses, Multiaddr? peerAddress)
    {
        var result = new List<Multiaddr>();
        foreach (var original in addresses)
        {
            if (result.Count >= PeerExchangeProtocol.MaxAddressesPerPeer)
            {
                break;
            }

            var address = original.WithoutPeerId();
            if (address.Components.Any(c => c.Protocol == MultiaddrProtocol.P2p)
                || address.Bytes.Length > Multiaddr.MaxBinaryLength
                || !AddressScope.IsShareable(address, peerAddress)
                || result.Contains(address))
            {
                continue;
            }

            result.Add(address);
        }

        return result;
    }
}
