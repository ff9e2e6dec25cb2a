using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Host;

/// <summary>Settings of <see cref="Libp2pHost"/>.</summary>
public sealed record Libp2pHostOptions
{
    /// <summary>Agent version announced by identify unless set.</summary>
    public const string DefaultAgentVersion = "promisegrid-mesh/0.1.0";

    /// <summary>This node's identity key. Required.</summary>
    public IdentityKeyPair? Identity { get; init; }

    /// <summary>Addresses to listen on (port 0 picks a free port). Default: none (dial only).</summary>
    public IReadOnlyList<Multiaddr> ListenAddresses { get; init; } = [];

    /// <summary>Identify <c>agentVersion</c>. Default <see cref="DefaultAgentVersion"/>.</summary>
    public string AgentVersion { get; init; } = DefaultAgentVersion;

    /// <summary>
    /// Time an inbound connection has for the whole upgrade (multistream, Noise, multistream, yamux
    /// start), as go-libp2p's accept timeout (libp2p-wire.md §11 rule 7). Default 15 s.
    /// </summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Time an outbound dial has for TCP connect plus the upgrade. Default 15 s.</summary>
    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Time a new inbound stream has to select a protocol. Default 10 s.</summary>
    public TimeSpan StreamNegotiationTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Time a handler's stream waits, after the handler returned, for the remote to close its side
    /// before the stream is reset. Default 10 s.
    /// </summary>
    public TimeSpan StreamCloseTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Most connections (both directions) at once; further inbound ones are dropped. Default 1024.</summary>
    public int MaxConnections { get; init; } = 1024;

    /// <summary>Most inbound connections still upgrading at once; further ones are dropped. Default 64.</summary>
    public int MaxPendingInbound { get; init; } = 64;

    /// <summary>Capacity of the <see cref="Libp2pHost.Events"/> queue; the oldest event is dropped when full. Default 1024.</summary>
    public int EventQueueCapacity { get; init; } = 1024;

    /// <summary>Answer <c>/ipfs/ping/1.0.0</c>. Default <c>true</c>.</summary>
    public bool EnablePing { get; init; } = true;

    /// <summary>Answer <c>/perf/1.0.0</c>. Default <c>false</c> (the perf spec says not to enable it by default).</summary>
    public bool EnablePerf { get; init; }

    /// <summary>Answer <c>/echo/1.0.0</c>. Default <c>false</c>.</summary>
    public bool EnableEcho { get; init; }

    /// <summary>Clock for timeouts. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Logger source; defaults to no logging.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Throws on missing or inconsistent settings.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Identity);
        ArgumentNullException.ThrowIfNull(ListenAddresses);
        ArgumentException.ThrowIfNullOrWhiteSpace(AgentVersion);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(HandshakeTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(DialTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(StreamNegotiationTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(StreamCloseTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConnections, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPendingInbound, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(EventQueueCapacity, 1);
        ArgumentNullException.ThrowIfNull(TimeProvider);
        ArgumentNullException.ThrowIfNull(LoggerFactory);
    }
}
