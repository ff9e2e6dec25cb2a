using System.IO.Pipelines;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Abstractions;

/// <summary>
/// A raw, unauthenticated transport connection (a TCP socket): a duplex byte pipe with its
/// addresses. Completing <see cref="IDuplexPipe.Output"/> half-closes the socket (FIN);
/// <see cref="Abort"/> resets it. Disposing closes it and awaits its I/O loops.
/// </summary>
public interface ITransportConnection : IDuplexPipe, IAsyncDisposable
{
    Multiaddr LocalAddress { get; }

    Multiaddr RemoteAddress { get; }

    /// <summary>Hard close: pending I/O fails with <paramref name="reason"/>.</summary>
    void Abort(Exception? reason = null);
}

/// <summary>
/// An authenticated, encrypted byte channel produced by a security upgrade (Noise). The only way to
/// obtain one is a successful handshake, so anything built on it knows who the remote peer is.
/// </summary>
public interface ISecureChannel : IDuplexPipe, IAsyncDisposable
{
    Identity.PeerId LocalPeer { get; }

    Identity.PeerId RemotePeer { get; }

    Identity.PeerPublicKey RemotePublicKey { get; }

    ITransportConnection Transport { get; }

    /// <summary>Hard close of the channel and its transport.</summary>
    void Abort(Exception? reason = null);
}

/// <summary>
/// One multiplexed stream.
/// <list type="bullet">
/// <item><see cref="CloseWriteAsync"/> (or completing <see cref="IDuplexPipe.Output"/>) half-closes:
/// it sends FIN after the buffered data; the remote reads to the end; this side can still read.</item>
/// <item><see cref="Reset"/> is a hard close: both directions end at once and pending reads and
/// writes fail with <see cref="StreamResetException"/>.</item>
/// <item><see cref="IAsyncDisposable.DisposeAsync"/> half-closes if not done, and stops reading
/// (a stream disposed before the remote's FIN is reset).</item>
/// </list>
/// Close does not wait for any acknowledgement: to be sure the remote got everything, close the
/// write side, then read until the remote's end of stream.
/// </summary>
public interface IMuxedStream : IDuplexPipe, IAsyncDisposable
{
    /// <summary>The muxer's id of the stream (yamux: odd when opened by the dialer).</summary>
    uint Id { get; }

    /// <summary>The protocol negotiated on the stream, once known.</summary>
    string? Protocol { get; set; }

    ValueTask CloseWriteAsync(CancellationToken cancellationToken = default);

    void Reset();

    /// <summary>
    /// Asks that code awaiting <see cref="IDuplexPipe.Input"/> resume on the connection's read loop,
    /// right after the bytes arrive, instead of being queued to the thread pool: one thread hand-off
    /// less per read. Only for handlers that do little work per read and never block, because while
    /// such a handler runs no other stream of the connection is read. A muxer may ignore it.
    /// </summary>
    void ResumeReadsInline()
    {
    }
}

/// <summary>A multiplexed, authenticated connection to one peer.</summary>
public interface IMuxedSession : IAsyncDisposable
{
    Identity.PeerId RemotePeer { get; }

    /// <summary>Opens a new outbound stream.</summary>
    /// <exception cref="ConnectionClosedException">The session is closed or going away.</exception>
    ValueTask<IMuxedStream> OpenStreamAsync(CancellationToken cancellationToken = default);

    /// <summary>Waits for the next inbound stream.</summary>
    /// <exception cref="ConnectionClosedException">The session ended.</exception>
    ValueTask<IMuxedStream> AcceptStreamAsync(CancellationToken cancellationToken = default);

    /// <summary>Completes when the session has ended, faulted with the reason if it failed.</summary>
    Task Completion { get; }

    /// <summary>Hard close (yamux: GoAway then drop the connection).</summary>
    void Abort(Exception? reason = null);
}
