using PromiseGrid.Mesh.Identify;
using PromiseGrid.Mesh.Identity;

namespace PromiseGrid.Mesh.Host;

/// <summary>Something that happened to the host's connections, read from <see cref="Libp2pHost.Events"/>.</summary>
/// <param name="Peer">The remote peer concerned.</param>
public abstract record HostEvent(PeerId Peer);

/// <summary>A connection finished its upgrade and is usable.</summary>
public sealed record PeerConnected(PeerConnection Connection) : HostEvent(Connection.RemotePeer);

/// <summary>A connection ended; <paramref name="Reason"/> is set when it failed rather than closed.</summary>
public sealed record PeerDisconnected(PeerConnection Connection, Exception? Reason) : HostEvent(Connection.RemotePeer);

/// <summary>The remote answered identify (or pushed an update); <paramref name="Info"/> is the merged view.</summary>
public sealed record PeerIdentified(PeerConnection Connection, IdentifyInfo Info) : HostEvent(Connection.RemotePeer);

/// <summary>Identifying the remote failed; the connection stays open.</summary>
public sealed record PeerIdentifyFailed(PeerConnection Connection, Exception Error) : HostEvent(Connection.RemotePeer);
