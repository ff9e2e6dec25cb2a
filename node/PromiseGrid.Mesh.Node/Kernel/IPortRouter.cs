using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Kernel;

/// <summary>
/// The seam to other nodes (docs/ports-protocol.md). The kernel hands a message whose
/// destination's home is another node to the router, and tells it when rights held to other
/// nodes' ports are gone or when a local port that other nodes hold rights to dies. The
/// notification methods are called under the kernel lock: they must only queue work.
/// </summary>
internal interface IPortRouter
{
    /// <summary>
    /// Carries <paramref name="message"/> to the home node of its destination and completes
    /// when that node has enqueued it. The message's rights are already copied in; the router
    /// owns the message from the call on and settles it through the kernel
    /// (<see cref="PortKernel.BeginForwardLocked"/>, <see cref="PortKernel.CompleteForwardLocked"/>).
    /// </summary>
    ValueTask ForwardAsync(PortMessage message, TimeSpan? timeout, CancellationToken cancellationToken);

    /// <summary>
    /// Carries <paramref name="message"/> like <see cref="ForwardAsync"/>, without a time limit
    /// and without anyone waiting for the outcome (a notification to a port whose receive right
    /// moved away); its rights are settled all the same. May be called under the kernel lock.
    /// </summary>
    void Forward(PortMessage message);

    /// <summary>This node no longer holds the given rights to the remote port <paramref name="port"/>: give them back to its home.</summary>
    void ReleaseRemote(PortRef port, int send, int sendOnce);

    /// <summary>The local port <paramref name="port"/> died; <paramref name="holders"/> held rights to it.</summary>
    void LocalPortDied(PortId port, IReadOnlyList<PeerId> holders);
}
