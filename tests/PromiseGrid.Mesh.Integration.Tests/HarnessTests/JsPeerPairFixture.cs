using PromiseGrid.Mesh.Integration.Tests.Harness;

namespace PromiseGrid.Mesh.Integration.Tests.HarnessTests;

/// <summary>Two js-libp2p peers on loopback, started once per test class: a seeded listener and a dialer.</summary>
public sealed class JsPeerPairFixture : IAsyncLifetime
{
    /// <summary>Ed25519 seed of the listener: bytes 0x00..0x1f.</summary>
    public static readonly byte[] ListenerSeed = [.. Enumerable.Range(0, 32).Select(i => (byte)i)];

    public JsPeer Listener { get; private set; } = null!;

    public JsPeer Dialer { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Listener = await JsPeer.StartAsync(new JsPeerOptions { Name = "js-listener", Seed = ListenerSeed });
        Dialer = await JsPeer.StartAsync(new JsPeerOptions { Name = "js-dialer" });
    }

    public async Task DisposeAsync()
    {
        if (Dialer is not null)
        {
            await Dialer.DisposeAsync();
        }

        if (Listener is not null)
        {
            await Listener.DisposeAsync();
        }
    }
}
