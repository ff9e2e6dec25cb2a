namespace PromiseGrid.Mesh.Discovery.PeerExchange;

/// <summary>
/// The PromiseGrid peer-exchange protocol: a node asks a connected peer for the peers that peer
/// is connected to or saw recently. Specified in <c>docs/peer-exchange.md</c> (§ numbers below
/// refer to it).
/// </summary>
public static class PeerExchangeProtocol
{
    /// <summary>Protocol id negotiated with multistream-select on a fresh stream (§1).</summary>
    public const string ProtocolId = "/promisegrid/pex/1.0.0";

    /// <summary>Largest response body (protobuf bytes after the length prefix), 16 KiB (§4).</summary>
    public const int MaxMessageSize = 16 * 1024;

    /// <summary>Largest request body; requests are a few bytes, the rest is room for later fields (§4).</summary>
    public const int MaxRequestSize = 256;

    /// <summary>Most peers in one response (§4).</summary>
    public const int MaxPeersPerResponse = 64;

    /// <summary>Most addresses per peer in one response (§4).</summary>
    public const int MaxAddressesPerPeer = 8;
}
