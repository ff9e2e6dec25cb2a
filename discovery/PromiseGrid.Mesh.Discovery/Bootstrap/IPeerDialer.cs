using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Bootstrap;

/// <summary>
/// Dials a peer. The node adapts its libp2p host to this (<c>Libp2pHost.DialAsync</c>), so the
/// bootstrap policy can be tested in memory.
/// </summary>
public interface IPeerDialer
{
    /// <summary>
    /// Dials <paramref name="address"/> (which ends in <c>/p2p/&lt;id&gt;</c>) and completes once
    /// the connection is up, authenticated and multiplexed. Dialling a peer that is already
    /// connected completes at once.
    /// </summary>
    /// <exception cref="MeshException">The dial failed (unreachable, handshake, wrong peer id).</exception>
    ValueTask DialAsync(Multiaddr address, CancellationToken cancellationToken = default);
}
