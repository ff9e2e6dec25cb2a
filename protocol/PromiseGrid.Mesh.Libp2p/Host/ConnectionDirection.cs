namespace PromiseGrid.Mesh.Host;

/// <summary>Which side opened the TCP connection.</summary>
public enum ConnectionDirection
{
    /// <summary>We dialled (Noise initiator, yamux client).</summary>
    Outbound,

    /// <summary>The remote dialled us (Noise responder, yamux server).</summary>
    Inbound,
}
