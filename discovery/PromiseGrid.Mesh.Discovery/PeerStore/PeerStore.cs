using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery;

/// <summary>
/// Known peers: addresses (with source and last-seen time), protocols and agent version per
/// peer id. Bounded by <see cref="PeerStoreOptions.MaxPeers"/> (least recently seen peer evicted)
/// and <see cref="PeerStoreOptions.MaxAddressesPerPeer"/> (least recently seen address evicted).
/// Persisted as JSON in <see cref="PeerStoreOptions.DataDirectory"/> by <see cref="SaveAsync"/>
/// (temp file + rename, so a crash leaves the old or the new file, never half of one) and read
/// back by <see cref="LoadAsync"/>. Thread-safe.
/// </summary>
public sealed partial class PeerStore
{
    private readonly PeerStoreOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _saveLock = new(1, 1);
    private readonly Dictionary<PeerId, Entry> _peers = [];

    /// <summary>An empty store (nothing is read; use <see cref="LoadAsync"/> to read the file).</summary>
    public PeerStore(PeerStoreOptions? options = null)
    {
        _options = options ?? PeerStoreOptions.Default;
        _options.Validate();
        _logger = _options.LoggerFactory.CreateLogger<PeerStore>();
    }

    /// <summary>Full path of the store file, or null for an in-memory store.</summary>
    public string? FilePath => _options.DataDirectory is null ? null : Path.Combine(_options.DataDirectory, PeerStoreOptions.FileName);

    /// <summary>Number of peers held.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _peers.Count;
            }
        }
    }

    /// <summary>
    /// Records <paramref name="addresses"/> of <paramref name="peerId"/> as seen now from
    /// <paramref name="source"/>. A trailing <c>/p2p/&lt;peerId&gt;</c> is stripped.
    /// </summary>
    /// <exception cref="ArgumentException">An address names a different peer id.</exception>
    public void AddAddresses(PeerId peerId, IEnumerable<Multiaddr> addresses, string source)
    {
        ArgumentNullException.ThrowIfNull(peerId);
        ArgumentNullException.ThrowIfNull(addresses);
        ArgumentException.ThrowIfNullOrEmpty(source);
        var normalized = addresses.Select(a => Normalize(peerId, a)).ToArray();
        var now = _options.TimeProvider.GetUtcNow();
        lock (_gate)
        {
            var entry = GetOrAdd(peerId, now);
            foreach (var address in normalized)
            {
                entry.Addresses[address] = new PeerAddress(address, Truncate(source), now);
            }

            TrimAddresses(entry);
        }
    }

    /// <summary>Replaces the protocols <paramref name="peerId"/> supports (at most <see cref="PeerStoreOptions.MaxProtocolsPerPeer"/> kept).</summary>
    public void SetProtocols(PeerId peerId, IEnumerable<string> protocols)
    {
        ArgumentNullException.ThrowIfNull(peerId);
        ArgumentNullException.ThrowIfNull(protocols);
        var list = protocols.Where(p => !string.IsNullOrEmpty(p)).Select(Truncate).Distinct(StringComparer.Ordinal)
            .Take(_options.MaxProtocolsPerPeer).ToArray();
        var now = _options.TimeProvider.GetUtcNow();
        lock (_gate)
        {
            GetOrAdd(peerId, now).Protocols = list;
        }
    }

    /// <summary>Sets the agent version <paramref name="peerId"/> reported (truncated to <see cref="PeerStoreOptions.MaxStringLength"/>).</summary>
    public void SetAgentVersion(PeerId peerId, string? agentVersion)
    {
        ArgumentNullException.ThrowIfNull(peerId);
        var now = _options.TimeProvider.GetUtcNow();
        lock (_gate)
        {
            GetOrAdd(peerId, now).AgentVersion = agentVersion is null ? null : Truncate(agentVersion);
        }
    }

    /// <summary>A snapshot of <paramref name="peerId"/>'s record, addresses most recently seen first.</summary>
    public bool TryGet(PeerId peerId, [NotNullWhen(true)] out PeerRecord? record)
    {
        lock (_gate)
        {
            record = _peers.TryGetValue(peerId, out var entry) ? entry.Snapshot(peerId) : null;
            return record is not null;
        }
    }

    /// <summary>Snapshots of every peer, most recently seen first.</summary>
    public IReadOnlyList<PeerRecord> GetAll()
    {
        lock (_gate)
        {
            return _peers.OrderByDescending(p => p.Value.LastSeen).Select(p => p.Value.Snapshot(p.Key)).ToArray();
        }
    }

    /// <summary>Forgets <paramref name="peerId"/>.</summary>
    public bool Remove(PeerId peerId)
    {
        lock (_gate)
        {
            return _peers.Remove(peerId);
        }
    }

    /// <summary>Forgets one address of <paramref name="peerId"/> (the peer stays, possibly without addresses).</summary>
    public bool RemoveAddress(PeerId peerId, Multiaddr address)
    {
        var normalized = Normalize(peerId, address);
        lock (_gate)
        {
            return _peers.TryGetValue(peerId, out var entry) && entry.Addresses.Remove(normalized);
        }
    }

    private static Multiaddr Normalize(PeerId peerId, Multiaddr address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.Components.Count > 0 && address.Components[^1].Protocol == MultiaddrProtocol.P2p)
        {
            if (address.PeerId != peerId)
            {
                throw new ArgumentException($"address {address} does not belong to {peerId}", nameof(address));
            }

            return address.WithoutPeerId();
        }

        return address;
    }

    private Entry GetOrAdd(PeerId peerId, DateTimeOffset now)
    {
        if (!_peers.TryGetValue(peerId, out var entry))
        {
            while (_peers.Count >= _options.MaxPeers)
            {
                var oldest = _peers.MinBy(p => p.Value.LastSeen).Key;
                _peers.Remove(oldest);
                PeerStoreLog.Evicted(_logger, oldest.ToString(), _options.MaxPeers);
            }

            entry = new Entry();
            _peers[peerId] = entry;
        }

        if (now > entry.LastSeen)
        {
            entry.LastSeen = now;
        }

        return entry;
    }

    private void TrimAddresses(Entry entry)
    {
        while (entry.Addresses.Count > _options.MaxAddressesPerPeer)
        {
            entry.Addresses.Remove(entry.Addresses.Values.MinBy(a => a.LastSeen)!.Address);
        }
    }

    private string Truncate(string text) => text.Length <= _options.MaxStringLength ? text : text[.._options.MaxStringLength];

    private sealed class Entry
    {
        public Dictionary<Multiaddr, PeerAddress> Addresses { get; } = [];

        public IReadOnlyList<string> Protocols { get; set; } = [];

        public string? AgentVersion { get; set; }

        public DateTimeOffset LastSeen { get; set; }

        public PeerRecord Snapshot(PeerId peerId) =>
            new(peerId, [.. Addresses.Values.OrderByDescending(a => a.LastSeen)], Protocols, AgentVersion, LastSeen);
    }
}
