using System.Buffers;
using System.IO.Pipelines;
using PromiseGrid.Mesh.Host;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Libp2p.Tests.Host;

internal static class HostTestKit
{
    public static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(20);

    public static async Task<Libp2pHost> StartHostAsync(Func<Libp2pHostOptions, Libp2pHostOptions>? configure = null, string listen = "/ip4/127.0.0.1/tcp/0")
    {
        var options = new Libp2pHostOptions
        {
            Identity = IdentityKeyPair.Generate(),
            ListenAddresses = [Multiaddr.Parse(listen)],
            EnableEcho = true,
            EnablePerf = true,
        };
        var host = new Libp2pHost(configure?.Invoke(options) ?? options);
        await host.StartAsync().WaitAsync(TestTimeout);
        return host;
    }

    public static Multiaddr AddressOf(Libp2pHost host) => host.ListenAddresses[0].WithPeerId(host.PeerId);

    public static async Task<T> WaitForEventAsync<T>(Libp2pHost host, Func<T, bool>? predicate = null)
        where T : HostEvent
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        await foreach (var e in host.Events.ReadAllAsync(cts.Token))
        {
            if (e is T match && (predicate is null || predicate(match)))
            {
                return match;
            }
        }

        throw new InvalidOperationException("event stream ended");
    }

}
