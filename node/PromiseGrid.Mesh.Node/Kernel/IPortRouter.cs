namespace PromiseGrid.Mesh.Kernel;

/// <summary>
/// The seam to other nodes: the kernel hands a message whose destination's home is another node
/// to the router (issue 4). The message's rights are already copied in; the router owns the
/// message from the call on and must destroy it through the kernel if delivery fails.
/// </summary>
internal interface IPortRouter
{
    /// <summary>Carries <paramref name="message"/> to the home node of its destination.</summary>
    ValueTask ForwardAsync(PortMessage message, CancellationToken cancellationToken);
}
