namespace PromiseGrid.Mesh.Discovery.Bootstrap;

/// <summary>Where the loop of one bootstrap peer is.</summary>
public enum BootstrapPeerState
{
    /// <summary>A dial is in progress.</summary>
    Dialing,

    /// <summary>Connected; waiting for the connection to drop.</summary>
    Connected,

    /// <summary>Waiting out a backoff delay before the next dial.</summary>
    BackingOff,

    /// <summary>The dialer was disposed.</summary>
    Stopped,
}
