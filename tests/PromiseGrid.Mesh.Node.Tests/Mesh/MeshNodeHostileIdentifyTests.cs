using PromiseGrid.Mesh.Host;
using PromiseGrid.Mesh.Identify;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Node.Tests.Remote;

namespace PromiseGrid.Mesh.Node.Tests.Mesh;

/// <summary>
/// A remote writes its own identify record; a hostile one must not stop the node's event loop.
/// A real <see cref="MeshNode"/> and real hosts on loopback.
/// </summary>
public sealed class MeshNodeHostileIdentifyTests : MeshNodesFixture
{
    private static async Task<T> NextAsync<T>(MeshNode node, Func<T, bool> match)
        where T : HostEvent
    {
        using var cts = new CancellationTokenSource(Timeout);
        await foreach (var e in node.Events.ReadAllAsync(cts.Token))
        {
            if (e is MeshHostEvent { Event: T hostEvent } && match(hostEvent))
            {
                return hostEvent;
            }
        }

        throw new InvalidOperationException("event stream ended");
    }

    [Fact]
    public async Task IdentifyPushNamingAnotherPeer_IsDroppedAndTheNodeKeepsServing()
    {
        var node = await StartNodeAsync();
        var nodeAddress = AddressOf(node);
        var hostile = await StartRawHostAsync();
        var connection = await hostile.DialAsync(nodeAddress).AsTask().WaitAsync(Timeout);
        await NextAsync<PeerIdentified>(node, i => i.Peer == hostile.PeerId);

        var someoneElse = IdentityKeyPair.Generate().PeerId;
        var foreign = Multiaddr.Parse($"/ip4/127.0.0.1/tcp/1111/p2p/{someoneElse}");
        var own = Multiaddr.Parse("/ip4/127.0.0.1/tcp/2222");
        var stream = await connection.NewStreamAsync(IdentifyProtocol.PushProtocolId).AsTask().WaitAsync(Timeout);
        await using (stream)
        {
            await IdentifyProtocol.WriteAsync(stream, new IdentifyInfo { ListenAddrs = [foreign, own] }).AsTask().WaitAsync(Timeout);
            await stream.CloseWriteAsync().AsTask().WaitAsync(Timeout);
            await NextAsync<PeerIdentified>(node, i => i.Peer == hostile.PeerId && i.Info.ListenAddrs.Contains(own));
        }

        // The loop is still alive: a later connection is seen, and the store holds only the peer's own address.
        var later = await StartRawHostAsync();
        await later.DialAsync(nodeAddress).AsTask().WaitAsync(Timeout);
        await NextAsync<PeerConnected>(node, c => c.Peer == later.PeerId);
        Assert.True(node.PeerStore.TryGet(hostile.PeerId, out var record));
        Assert.Contains(record.Addresses, a => a.Address.Equals(own));
        Assert.DoesNotContain(record.Addresses, a => a.Address.ToString().Contains("1111", StringComparison.Ordinal));
        Assert.False(node.PeerStore.TryGet(someoneElse, out _));
    }

    [Theory]
    [InlineData("/ip4/127.0.0.1/tcp/1", true)]
    [InlineData("/ip4/127.0.0.1/tcp/1/p2p/SELF", true)]
    [InlineData("/ip4/127.0.0.1/tcp/1/p2p/OTHER", false)]
    public void BelongsTo_AcceptsOnlyAddressesWithoutOrWithTheAnnouncersId(string text, bool expected)
    {
        var self = IdentityKeyPair.Generate().PeerId;
        var other = IdentityKeyPair.Generate().PeerId;
        var address = Multiaddr.Parse(text.Replace("SELF", self.ToString(), StringComparison.Ordinal).Replace("OTHER", other.ToString(), StringComparison.Ordinal));
        Assert.Equal(expected, MeshNode.BelongsTo(self, address));
    }
}
