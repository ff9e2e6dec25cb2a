using PromiseGrid.Mesh.Integration.Tests.Harness;

namespace PromiseGrid.Mesh.Integration.Tests.HarnessTests;

public sealed class RepoPathsTests
{
    [Fact]
    public void RepoRoot_FromTestAssembly_HoldsSolutionAndInteropPeer()
    {
        Assert.True(File.Exists(Path.Combine(RepoPaths.RepoRoot, RepoPaths.RootMarker)));
        Assert.True(File.Exists(RepoPaths.JsPeerScript));
        Assert.True(File.Exists(Path.Combine(RepoPaths.InteropJsDirectory, "package-lock.json")));
    }

    [Fact]
    public void PgnodeDll_Configuration_PointsIntoPgnodeBin()
    {
        var dll = RepoPaths.PgnodeDll("Release");

        Assert.Equal(Path.Combine(RepoPaths.RepoRoot, "node", "pgnode", "bin", "Release", "net10.0", "pgnode.dll"), dll);
    }

    [Fact]
    public void RequirePgnodeBuilt_BuiltWithTests_ReturnsExistingDll()
    {
        // The test project references pgnode, so building the tests builds it in the same configuration.
        var dll = RepoPaths.RequirePgnodeBuilt();

        Assert.True(File.Exists(dll), dll);
    }

    [Fact]
    public void RequireInteropJsInstalled_NoNodeModules_TellsToRunNpmCi()
    {
        var dir = Directory.CreateTempSubdirectory("pgm-interop-js-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "peer.mjs"), "// stand-in");

            var ex = Assert.Throws<InvalidOperationException>(() => RepoPaths.RequireInteropJsInstalled(dir));

            Assert.Contains("npm ci", ex.Message, StringComparison.Ordinal);
            Assert.Contains(dir, ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void RequireInteropJsInstalled_RepoCheckout_Passes()
    {
        RepoPaths.RequireInteropJsInstalled();

        Assert.True(Directory.Exists(Path.Combine(RepoPaths.InteropJsDirectory, "node_modules", "libp2p")));
    }
}
