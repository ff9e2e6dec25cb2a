using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Identify;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Multistream;

namespace PromiseGrid.Mesh.Host;

/// <summary>
/// One upgraded connection (TCP + Noise + yamux) to a remote peer, owned by a <see cref="Libp2pHost"/>.
/// Open streams with <see cref="NewStreamAsync(IReadOnlyList{string}, CancellationToken)"/>; inbound
/// streams go to the host's handlers. Closing it (or the host) ends every stream on it.
/// </summary>
public sealed class PeerConnection : IAsyncDisposable
{
    private static long _lastId;
    private readonly ISecureChannel _channel;
    private readonly IMuxedSession _session;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IdentifyInfo? _remoteInfo;
    private int _disposed;

    internal PeerConnection(ISecureChannel channel, IMuxedSession session, ConnectionDirection direction)
    {
        _channel = channel;
        _session = session;
        Direction = direction;
        Id = Interlocked.Increment(ref _lastId);
        RemoteAddress = channel.Transport.RemoteAddress;
        LocalAddress = channel.Transport.LocalAddress;
    }

    /// <summary>Process-unique number of this connection, for logs.</summary>
    public long Id { get; }

    /// <summary>The Noise-authenticated remote peer.</summary>
    public PeerId RemotePeer => _channel.RemotePeer;

    /// <summary>The remote's identity key, proved by the Noise handshake.</summary>
    public PeerPublicKey RemotePublicKey => _channel.RemotePublicKey;

    /// <summary>The remote TCP address (<c>/ip4|ip6/…/tcp/…</c>).</summary>
    public Multiaddr RemoteAddress { get; }

    /// <summary>The local TCP address of this connection.</summary>
    public Multiaddr LocalAddress { get; }

    /// <summary>Which side dialled.</summary>
    public ConnectionDirection Direction { get; }

    /// <summary>What the remote told us through identify (and pushes), once known.</summary>
    public IdentifyInfo? RemoteInfo => Volatile.Read(ref _remoteInfo);

    /// <summary>Completes when the connection has ended and the host has let go of it.</summary>
    public Task Completion => _closed.Task;

    /// <summary>Whether the connection has ended or is closing.</summary>
    public bool IsClosed => Volatile.Read(ref _disposed) != 0 || _session.Completion.IsCompleted;

    internal IMuxedSession Session => _session;

    /// <summary>Opens a stream and selects the first of <paramref name="protocols"/> the remote supports.</summary>
    /// <exception cref="ProtocolNegotiationException">The remote supports none of them (the stream is reset).</exception>
    /// <exception cref="ConnectionClosedException">The connection has ended.</exception>
    public async ValueTask<IMuxedStream> NewStreamAsync(IReadOnlyList<string> protocols, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(protocols);
        var stream = await _session.OpenStreamAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            stream.Protocol = await MultistreamSelect.SelectOneOfAsync(stream, protocols, cancellationToken).ConfigureAwait(false);
            return stream;
        }
        catch
        {
            stream.Reset();
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Opens a stream for one protocol.</summary>
    public ValueTask<IMuxedStream> NewStreamAsync(string protocol, CancellationToken cancellationToken = default) =>
        NewStreamAsync([protocol], cancellationToken);

    /// <summary>Hard close: yamux GoAway and drop the TCP connection.</summary>
    public void Abort(Exception? reason = null)
    {
        _session.Abort(reason);
        _channel.Abort(reason);
    }

    /// <summary>Closes the session (streams end), the secure channel and the socket; waits until the host has released it.</summary>
    public async ValueTask DisposeAsync()
    {
        await CloseCoreAsync().ConfigureAwait(false);
        await _closed.Task.ConfigureAwait(false);
    }

    internal void SetRemoteInfo(IdentifyInfo info) => Volatile.Write(ref _remoteInfo, info);

    internal IdentifyInfo UpdateRemoteInfo(IdentifyInfo push)
    {
        while (true)
        {
            var current = Volatile.Read(ref _remoteInfo);
            var updated = current is null ? push : current.ApplyPush(push);
            if (Interlocked.CompareExchange(ref _remoteInfo, updated, current) == current)
            {
                return updated;
            }
        }
    }

    /// <summary>Closes the session and channel without waiting for the host's bookkeeping.</summary>
    internal async ValueTask CloseCoreAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // A session or channel that already failed reports that failure again when disposed; the
        // connection is gone either way, so closing never throws.
        try
        {
            await _session.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is MeshException or IOException or OperationCanceledException)
        {
        }

        try
        {
            await _channel.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is MeshException or IOException or OperationCanceledException)
        {
        }
    }

    internal void MarkReleased() => _closed.TrySetResult();

    /// <inheritdoc/>
    public override string ToString() => $"{Direction} connection {Id} to {RemotePeer} at {RemoteAddress}";
}
