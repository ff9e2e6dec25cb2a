using PromiseGrid.Mesh.Identity;

namespace PromiseGrid.Mesh.Discovery.Tests.Testing;

internal static class TestPeers
{
    /// <summary>A deterministic Ed25519 peer id from a one-byte seed.</summary>
    public static PeerId Id(byte n)
    {
        var seed = new byte[32];
        seed[0] = n;
        seed[31] = 0x5a;
        using var key = IdentityKeyPair.FromSeed(seed);
        return key.PeerId;
    }
}
