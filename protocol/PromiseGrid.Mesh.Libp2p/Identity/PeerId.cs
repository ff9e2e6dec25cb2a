using SimpleBase;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Identity;

/// <summary>
/// A libp2p peer id: the multihash of the peer's <c>PublicKey</c> protobuf (identity multihash
/// when it is at most 42 bytes, SHA2-256 otherwise). Printed as legacy base58btc; parses the
/// base58btc and the CIDv1 (<c>libp2p-key</c>, base32) forms.
/// </summary>
public sealed class PeerId : IEquatable<PeerId>, IComparable<PeerId>
{
    /// <summary>Multicodec <c>libp2p-key</c>, the CID codec of peer ids.</summary>
    public const ulong Libp2pKeyCodec = 0x72;

    /// <summary>Longest public-key protobuf still inlined with the identity multihash.</summary>
    public const int MaxInlineKeyLength = 42;

    private readonly byte[] _bytes;
    private readonly int _hashCode;
    private string? _text;

    private PeerId(byte[] multihash)
    {
        _bytes = multihash;
        var hash = new HashCode();
        hash.AddBytes(multihash);
        _hashCode = hash.ToHashCode();
    }

    /// <summary>The binary peer id (the multihash).</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>Copies the binary form out.</summary>
    public byte[] ToByteArray() => (byte[])_bytes.Clone();

    public static PeerId FromPublicKey(PeerPublicKey key)
    {
        var encoded = key.Encode();
        return new PeerId(encoded.Length <= MaxInlineKeyLength
            ? Multihash.Create(Multihash.Identity, encoded)
            : Multihash.ComputeSha256(encoded));
    }

    /// <summary>Wraps a binary peer id, checking it is an identity or SHA2-256 multihash.</summary>
    /// <exception cref="InvalidFormatException">Not a valid peer-id multihash.</exception>
    public static PeerId FromBytes(ReadOnlySpan<byte> multihash)
    {
        var bytes = multihash.ToArray();
        var (code, digest) = Multihash.Decode(bytes);
        switch (code)
        {
            case Multihash.Identity when digest.Length <= MaxInlineKeyLength:
                PeerPublicKey.Decode(digest.Span);
                break;
            case Multihash.Sha2_256 when digest.Length == 32:
                break;
            default:
                throw new InvalidFormatException($"not a peer id: multihash code 0x{code:x} with a {digest.Length}-byte digest");
        }

        return new PeerId(bytes);
    }

    /// <summary>Parses either text form.</summary>
    /// <exception cref="InvalidFormatException">Neither form.</exception>
    public static PeerId Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.StartsWith('1') || text.StartsWith("Qm", StringComparison.Ordinal))
        {
            if (text.Length > 128)
            {
                throw new InvalidFormatException("peer id text is too long");
            }

            byte[] bytes;
            try
            {
                bytes = Base58.Bitcoin.Decode(text);
            }
            catch (ArgumentException e)
            {
                throw new InvalidFormatException($"'{text}' is not base58btc", e);
            }

            return FromBytes(bytes);
        }

        if (text.Length > 1 && text[0] == 'b')
        {
            byte[] cid;
            try
            {
                cid = Base32.Rfc4648.Decode(text.AsSpan(1));
            }
            catch (ArgumentException e)
            {
                throw new InvalidFormatException($"'{text}' is not base32", e);
            }

            var version = Varint.Read(cid, out var n1);
            var codec = Varint.Read(cid.AsSpan(n1), out var n2);
            if (version != 1 || codec != Libp2pKeyCodec)
            {
                throw new InvalidFormatException($"'{text}' is a CID but not a CIDv1 libp2p-key");
            }

            return FromBytes(cid.AsSpan(n1 + n2));
        }

        throw new InvalidFormatException($"'{text}' is not a peer id");
    }

    public static bool TryParse(string? text, out PeerId? peerId)
    {
        try
        {
            peerId = text is null ? null : Parse(text);
            return peerId is not null;
        }
        catch (InvalidFormatException)
        {
            peerId = null;
            return false;
        }
    }

    /// <summary>The public key, when the id inlines it (identity multihash).</summary>
    public bool TryGetPublicKey(out PeerPublicKey? key)
    {
        var (code, digest) = Multihash.Decode(_bytes);
        key = code == Multihash.Identity ? PeerPublicKey.Decode(digest.Span) : null;
        return key is not null;
    }

    /// <summary>The legacy base58btc text form (<c>12D3KooW…</c> for Ed25519).</summary>
    public override string ToString() => _text ??= Base58.Bitcoin.Encode(_bytes);

    /// <summary>The CIDv1 text form: <c>b</c> + base32(01 72 multihash), lower case.</summary>
    public string ToCidString()
    {
        var cid = new byte[2 + _bytes.Length];
        cid[0] = 0x01;
        cid[1] = (byte)Libp2pKeyCodec;
        _bytes.CopyTo(cid, 2);
        return "b" + Base32.Rfc4648.Encode(cid, padding: false).ToLowerInvariant();
    }

    public bool Equals(PeerId? other) =>
        other is not null && (ReferenceEquals(this, other) || (_hashCode == other._hashCode && _bytes.AsSpan().SequenceEqual(other._bytes)));

    public override bool Equals(object? obj) => Equals(obj as PeerId);

    public override int GetHashCode() => _hashCode;

    public int CompareTo(PeerId? other) => other is null ? 1 : _bytes.AsSpan().SequenceCompareTo(other._bytes);

    public static bool operator ==(PeerId? left, PeerId? right) => left is null ? right is null : left.Equals(right);

    public static bool operator !=(PeerId? left, PeerId? right) => !(left == right);
}
