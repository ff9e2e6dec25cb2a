using CsCheck;
using PromiseGrid.Mesh.Discovery.Mdns;
using PromiseGrid.Mesh.Discovery.Tests.Testing;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Tests.Mdns;

/// <summary>Fuzz properties of the packet parser: only our typed errors escape, valid responses round-trip.</summary>
public class MdnsCodecPropertyTests
{
    private static readonly PeerId[] Ids = [TestPeers.Id(1), TestPeers.Id(2), TestPeers.Id(3)];

    private static readonly Gen<string> PeerNameGen =
        Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789"].Array[MdnsOptions.MinPeerNameLength, MdnsOptions.MaxPeerNameLength]
            .Select(chars => new string(chars));

    private static readonly Gen<Multiaddr> AddressGen =
        Gen.Select(Gen.Byte, Gen.Byte, Gen.Byte, Gen.Byte, Gen.Int[1, 65535], Gen.Bool)
            .Select((a, b, c, d, port, udp) => Multiaddr.Parse($"/ip4/{a}.{b}.{c}.{d}/{(udp ? "udp" : "tcp")}/{port}"));

    private static readonly Gen<(string Name, PeerId Id, Multiaddr[] Addresses, TimeSpan Ttl)> ResponseGen =
        Gen.Select(PeerNameGen, Gen.Int[0, Ids.Length - 1], AddressGen.Array[1, 8], Gen.Int[0, 100_000])
            .Select((name, id, addresses, ttl) => (name, Ids[id], addresses.Distinct().Select(a => a.WithPeerId(Ids[id])).ToArray(), TimeSpan.FromSeconds(ttl)));

    [Fact]
    public void Decode_RandomBytes_ThrowsOnlyMeshExceptions()
    {
        Gen.Byte.Array[0, 700].Sample(bytes => DecodeAndReadExpectingOnlyMeshErrors(bytes), iter: 4_000);
    }

    [Fact]
    public void Decode_RandomBodyBehindPlausibleHeader_ThrowsOnlyMeshExceptions()
    {
        Gen.Select(Gen.Int[0, 4], Gen.Int[0, 4], Gen.Int[0, 4], Gen.Byte.Array[0, 400])
            .Select((q, an, ad, body) => Convert.FromHexString($"00008400{q:x4}{an:x4}0000{ad:x4}").Concat(body).ToArray())
            .Sample(bytes => DecodeAndReadExpectingOnlyMeshErrors(bytes), iter: 4_000);
    }

    [Fact]
    public void Decode_MutatedValidResponse_ThrowsOnlyMeshExceptions()
    {
        Gen.Select(ResponseGen, Gen.Select(Gen.Int[0, 100_000], Gen.Byte).Array[1, 6], Gen.Int[0, 3])
            .Sample((response, mutations, cut) =>
            {
                var bytes = MdnsCodec.EncodeResponse(MdnsCodec.DefaultServiceName, response.Name, response.Addresses, response.Ttl);
                foreach (var (position, value) in mutations)
                {
                    bytes[position % bytes.Length] = value;
                }

                var length = cut == 0 ? bytes.Length / 2 : bytes.Length;
                DecodeAndReadExpectingOnlyMeshErrors(bytes.AsSpan(0, length).ToArray());
            }, iter: 1_500);
    }

    [Fact]
    public void EncodeResponse_ValidPeer_RoundTrips()
    {
        ResponseGen.Sample(response =>
        {
            var bytes = MdnsCodec.EncodeResponse(MdnsCodec.DefaultServiceName, response.Name, response.Addresses, response.Ttl);
            var decoded = MdnsCodec.ReadResponse(MdnsCodec.Decode(bytes));

            var peer = Assert.Single(decoded.Peers);
            Assert.Equal(response.Id, peer.PeerId);
            Assert.Equal(response.Addresses, peer.Addresses);
            Assert.Equal(response.Ttl, peer.Ttl);
            Assert.Equal(MdnsCodec.InstanceName(response.Name, MdnsCodec.DefaultServiceName), peer.InstanceName);
        }, iter: 500);
    }

    private static void DecodeAndReadExpectingOnlyMeshErrors(byte[] bytes)
    {
        try
        {
            var message = MdnsCodec.Decode(bytes);
            _ = MdnsCodec.IsServiceQuery(message, MdnsCodec.DefaultServiceName, out _);
            _ = MdnsCodec.IsInstanceQuery(message, "x._p2p._udp.local");
            _ = MdnsCodec.ReadResponse(message);
        }
        catch (MeshException)
        {
            // the only failure allowed
        }
    }
}
