namespace PromiseGrid.Mesh.Cli;

/// <summary>The embedded defaults pgnode runs with when the operator says nothing.</summary>
internal static class Defaults
{
    /// <summary>Listen address of <c>pgnode run</c>: every IPv4 interface, the conventional libp2p port.</summary>
    public const string ListenAddress = "/ip4/0.0.0.0/tcp/4001";

    /// <summary>The node's data directory: <c>$PGNODE_HOME</c>, else <c>$XDG_DATA_HOME/promisegrid-mesh</c>, else <c>~/.local/share/promisegrid-mesh</c>.</summary>
    public static string DataDirectory
    {
        get
        {
            var home = Environment.GetEnvironmentVariable("PGNODE_HOME");
            if (!string.IsNullOrEmpty(home))
            {
                return home;
            }

            var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
            var root = !string.IsNullOrEmpty(xdg)
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
            return Path.Combine(root, "promisegrid-mesh");
        }
    }

    public const string KeyFileName = "identity.key";

    public static string KeyFile => Path.Combine(DataDirectory, KeyFileName);
}
