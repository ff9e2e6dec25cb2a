using CsCheck;
using PromiseGrid.Mesh.Discovery.PeerExchange;
using PromiseGrid.Mesh.Discovery.Tests.Bootstrap;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Tests.PeerExchange;

/// <summary>Hostile bytes end in a <see cref="MeshException"/>, never in any other exception.</summary>
public class PexCodecFuzzTests
{
    private static readonly byte[] Valid = PexCodec.EncodeResponse(
    [
        new PexPeerInfo(Identity.PeerId.Parse("12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"), [Multiaddr.Parse("/ip6/::1/tcp/1")]),
        .. Enumerable.Range(1, 5).Select(n => new PexPeerInfo(TestPeers.Id(n),
            [Multiaddr.Parse($"/ip4/1.2.3.{n}/tcp/4001"), Multiaddr.Parse($"/dns4/n{n}.example/tcp/1")])),
    ]);

    private static void DecodeOrMeshException(byte[] bytes)
    {
        try
        {
            var peers = PexCodec.DecodeResponse(bytes);
            Assert.True(peers.Count <= PeerExchangeProtocol.MaxPeersPerResponse);
            Assert.All(peers, p => Assert.True(p.Addresses.Count <= PeerExchangeProtocol.MaxAddressesPerPeer));
        }
        catch (MeshException)
        {
        }
    }

    [Fact]
    public void DecodeResponse_RandomBytes_OnlyMeshExceptions() =>
        Gen.Byte.Array[0, 600].Sample(DecodeOrMeshException, iter: 4_000);

    [Fact]
    public void DecodeResponse_MutatedValidResponse_OnlyMeshExceptions() =>
        Gen.Select(Gen.Int[0, Valid.Length - 1], Gen.Byte, Gen.Int[0, Valid.Length])
            .Sample((position, value, cut) =>
            {
                var bytes = (byte[])Valid.Clone();
                bytes[position] = value;
                DecodeOrMeshException(bytes[..cut]);
            }, iter: 4_000);

    [Fact]
    public void DecodeRequest_RandomBytes_OnlyMeshExceptions() =>
        Gen.Byte.Array[0, 64].Sample(bytes =>
        {
            try
            {
                Assert.True(PexCodec.DecodeRequest(bytes) >= 0);
            }
            catch (MeshException)
            {
            }
        }, iter: 4_000);
}
