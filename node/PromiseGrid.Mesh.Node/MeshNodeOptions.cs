using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Node.Mesh;
using PromiseGrid.Mesh.Node.Ports;

namespace PromiseGrid.Mesh.Node;

/// <summary>Options of a <see cref="MeshNode"/>; every default is what <c>pgnode run</c> uses.</summary>
public sealed record MeshNodeOptions
{
    /// <summary>The node's identity (required).</summary>
    public IdentityKeyPair? Identity { get; init; }

    /// <summary>Listen addresses (default none: a client-only node).</summary>
    public IReadOnlyList<Multiaddr> ListenAddresses { get; init; } = [];

    /// <summary>Where the peer store (<c>peers.json</c>) lives; <c>null</c> keeps it in memory only.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Run mDNS discovery (default off).</summary>
    public bool EnableMdns { get; init; }

    /// <summary>Interfaces for mDNS; empty means every up, multicast-capable, non-loopback interface.</summary>
    public IReadOnlyList<string> MdnsInterfaces { get; init; } = [];

    /// <summary>Bootstrap peers (each must end in <c>/p2p/&lt;id&gt;</c>), dialled at start and redialled with backoff.</summary>
    public IReadOnlyList<Multiaddr> BootstrapPeers { get; init; } = [];

    /// <summary>Serve and use <c>/promisegrid/pex/1.0.0</c> (default on).</summary>
    public bool EnablePeerExchange { get; init; } = true;

    /// <summary>Dial the peers remembered in the peer store at start (default on).</summary>
    public bool DialStoredPeers { get; init; } = true;

    /// <summary>
    /// Delays before redialling a discovered peer whose every address failed (each ±20 % jitter);
    /// after the last one the node waits for the peer to be discovered again.
    /// Default 0.5, 1, 2, 4, 8, 16 s.
    /// </summary>
    public IReadOnlyList<TimeSpan> DialRetryDelays { get; init; } =
        [TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(16)];

    /// <summary>
    /// When two nodes discover each other by mDNS, the one with the larger peer id waits this long
    /// for the other's dial before dialling itself, so a pair ends up with one connection, not two.
    /// Default 2 s.
    /// </summary>
    public TimeSpan SimultaneousDialDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Connection water marks and protection.</summary>
    public ConnectionManagerOptions ConnectionManager { get; init; } = ConnectionManagerOptions.Default;

    /// <summary>Serve <c>/perf/1.0.0</c> and <c>/echo/1.0.0</c> besides identify and ping.</summary>
    public bool EnableDiagnostics { get; init; } = true;

    /// <summary>Limits of the node's port kernel (queue limits, message sizes).</summary>
    public PortKernelOptions Kernel { get; init; } = PortKernelOptions.Default;

    /// <summary>Settings of ports across the mesh (windows, redials, holder lease).</summary>
    public RemotePortOptions Ports { get; init; } = RemotePortOptions.Default;

    /// <summary>How long after a change the peer store is written (writes are coalesced).</summary>
    public TimeSpan PeerStoreSaveDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Identity);
        if (BootstrapPeers.Any(p => p.PeerId is null))
        {
            throw new ArgumentException("every bootstrap peer address must end in /p2p/<peer id>", nameof(BootstrapPeers));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(PeerStoreSaveDelay.Ticks, nameof(PeerStoreSaveDelay));
        Kernel.Validate();
        Ports.Validate();
    }
}
