using PromiseGrid.Mesh.Host;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Integration.Tests.Harness;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Integration.Tests.Interop;

/// <summary>One real js-libp2p peer (a node process) and one C# host on loopback, shared by a test class.</summary>
public sealed class InteropHostFixture : IAsyncLifetime
{
    private readonly IdentityKeyPair _identity = IdentityKeyPair.Generate();

    public JsPeer Js { get; private set; } = null!;

    public Libp2pHost Host { get; private set; } = null!;

    public Multiaddr JsAddress => Multiaddr.Parse(Js.Address);

    public PeerId JsPeerId => PeerId.Parse(Js.PeerId);

    public string HostAddress => Host.ListenAddresses[0].WithPeerId(Host.PeerId).ToString();

    public async Task InitializeAsync()
    {
        Js = await JsPeer.StartAsync(new JsPeerOptions { Name = "js-interop" });
        Host = new Libp2pHost(new Libp2pHostOptions
        {
            Identity = _identity,
            ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
            EnablePing = true,
            EnablePerf = true,
            EnableEcho = true,
        });
        await Host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }

        if (Js is not null)
        {
            await Js.DisposeAsync();
        }

        _identity.Dispose();
    }
}
