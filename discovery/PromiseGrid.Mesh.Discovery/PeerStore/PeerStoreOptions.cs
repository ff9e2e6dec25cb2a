using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace PromiseGrid.Mesh.Discovery;

/// <summary>Settings of <see cref="PeerStore"/>.</summary>
public sealed record PeerStoreOptions
{
    /// <summary>File name of the store inside <see cref="DataDirectory"/>.</summary>
    public const string FileName = "peers.json";

    /// <summary>Largest store file read at load (bytes).</summary>
    public const long MaxFileLength = 16 * 1024 * 1024;

    /// <summary>The defaults (in memory only).</summary>
    public static PeerStoreOptions Default { get; } = new();

    /// <summary>Directory holding <c>peers.json</c>; null (the default) keeps the store in memory only.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Most peers kept; adding one more evicts the peer seen least recently. Default 1000.</summary>
    public int MaxPeers { get; init; } = 1000;

    /// <summary>Most addresses kept per peer; adding one more evicts the address seen least recently. Default 16.</summary>
    public int MaxAddressesPerPeer { get; init; } = 16;

    /// <summary>Most protocol ids kept per peer. Default 64.</summary>
    public int MaxProtocolsPerPeer { get; init; } = 64;

    /// <summary>Longest agent version or protocol id kept (characters). Default 256.</summary>
    public int MaxStringLength { get; init; } = 256;

    /// <summary>Clock for last-seen times. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Logging. Default none.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> on a bad setting.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPeers, 1, nameof(MaxPeers));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxAddressesPerPeer, 1, nameof(MaxAddressesPerPeer));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxProtocolsPerPeer, 0, nameof(MaxProtocolsPerPeer));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxStringLength, 1, nameof(MaxStringLength));
        ArgumentNullException.ThrowIfNull(TimeProvider);
        ArgumentNullException.ThrowIfNull(LoggerFactory);
    }
}
