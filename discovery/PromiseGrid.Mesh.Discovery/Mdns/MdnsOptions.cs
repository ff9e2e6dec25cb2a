using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace PromiseGrid.Mesh.Discovery.Mdns;

/// <summary>Settings of <see cref="MdnsDiscovery"/> (libp2p-wire.md §9). Defaults follow js-libp2p.</summary>
public sealed record MdnsOptions
{
    /// <summary>Shortest peer name the generator makes and the spec recommends (§9).</summary>
    public const int MinPeerNameLength = 32;

    /// <summary>Longest peer name: one DNS label (§9).</summary>
    public const int MaxPeerNameLength = 63;

    /// <summary>The defaults.</summary>
    public static MdnsOptions Default { get; } = new();

    /// <summary>
    /// Names of the network interfaces to run on. Empty (the default) means every interface that
    /// is up, multicast-capable and not loopback. Tests and the node pass explicit names.
    /// </summary>
    public IReadOnlyList<string> Interfaces { get; init; } = [];

    /// <summary>Time between find-all queries after the first burst. Default 10 s (js-libp2p).</summary>
    public TimeSpan QueryInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Delays (from start) of the first queries, before <see cref="QueryInterval"/> takes over. Default 0, 0.25 s, 1 s.</summary>
    public IReadOnlyList<TimeSpan> InitialQueryDelays { get; init; } =
        [TimeSpan.Zero, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(1)];

    /// <summary>TTL of the records we announce. Default 120 s (js-libp2p).</summary>
    public TimeSpan RecordTtl { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>DNS-SD service name. Default <c>_p2p._udp.local</c>; <c>_p2p-&lt;hex&gt;._udp.local</c> with a private network.</summary>
    public string ServiceName { get; init; } = MdnsCodec.DefaultServiceName;

    /// <summary>Makes this node's peer name. Default: 32–63 random characters <c>[a-z0-9]</c>.</summary>
    public Func<string> PeerNameGenerator { get; init; } = GeneratePeerName;

    /// <summary>Least time between two multicast answers on one interface (RFC 6762 §6). Default 1 s.</summary>
    public TimeSpan MinResponseInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Use IPv4 (224.0.0.251:5353). Default true.</summary>
    public bool UseIPv4 { get; init; } = true;

    /// <summary>Use IPv6 (ff02::fb:5353). Default true.</summary>
    public bool UseIPv6 { get; init; } = true;

    /// <summary>Capacity of the <see cref="MdnsDiscovery.Discovered"/> channel; the oldest event is dropped when full. Default 256.</summary>
    public int EventCapacity { get; init; } = 256;

    /// <summary>Most peers remembered at once; further new peers are ignored until some expire. Default 1024.</summary>
    public int MaxPeers { get; init; } = 1024;

    /// <summary>Clock for the query schedule and expiry. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Logging. Default no logging.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> or <see cref="ArgumentException"/> on a bad setting.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(QueryInterval, TimeSpan.Zero, nameof(QueryInterval));
        ArgumentOutOfRangeException.ThrowIfLessThan(RecordTtl, TimeSpan.FromSeconds(1), nameof(RecordTtl));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(RecordTtl, TimeSpan.FromSeconds(uint.MaxValue / 2), nameof(RecordTtl));
        ArgumentOutOfRangeException.ThrowIfLessThan(MinResponseInterval, TimeSpan.Zero, nameof(MinResponseInterval));
        ArgumentOutOfRangeException.ThrowIfLessThan(EventCapacity, 1, nameof(EventCapacity));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPeers, 1, nameof(MaxPeers));
        ArgumentNullException.ThrowIfNull(Interfaces);
        ArgumentNullException.ThrowIfNull(InitialQueryDelays);
        ArgumentNullException.ThrowIfNull(PeerNameGenerator);
        ArgumentNullException.ThrowIfNull(TimeProvider);
        ArgumentNullException.ThrowIfNull(LoggerFactory);
        ArgumentException.ThrowIfNullOrWhiteSpace(ServiceName);
        if (InitialQueryDelays.Any(d => d < TimeSpan.Zero))
        {
            throw new ArgumentOutOfRangeException(nameof(InitialQueryDelays), "query delays cannot be negative");
        }

        if (!UseIPv4 && !UseIPv6)
        {
            throw new ArgumentException("enable IPv4, IPv6 or both", nameof(UseIPv4));
        }
    }

    /// <summary>Checks a peer name: one DNS label, 1–63 characters of <c>[a-z0-9-]</c>.</summary>
    internal static bool IsValidPeerName(string name) =>
        name.Length is > 0 and <= MaxPeerNameLength && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');

    /// <summary>32–63 random lower-case alphanumerics (go and rust do the same).</summary>
    public static string GeneratePeerName()
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        var length = RandomNumberGenerator.GetInt32(MinPeerNameLength, MaxPeerNameLength + 1);
        return RandomNumberGenerator.GetString(alphabet, length);
    }
}
