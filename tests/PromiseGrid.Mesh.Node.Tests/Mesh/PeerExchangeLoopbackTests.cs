using System.Threading.Channels;
using PromiseGrid.Mesh.Discovery.PeerExchange;
using PromiseGrid.Mesh.Host;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Node.Mesh;

namespace PromiseGrid.Mesh.Node.Tests.Mesh;

/// <summary>Peer exchange between real libp2p hosts on loopback (TCP, Noise, Yamux, identify).</summary>
public sealed class PeerExchangeLoopbackTests : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private readonly List<IAsyncDisposable> _owned = [];

    public async ValueTask DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync().AsTask().WaitAsync(Timeout);
        }
    }

    private async Task<Libp2pHost> StartHostAsync()
    {
        var host = new Libp2pHost(new Libp2pHostOptions
        {
            Identity = IdentityKeyPair.Generate(),
            ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
        });
        _owned.Add(host);
        await host.StartAsync().WaitAsync(Timeout);
        host.HandlePeerExchange(new PeerExchangeHandler(new HostPexPeerSource(host)));
        return host;
    }

    private static Multiaddr AddressOf(Libp2pHost host) => host.ListenAddresses[0].WithPeerId(host.PeerId);

    private static async Task WaitForIdentifiedAsync(Libp2pHost host, params PeerId[] peers)
    {
        var pending = new HashSet<PeerId>(peers);
        using var cts = new CancellationTokenSource(Timeout);
        await foreach (var e in host.Events.ReadAllAsync(cts.Token))
        {
            if (e is PeerIdentified identified && pending.Remove(identified.Peer) && pending.Count == 0)
            {
                return;
            }
        }
    }

    [Fact]
    public async Task TwoHostsSharingOnlyABootstrapHost_LearnEachOtherAndConnect()
    {
        var bootstrap = await StartHostAsync();
        var b = await StartHostAsync();
        var c = await StartHostAsync();
        await b.DialAsync(AddressOf(bootstrap)).AsTask().WaitAsync(Timeout);
        await c.DialAsync(AddressOf(bootstrap)).AsTask().WaitAsync(Timeout);
        await WaitForIdentifiedAsync(bootstrap, b.PeerId, c.PeerId);

        var sink = new ChannelSink();
        var service = new PeerExchangeService(b.PeerId, new HostPexStreamOpener(b), sink);
        _owned.Insert(0, service);
        service.Start();
        service.NotifyConnected(bootstrap.PeerId, bootstrap.ListenAddresses[0]);

        var (peer, addresses, source) = await sink.Added.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal(c.PeerId, peer);
        Assert.Equal("exchange", source);
        Assert.Contains(c.ListenAddresses[0], addresses);

        var direct = await b.DialAsync(addresses[0].WithPeerId(peer)).AsTask().WaitAsync(Timeout);
        Assert.Equal(c.PeerId, direct.RemotePeer);
    }

    private sealed class ChannelSink : IDiscoveredPeerSink
    {
        public Channel<(PeerId, IReadOnlyList<Multiaddr>, string)> Added { get; } =
            Channel.CreateUnbounded<(PeerId, IReadOnlyList<Multiaddr>, string)>();

        public void AddPeer(PeerId peer, IReadOnlyList<Multiaddr> addresses, string source) =>
            Added.Writer.TryWrite((peer, addresses, source));
    }
}
