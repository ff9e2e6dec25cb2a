using PromiseGrid.Mesh.Identity;

namespace PromiseGrid.Mesh.Node.Mesh;

/// <summary>
/// What the connection manager needs to know about one open connection, at one instant.
/// </summary>
/// <param name="ConnectionId">The host's id of the connection (unique among open connections).</param>
/// <param name="Peer">The remote peer.</param>
/// <param name="OpenedAt">When the connection was established.</param>
/// <param name="LastActivity">When a stream on it last opened, closed or carried data.</param>
/// <param name="StreamCount">Streams open on it now.</param>
public sealed record ConnectionSnapshot(long ConnectionId, PeerId Peer, DateTimeOffset OpenedAt, DateTimeOffset LastActivity, int StreamCount);

/// <summary>The node's connections as the connection manager sees them; the node adapts its host to it.</summary>
public interface IConnectionView
{
    /// <summary>The open connections now.</summary>
    IReadOnlyList<ConnectionSnapshot> GetConnections();

    /// <summary>Closes a connection (gracefully: yamux GoAway, then the socket). Closing one already gone does nothing.</summary>
    ValueTask CloseAsync(ConnectionSnapshot connection, CancellationToken cancellationToken = default);
}
