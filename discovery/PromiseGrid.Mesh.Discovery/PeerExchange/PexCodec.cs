using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.PeerExchange;

/// <summary>
/// Protobuf bodies of the peer-exchange messages (docs/peer-exchange.md §3), pure functions over
/// spans. Framing (the uvarint length prefix) is <see cref="PexFraming"/>.
/// <code>
/// message PexRequest  { optional uint32 max_peers = 1; }
/// message PexResponse { repeated PexPeer peers = 1; }
/// message PexPeer     { optional bytes id = 1; repeated bytes addrs = 2; }
/// </code>
/// </summary>
internal static class PexCodec
{
    private const int RequestMaxPeersField = 1;
    private const int ResponsePeersField = 1;
    private const int PeerIdField = 1;
    private const int PeerAddrsField = 2;

    /// <summary>Encodes a request; <paramref name="maxPeers"/> 0 means "the responder's default".</summary>
    public static byte[] EncodeRequest(int maxPeers)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxPeers);
        var writer = new ProtobufWriter();
        if (maxPeers > 0)
        {
            writer.WriteVarintField(RequestMaxPeersField, (ulong)maxPeers);
        }

        return writer.ToArray();
    }

    /// <summary>Decodes a request body; returns its <c>max_peers</c> (0 when absent). Unknown fields are skipped.</summary>
    /// <exception cref="InvalidFormatException">Malformed protobuf.</exception>
    public static int DecodeRequest(ReadOnlySpan<byte> body)
    {
        var reader = new ProtobufReader(body);
        ulong maxPeers = 0;
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field == RequestMaxPeersField && wireType == ProtobufReader.WireVarint)
            {
                maxPeers = reader.ReadVarint();
            }
            else
            {
                reader.Skip(wireType);
            }
        }

        return (int)Math.Min(maxPeers, int.MaxValue);
    }

    /// <summary>
    /// Encodes a response. Every address must be a binary multiaddr; the caller has already
    /// applied the limits (see <see cref="PexResponseBuilder"/>).
    /// </summary>
    /// <exception cref="LimitExceededException">More peers or addresses, or more bytes, than the protocol allows.</exception>
    public static byte[] EncodeResponse(IReadOnlyList<PexPeerInfo> peers)
    {
        if (peers.Count > PeerExchangeProtocol.MaxPeersPerResponse)
        {
            throw new LimitExceededException("pex peers per response", peers.Count, PeerExchangeProtocol.MaxPeersPerResponse);
        }

        var writer = new ProtobufWriter();
        foreach (var peer in peers)
        {
            if (peer.Addresses.Count > PeerExchangeProtocol.MaxAddressesPerPeer)
            {
                throw new LimitExceededException("pex addresses per peer", peer.Addresses.Count, PeerExchangeProtocol.MaxAddressesPerPeer);
            }

            writer.WriteBytesField(ResponsePeersField, EncodePeer(peer));
        }

        if (writer.Length > PeerExchangeProtocol.MaxMessageSize)
        {
            throw new LimitExceededException("pex message size", writer.Length, PeerExchangeProtocol.MaxMessageSize);
        }

        return writer.ToArray();
    }

    /// <summary>The encoded <c>PexPeer</c> message (without the enclosing field tag).</summary>
    public static byte[] EncodePeer(PexPeerInfo peer)
    {
        var writer = new ProtobufWriter();
        writer.WriteBytesField(PeerIdField, peer.PeerId.Bytes);
        foreach (var address in peer.Addresses)
        {
            writer.WriteBytesField(PeerAddrsField, address.Bytes);
        }

        return writer.ToArray();
    }

    /// <summary>
    /// Decodes a response body. Entries without an id are an error; addresses that are not valid
    /// multiaddrs (for example a protocol this node does not know) are skipped, as are addresses
    /// carrying <c>/p2p</c>; repeated peer ids keep their first entry.
    /// </summary>
    /// <exception cref="LimitExceededException">Too many peers, or too many addresses for one peer.</exception>
    /// <exception cref="InvalidFormatException">Malformed protobuf, a missing or invalid peer id.</exception>
    public static IReadOnlyList<PexPeerInfo> DecodeResponse(ReadOnlySpan<byte> body)
    {
        if (body.Length > PeerExchangeProtocol.MaxMessageSize)
        {
            throw new LimitExceededException("pex message size", body.Length, PeerExchangeProtocol.MaxMessageSize);
        }

        var peers = new List<PexPeerInfo>();
        var seen = new HashSet<PeerId>();
        var count = 0;
        var reader = new ProtobufReader(body);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field != ResponsePeersField || wireType != ProtobufReader.WireLengthDelimited)
            {
                reader.Skip(wireType);
                continue;
            }

            if (++count > PeerExchangeProtocol.MaxPeersPerResponse)
            {
                throw new LimitExceededException("pex peers per response", count, PeerExchangeProtocol.MaxPeersPerResponse);
            }

            var peer = DecodePeer(reader.ReadBytes());
            if (seen.Add(peer.PeerId))
            {
                peers.Add(peer);
            }
        }

        return peers;
    }

    private static PexPeerInfo DecodePeer(ReadOnlySpan<byte> body)
    {
        PeerId? id = null;
        var addresses = new List<Multiaddr>();
        var addressCount = 0;
        var reader = new ProtobufReader(body);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field == PeerIdField && wireType == ProtobufReader.WireLengthDelimited)
            {
                id = PeerId.FromBytes(reader.ReadBytes());
            }
            else if (field == PeerAddrsField && wireType == ProtobufReader.WireLengthDelimited)
            {
                var bytes = reader.ReadBytes();
                if (++addressCount > PeerExchangeProtocol.MaxAddressesPerPeer)
                {
                    throw new LimitExceededException("pex addresses per peer", addressCount, PeerExchangeProtocol.MaxAddressesPerPeer);
                }

                if (TryDecodeAddress(bytes, out var address) && !addresses.Contains(address))
                {
                    addresses.Add(address);
                }
            }
            else
            {
                reader.Skip(wireType);
            }
        }

        if (id is null)
        {
            throw new InvalidFormatException("pex peer entry without an id");
        }

        return new PexPeerInfo(id, addresses);
    }

    private static bool TryDecodeAddress(ReadOnlySpan<byte> bytes, out Multiaddr address)
    {
        try
        {
            address = Multiaddr.Decode(bytes);
        }
        catch (InvalidFormatException)
        {
            address = null!;
            return false;
        }

        foreach (var component in address.Components)
        {
            if (component.Protocol == MultiaddrProtocol.P2p)
            {
                return false;
            }
        }

        return true;
    }
}
