using System.Threading.Channels;
using PromiseGrid.Mesh.Discovery.PeerExchange;
using PromiseGrid.Mesh.Host;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Node.Mesh;

namespace PromiseGrid.Mesh.Node.Tests.Mesh;

/// <summary>The host adapters with real libp2p hosts on loopback (TCP, Noise, Yamux, identify).</summary>
public sealed class HostAdaptersTests : IAsyncDisposable
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

    [Fact]
    public async Task BootstrapConnectionDropped_MeshMaintenanceRedialsOverRealHosts()
    {
        var bootstrap = await StartHostAsync();
        var b = await StartHostAsync();
        var manager = new ConnectionManager();
        var dialer = new Discovery.Bootstrap.BootstrapDialer(
            new Discovery.Bootstrap.BootstrapOptions { Peers = [AddressOf(bootstrap)], InitialBackoff = TimeSpan.FromMilliseconds(10), MaxBackoff = TimeSpan.FromMilliseconds(50) },
            new HostPeerDialer(b));
        var maintenance = new MeshMaintenance(manager, dialer, null, new ConnectionTrimmer(manager, new HostConnectionView(b)));
        _owned.Insert(0, maintenance);
        var connected = Channel.CreateUnbounded<PeerConnection>();
        using var stopPump = new CancellationTokenSource();
        var pump = PumpAsync(b, maintenance, connected.Writer, stopPump.Token);
        try
        {
            maintenance.Start();
            var first = await connected.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
            Assert.Equal(bootstrap.PeerId, first.RemotePeer);
            Assert.True(manager.IsProtected(bootstrap.PeerId));

            await first.DisposeAsync();

            var second = await connected.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
            Assert.Equal(bootstrap.PeerId, second.RemotePeer);
            Assert.NotEqual(first.Id, second.Id);
        }
        finally
        {
            await stopPump.CancelAsync();
            await pump.WaitAsync(Timeout);
        }
    }

    /// <summary>What the node does: host events → mesh maintenance.</summary>
    private static async Task PumpAsync(Libp2pHost host, MeshMaintenance maintenance, ChannelWriter<PeerConnection> connected, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var e in host.Events.ReadAllAsync(cancellationToken))
            {
                switch (e)
                {
                    case PeerConnected c:
                        maintenance.OnConnectionOpened(c.Peer, c.Connection.RemoteAddress);
                        connected.TryWrite(c.Connection);
                        break;
                    case PeerDisconnected d:
                        maintenance.OnConnectionClosed(d.Peer);
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private sealed class ChannelSink : IDiscoveredPeerSink
    {
        public Channel<(PeerId, IReadOnlyList<Multiaddr>, string)> Added { get; } =
            Channel.CreateUnbounded<(PeerId, IReadOnlyList<Multiaddr>, string)>();

        public void AddPeer(PeerId peer, IReadOnlyList<Multiaddr> addresses, string source) =>
            Added.Writer.TryWrite((peer, addresses, source));
    }
}
