using System.Text;
using PromiseGrid.Mesh.Host;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Node.Ports;

namespace PromiseGrid.Mesh.Node.Tests.Remote;

/// <summary>Real <see cref="MeshNode"/>s on loopback (TCP, Noise, Yamux, the ports protocol), disposed after each test.</summary>
public abstract class MeshNodesFixture : IAsyncDisposable
{
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private readonly List<IAsyncDisposable> _owned = [];

    public async ValueTask DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync().AsTask().WaitAsync(Timeout);
        }

        GC.SuppressFinalize(this);
    }

    protected async Task<MeshNode> StartNodeAsync(RemotePortOptions? ports = null, PortKernelOptions? kernel = null, IdentityKeyPair? identity = null, string listen = "/ip4/127.0.0.1/tcp/0")
    {
        var node = await MeshNode.StartAsync(new MeshNodeOptions
        {
            Identity = identity ?? IdentityKeyPair.Generate(),
            ListenAddresses = [Multiaddr.Parse(listen)],
            EnablePeerExchange = false,
            DialStoredPeers = false,
            Ports = ports ?? RemotePortOptions.Default,
            Kernel = kernel ?? PortKernelOptions.Default,
        }).WaitAsync(Timeout);
        _owned.Add(node);
        return node;
    }

    /// <summary>A bare libp2p host on loopback (no kernel, no ports layer), disposed after the test.</summary>
    protected async Task<Libp2pHost> StartRawHostAsync()
    {
        var host = new Libp2pHost(new Libp2pHostOptions
        {
            Identity = IdentityKeyPair.Generate(),
            ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
        });
        _owned.Add(host);
        await host.StartAsync().WaitAsync(Timeout);
        return host;
    }

    /// <summary>
    /// Two nodes, A knowing B's address: on B the task <c>Server</c> holds the port <c>Inbox</c>
    /// (queue limit <paramref name="qlimit"/>) published as "inbox"; on A the task <c>Client</c>.
    /// </summary>
    protected async Task<NodePair> PairAsync(int qlimit = 16, IdentityKeyPair? identityOfB = null)
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync(kernel: PortKernelOptions.Default with { MaxQueueLimit = Math.Max(qlimit, PortKernelOptions.Default.MaxQueueLimit) }, identity: identityOfB);
        Introduce(a, b);
        var server = b.Kernel.CreateTask("server");
        var inbox = server.CreatePort();
        server.SetQueueLimit(inbox, qlimit);
        b.Ports.Publish(server, inbox, "inbox");
        return new NodePair(a, b, server, inbox, a.Kernel.CreateTask("client"));
    }

    /// <summary>What <see cref="PairAsync"/> set up.</summary>
    protected sealed record NodePair(MeshNode A, MeshNode B, PortTask Server, PortName Inbox, PortTask Client);

    /// <summary>Disposes a node this fixture started, ahead of the end of the test.</summary>
    protected async Task StopNodeAsync(MeshNode node)
    {
        _owned.Remove(node);
        await node.DisposeAsync().AsTask().WaitAsync(Timeout);
    }

    protected static Multiaddr AddressOf(MeshNode node) => node.Host.ListenAddresses[0].WithPeerId(node.PeerId);

    /// <summary>Lets <paramref name="from"/> reach <paramref name="to"/> (an address in its store; no connection yet).</summary>
    protected static void Introduce(MeshNode from, MeshNode to) =>
        from.PeerStore.AddAddresses(to.PeerId, [to.Host.ListenAddresses[0]], "test");

    protected static PortMessage Text(PortName destination, string text, int id = 0) =>
        PortMessage.Create(destination, Encoding.UTF8.GetBytes(text), id);

    protected static string TextOf(PortMessage message) => Encoding.UTF8.GetString(message.Payload.Span);

    protected static async Task<PortMessage> ReceiveAsync(PortTask task, PortName port) =>
        await task.ReceiveMessageAsync(port, Timeout).AsTask().WaitAsync(Timeout);

    /// <summary>Polls a condition that another node makes true (bounded by <see cref="Timeout"/>).</summary>
    protected static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (!condition())
        {
            try
            {
                await Task.Delay(10, cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"timed out waiting until {what}");
            }
        }
    }
}
