using System.Reflection;

namespace PromiseGrid.Mesh.Integration.Tests.Harness;

/// <summary>
/// Locations inside the repository, found from the test assembly's location by walking up to the
/// directory that holds <c>PromiseGrid.Mesh.sln</c>.
/// </summary>
public static class RepoPaths
{
    /// <summary>File that marks the repository root.</summary>
    public const string RootMarker = "PromiseGrid.Mesh.sln";

    private static readonly Lazy<string> LazyRoot = new(FindRepoRoot);

    /// <summary>Absolute path of the repository root.</summary>
    public static string RepoRoot => LazyRoot.Value;

    /// <summary>The js-libp2p interop peer's folder, <c>tests/interop-js</c>.</summary>
    public static string InteropJsDirectory => Path.Combine(RepoRoot, "tests", "interop-js");

    /// <summary>The interop peer script, <c>tests/interop-js/peer.mjs</c>.</summary>
    public static string JsPeerScript => Path.Combine(InteropJsDirectory, "peer.mjs");

    /// <summary>Build configuration of the running test assembly (Debug or Release).</summary>
    public static string Configuration =>
        typeof(RepoPaths).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    /// <summary>
    /// The built pgnode, <c>node/pgnode/bin/&lt;Config&gt;/net10.0/pgnode.dll</c>, to be run as
    /// <c>dotnet pgnode.dll …</c>. The test project references pgnode, so building the tests builds it.
    /// </summary>
    public static string PgnodeDll(string? configuration = null) =>
        Path.Combine(RepoRoot, "node", "pgnode", "bin", configuration ?? Configuration, "net10.0", "pgnode.dll");

    /// <summary>
    /// A built sample, <c>samples/&lt;name&gt;/bin/&lt;Config&gt;/net10.0/&lt;name&gt;.dll</c>, to be run as <c>dotnet &lt;name&gt;.dll</c>;
    /// throws with instructions when it has not been built.
    /// </summary>
    public static string RequireSampleBuilt(string name, string? configuration = null)
    {
        var dll = Path.Combine(RepoRoot, "samples", name, "bin", configuration ?? Configuration, "net10.0", name + ".dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException(
                $"The sample {name} is not built: {dll} does not exist. Run `dotnet build samples/{name} -c {configuration ?? Configuration}` in {RepoRoot}.");
        }

        return dll;
    }

    /// <summary>Throws with instructions when the interop peer's npm packages are not installed.</summary>
    public static void RequireInteropJsInstalled() => RequireInteropJsInstalled(InteropJsDirectory);

    /// <summary>Throws with instructions unless <paramref name="interopJsDirectory"/> holds peer.mjs and its installed packages.</summary>
    public static void RequireInteropJsInstalled(string interopJsDirectory)
    {
        var script = Path.Combine(interopJsDirectory, "peer.mjs");
        if (!File.Exists(script))
        {
            throw new InvalidOperationException($"The js interop peer is missing: {script} does not exist.");
        }

        if (!Directory.Exists(Path.Combine(interopJsDirectory, "node_modules", "libp2p")))
        {
            throw new InvalidOperationException(
                $"The js interop peer's packages are not installed: run `npm ci` in {interopJsDirectory} " +
                "(needs Node 20+ and the npm registry), then rerun the tests.");
        }
    }

    /// <summary>Throws with instructions when pgnode has not been built for the given configuration.</summary>
    public static string RequirePgnodeBuilt(string? configuration = null)
    {
        var dll = PgnodeDll(configuration);
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException(
                $"pgnode is not built: {dll} does not exist. Run `dotnet build node/pgnode -c {configuration ?? Configuration}` in {RepoRoot}.");
        }

        return dll;
    }

    private static string FindRepoRoot()
    {
        var start = Path.GetDirectoryName(typeof(RepoPaths).Assembly.Location) ?? AppContext.BaseDirectory;
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, RootMarker)))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No {RootMarker} found in {start} or any directory above it.");
    }
}
