using PromiseGrid.Mesh.Identity;

namespace PromiseGrid.Mesh.Node.Tests;

internal static class TestPeers
{
    private static readonly IdentityKeyPair LocalKey = IdentityKeyPair.Generate();
    private static readonly IdentityKeyPair RemoteKey = IdentityKeyPair.Generate();

    public static PeerId Local => LocalKey.PeerId;

    public static PeerId Remote => RemoteKey.PeerId;

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
}
