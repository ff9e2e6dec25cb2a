using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Identify;

/// <summary>
/// The contents of an Identify message (libp2p-wire.md §7). Every field is optional on the wire;
/// absent scalars are <c>null</c>, absent lists are empty.
/// </summary>
public sealed record IdentifyInfo
{
    /// <summary>The protocol version libp2p peers announce (informational only).</summary>
    public const string DefaultProtocolVersion = "ipfs/0.1.0";

    /// <summary>Field 5, e.g. <c>ipfs/0.1.0</c>.</summary>
    public string? ProtocolVersion { get; init; }

    /// <summary>Field 6, <c>name/version</c>.</summary>
    public string? AgentVersion { get; init; }

    /// <summary>Field 1, the sender's identity key.</summary>
    public PeerPublicKey? PublicKey { get; init; }

    /// <summary>Field 2, the addresses the sender listens on (entries with unknown codes are skipped).</summary>
    public IReadOnlyList<Multiaddr> ListenAddrs { get; init; } = [];

    /// <summary>Field 4, the address of the other side as the sender sees it.</summary>
    public Multiaddr? ObservedAddr { get; init; }

    /// <summary>Field 3, protocol ids the sender accepts inbound streams for.</summary>
    public IReadOnlyList<string> Protocols { get; init; } = [];

    /// <summary>Field 8, a signed peer record envelope; kept as received, not produced.</summary>
    public ReadOnlyMemory<byte>? SignedPeerRecord { get; init; }

    /// <summary>
    /// Applies an identify push (<c>/ipfs/id/push/1.0.0</c>): fields present in
    /// <paramref name="push"/> replace this record's; absent ones are kept.
    /// </summary>
    public IdentifyInfo ApplyPush(IdentifyInfo push)
    {
        ArgumentNullException.ThrowIfNull(push);
        return new IdentifyInfo
        {
            ProtocolVersion = push.ProtocolVersion ?? ProtocolVersion,
            AgentVersion = push.AgentVersion ?? AgentVersion,
            PublicKey = push.PublicKey ?? PublicKey,
            ListenAddrs = push.ListenAddrs.Count > 0 ? push.ListenAddrs : ListenAddrs,
            ObservedAddr = push.ObservedAddr ?? ObservedAddr,
            Protocols = push.Protocols.Count > 0 ? push.Protocols : Protocols,
            SignedPeerRecord = push.SignedPeerRecord ?? SignedPeerRecord,
        };
    }

    /// <summary>
    /// Throws unless <see cref="PublicKey"/> (when present) derives <paramref name="authenticatedPeer"/>,
    /// the peer id the security handshake proved.
    /// </summary>
    /// <exception cref="ProtocolViolationException">The key belongs to another peer.</exception>
    public void VerifyPeer(PeerId authenticatedPeer)
    {
        ArgumentNullException.ThrowIfNull(authenticatedPeer);
        if (PublicKey is not null && !PublicKey.ToPeerId().Equals(authenticatedPeer))
        {
            throw new ProtocolViolationException($"identify public key derives {PublicKey.ToPeerId()}, not the authenticated peer {authenticatedPeer}");
        }
    }
}
