using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Node.Ports;

/// <summary>
/// Ports across the mesh (docs/ports-protocol.md): carries messages for ports whose home is
/// another node over <c>/promisegrid/ports/1.0.0</c>, with acknowledgements, retries and
/// exactly-once enqueueing, and keeps the rights other nodes hold to this node's ports.
/// A task uses a remote port exactly like a local one once it holds a send right to it; the
/// first right comes from <see cref="LookupAsync(PortTask, PortRef, TimeSpan?, CancellationToken)"/> of a published port or inside a message.
/// </summary>
public sealed partial class RemotePorts
{
    /// <summary>
    /// Publishes the port whose receive right <paramref name="task"/> holds under
    /// <paramref name="receiveRight"/>: any peer may then obtain a send right to it with
    /// <see cref="LookupAsync(PortTask, PortRef, TimeSpan?, CancellationToken)"/> (Mach's <c>netname_check_in</c>). Unpublished ports are reachable
    /// only by peers that were given a right.
    /// </summary>
    /// <exception cref="InvalidRightException">The name is not a receive right.</exception>
    public void Publish(PortTask task, PortName receiveRight, string serviceName) => throw new NotImplementedException();

    /// <summary>Withdraws a published name; rights already handed out stay valid.</summary>
    public bool Unpublish(string serviceName) => throw new NotImplementedException();

    /// <summary>
    /// A send right in <paramref name="task"/>'s space to the published port <paramref name="port"/>,
    /// asked of its home node (dialled if need be, at the addresses the peer store knows).
    /// </summary>
    /// <exception cref="NoRightException">The port exists but is not published.</exception>
    /// <exception cref="PortDeadException">No such port at its home.</exception>
    /// <exception cref="NodeUnreachableException">The home node could not be reached in time.</exception>
    public ValueTask<PortName> LookupAsync(PortTask task, PortRef port, TimeSpan? timeout = null, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>A send right to the port published as <paramref name="serviceName"/> on <paramref name="home"/>.</summary>
    public ValueTask<PortName> LookupAsync(PortTask task, PeerId home, string serviceName, TimeSpan? timeout = null, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>The global reference of the port <paramref name="name"/> denotes (to print or hand to an operator; it is not a capability).</summary>
    public PortRef GetPortRef(PortTask task, PortName name) => throw new NotImplementedException();

    /// <summary>Counters since start: requests sent, acknowledged, refused, resent after a reconnect, and reconnects.</summary>
    public RemotePortCounters Counters => throw new NotImplementedException();
}

/// <summary>A snapshot of <see cref="RemotePorts"/> counters.</summary>
public readonly record struct RemotePortCounters(long Sent, long Acked, long Nacked, long Resent, long Reconnects);
