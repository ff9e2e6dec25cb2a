using PromiseGrid.Mesh.Identity;

namespace PromiseGrid.Mesh.Node.Mesh;

/// <summary>
/// Connection-trimming policy (pure: it decides, the <see cref="ConnectionTrimmer"/> acts).
/// <list type="number">
/// <item>Nothing is trimmed while the node holds at most <see cref="ConnectionManagerOptions.HighWater"/> connections.</item>
/// <item>Above it, connections are closed until <see cref="ConnectionManagerOptions.LowWater"/> remain, counting every
/// connection (protected and new ones included), as far as the rules below allow.</item>
/// <item>Connections of protected peers are never closed. A peer is protected while it holds at least one
/// protection tag (for example <c>"bootstrap"</c>, or <c>"ports"</c> while port streams are open).</item>
/// <item>Connections younger than <see cref="ConnectionManagerOptions.GracePeriod"/> are never closed.</item>
/// <item>Among the rest, the least useful go first: fewest open streams, then longest idle
/// (earliest <see cref="ConnectionSnapshot.LastActivity"/>), then oldest, then lowest connection id.</item>
/// </list>
/// Thread-safe.
/// </summary>
public sealed class ConnectionManager
{
    /// <summary>Protection tag for bootstrap peers.</summary>
    public const string BootstrapTag = "bootstrap";

    /// <summary>Protection tag for peers with open port streams.</summary>
    public const string PortsTag = "ports";

    private readonly Dictionary<PeerId, HashSet<string>> _protections = [];
    private readonly Lock _lock = new();

    /// <exception cref="ArgumentOutOfRangeException">Invalid options.</exception>
    public ConnectionManager(ConnectionManagerOptions? options = null)
    {
        options ??= ConnectionManagerOptions.Default;
        options.Validate();
        Options = options;
    }

    public ConnectionManagerOptions Options { get; }

    /// <summary>Protects <paramref name="peer"/> under <paramref name="tag"/> (tags are independent; adding one twice is harmless).</summary>
    public void Protect(PeerId peer, string tag)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentException.ThrowIfNullOrEmpty(tag);
        lock (_lock)
        {
            if (!_protections.TryGetValue(peer, out var tags))
            {
                _protections[peer] = tags = new HashSet<string>(StringComparer.Ordinal);
            }

            tags.Add(tag);
        }
    }

    /// <summary>Removes one protection tag; returns whether the peer is still protected by another tag.</summary>
    public bool Unprotect(PeerId peer, string tag)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentException.ThrowIfNullOrEmpty(tag);
        lock (_lock)
        {
            if (!_protections.TryGetValue(peer, out var tags))
            {
                return false;
            }

            tags.Remove(tag);
            if (tags.Count == 0)
            {
                _protections.Remove(peer);
                return false;
            }

            return true;
        }
    }

    /// <summary>Whether <paramref name="peer"/> holds any protection tag.</summary>
    public bool IsProtected(PeerId peer)
    {
        lock (_lock)
        {
            return _protections.ContainsKey(peer);
        }
    }

    /// <summary>
    /// The connections to close, least useful first, given every open connection and the time now
    /// (empty when at or below the high water mark).
    /// </summary>
    public IReadOnlyList<ConnectionSnapshot> SelectForTrim(IReadOnlyList<ConnectionSnapshot> connections, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(connections);
        if (connections.Count <= Options.HighWater)
        {
            return [];
        }

        var excess = connections.Count - Options.LowWater;
        List<ConnectionSnapshot> candidates;
        lock (_lock)
        {
            candidates = connections
                .Where(c => !_protections.ContainsKey(c.Peer) && now - c.OpenedAt >= Options.GracePeriod)
                .ToList();
        }

        return candidates
            .OrderBy(c => c.StreamCount)
            .ThenBy(c => c.LastActivity)
            .ThenBy(c => c.OpenedAt)
            .ThenBy(c => c.ConnectionId)
            .Take(excess)
            .ToList();
    }
}
