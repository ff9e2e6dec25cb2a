using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Tests.PeerExchange;

/// <summary>Hand-built protobuf bytes, for messages our own encoder refuses to produce.</summary>
internal static class RawProto
{
    public static byte[] Bytes(int field, ReadOnlySpan<byte> value) =>
        [.. Varint.Encode(((ulong)field << 3) | 2), .. Varint.Encode((ulong)value.Length), .. value];

    public static byte[] UInt(int field, ulong value) => [.. Varint.Encode((ulong)field << 3), .. Varint.Encode(value)];

    public static byte[] Peer(Identity.PeerId id, params Multiaddr[] addresses) =>
        [.. Bytes(1, id.Bytes), .. addresses.SelectMany(a => Bytes(2, a.Bytes))];

    public static byte[] Frame(ReadOnlySpan<byte> body) => [.. Varint.Encode((ulong)body.Length), .. body];
}
