using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Tcp;

namespace PromiseGrid.Mesh.Host;

public sealed partial class Libp2pHost
{
    /// <summary>
    /// Connects to <paramref name="address"/> (<c>/ip4|ip6/…/tcp/…</c>, optionally <c>/p2p/&lt;id&gt;</c>)
    /// and upgrades the connection. With a <c>/p2p</c> id, an open connection to that peer is reused
    /// and concurrent dials to it share one attempt.
    /// </summary>
    /// <exception cref="PeerUnreachableException">TCP connect failed.</exception>
    /// <exception cref="PeerIdMismatchException">The remote authenticated as another peer than the <c>/p2p</c> id.</exception>
    /// <exception cref="MeshTimeoutException">Connect plus upgrade took longer than <see cref="Libp2pHostOptions.DialTimeout"/>.</exception>
    /// <exception cref="ProtocolNegotiationException">The remote speaks neither Noise nor yamux.</exception>
    public async ValueTask<PeerConnection> DialAsync(Multiaddr address, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var expected = address.PeerId;
        if (expected is null)
        {
            return await DialNewAsync(address, null, cancellationToken).ConfigureAwait(false);
        }

        if (expected.Equals(PeerId))
        {
            throw new ArgumentException("a host cannot dial itself", nameof(address));
        }

        Task<PeerConnection> dial;
        lock (_sync)
        {
            if (TryGetOpenConnectionLocked(expected, out var existing))
            {
                return existing;
            }

            if (!_pendingDials.TryGetValue(expected, out dial!))
            {
                dial = DialAndForgetAsync(address, expected);
                _pendingDials[expected] = dial;
            }
        }

        return await dial.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Opens a stream to <paramref name="peer"/> over an open connection and selects the first of
    /// <paramref name="protocols"/> the remote supports.
    /// </summary>
    /// <exception cref="PeerUnreachableException">No open connection to the peer.</exception>
    /// <exception cref="ProtocolNegotiationException">The peer supports none of the protocols.</exception>
    public ValueTask<IMuxedStream> NewStreamAsync(PeerId peer, IReadOnlyList<string> protocols, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peer);
        PeerConnection? connection;
        lock (_sync)
        {
            TryGetOpenConnectionLocked(peer, out connection);
        }

        return connection is null
            ? ValueTask.FromException<IMuxedStream>(new PeerUnreachableException($"no open connection to {peer}"))
            : connection.NewStreamAsync(protocols, cancellationToken);
    }

    /// <summary>As <see cref="NewStreamAsync(PeerId, IReadOnlyList{string}, CancellationToken)"/> for one protocol.</summary>
    public ValueTask<IMuxedStream> NewStreamAsync(PeerId peer, string protocolId, CancellationToken cancellationToken = default) =>
        NewStreamAsync(peer, [protocolId], cancellationToken);

    /// <summary>Dials <paramref name="address"/> (reusing a connection when it names a known peer), then opens a stream.</summary>
    public async ValueTask<IMuxedStream> NewStreamAsync(Multiaddr address, IReadOnlyList<string> protocols, CancellationToken cancellationToken = default)
    {
        var connection = await DialAsync(address, cancellationToken).ConfigureAwait(false);
        return await connection.NewStreamAsync(protocols, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>As <see cref="NewStreamAsync(Multiaddr, IReadOnlyList{string}, CancellationToken)"/> for one protocol.</summary>
    public ValueTask<IMuxedStream> NewStreamAsync(Multiaddr address, string protocolId, CancellationToken cancellationToken = default) =>
        NewStreamAsync(address, [protocolId], cancellationToken);

    private bool TryGetOpenConnectionLocked(PeerId peer, out PeerConnection connection)
    {
        if (_connections.TryGetValue(peer, out var list))
        {
            foreach (var candidate in list)
            {
                if (!candidate.IsClosed)
                {
                    connection = candidate;
                    return true;
                }
            }
        }

        connection = null!;
        return false;
    }

    private async Task<PeerConnection> DialAndForgetAsync(Multiaddr address, PeerId expected)
    {
        await Task.Yield();
        try
        {
            return await DialNewAsync(address, expected, _shutdown.Token).ConfigureAwait(false);
        }
        finally
        {
            lock (_sync)
            {
                _pendingDials.Remove(expected);
            }
        }
    }

    private async Task<PeerConnection> DialNewAsync(Multiaddr address, PeerId? expected, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.DialTimeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token, _shutdown.Token);
        ITransportConnection? transport = null;
        ISecureChannel? channel = null;
        try
        {
            transport = await _transport.DialAsync(address, linked.Token).ConfigureAwait(false);
            channel = await _upgrader.SecureOutboundAsync(transport, expected, linked.Token).ConfigureAwait(false);
            var session = await _upgrader.MuxOutboundAsync(channel, linked.Token).ConfigureAwait(false);
            return Register(channel, session, ConnectionDirection.Outbound);
        }
        catch (Exception ex) when (ex is not PeerUnreachableException)
        {
            if (channel is not null)
            {
                channel.Abort(ex);
                await channel.DisposeAsync().ConfigureAwait(false);
            }
            else if (transport is not null)
            {
                transport.Abort(ex);
                await transport.DisposeAsync().ConfigureAwait(false);
            }

            if (ex is OperationCanceledException && timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new MeshTimeoutException($"dialing {address} did not finish within {_options.DialTimeout}", ex);
            }

            throw;
        }
    }

    private async Task AcceptLoopAsync(TcpListenerHandle listener)
    {
        await Task.Yield();
        try
        {
            await foreach (var transport in listener.AcceptAllAsync(_shutdown.Token).ConfigureAwait(false))
            {
                if (Interlocked.Increment(ref _pendingInbound) > _options.MaxPendingInbound)
                {
                    Interlocked.Decrement(ref _pendingInbound);
                    HostLog.InboundRejected(_logger, transport.RemoteAddress.ToString(), "too many pending handshakes");
                    transport.Abort();
                    await transport.DisposeAsync().ConfigureAwait(false);
                    continue;
                }

                if (Volatile.Read(ref _connectionCount) >= _options.MaxConnections)
                {
                    Interlocked.Decrement(ref _pendingInbound);
                    HostLog.InboundRejected(_logger, transport.RemoteAddress.ToString(), "connection limit reached");
                    transport.Abort();
                    await transport.DisposeAsync().ConfigureAwait(false);
                    continue;
                }

                _tasks.Run(() => UpgradeInboundAsync(transport));
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            HostLog.AcceptLoopFailed(_logger, listener.ListenAddress.ToString(), ex);
        }
    }

    private async Task UpgradeInboundAsync(ITransportConnection transport)
    {
        using var timeout = new CancellationTokenSource(_options.HandshakeTimeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _shutdown.Token);
        ISecureChannel? channel = null;
        try
        {
            channel = await _upgrader.SecureInboundAsync(transport, linked.Token).ConfigureAwait(false);
            var session = await _upgrader.MuxInboundAsync(channel, linked.Token).ConfigureAwait(false);
            Register(channel, session, ConnectionDirection.Inbound);
        }
        catch (Exception ex)
        {
            var error = ex is OperationCanceledException && timeout.IsCancellationRequested
                ? new MeshTimeoutException($"the inbound upgrade did not finish within {_options.HandshakeTimeout}", ex)
                : ex;
            HostLog.InboundUpgradeFailed(_logger, transport.RemoteAddress.ToString(), error);
            if (channel is not null)
            {
                channel.Abort(error);
                await channel.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                transport.Abort(error);
                await transport.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _pendingInbound);
        }
    }

    private PeerConnection Register(ISecureChannel channel, IMuxedSession session, ConnectionDirection direction)
    {
        var connection = new PeerConnection(channel, session, direction);
        lock (_sync)
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                connection.Abort(new ConnectionClosedException("the host is shutting down"));
            }

            if (!_connections.TryGetValue(connection.RemotePeer, out var list))
            {
                list = [];
                _connections[connection.RemotePeer] = list;
            }

            list.Add(connection);
            Interlocked.Increment(ref _connectionCount);
        }

        HostLog.Connected(_logger, direction.ToString(), connection.Id, connection.RemotePeer.ToString(), connection.RemoteAddress.ToString());
        Publish(new PeerConnected(connection));
        _tasks.Run(() => RunConnectionAsync(connection));
        _tasks.Run(() => IdentifyRemoteAsync(connection));
        return connection;
    }

    /// <summary>Accepts the connection's inbound streams until it ends, then releases it.</summary>
    private async Task RunConnectionAsync(PeerConnection connection)
    {
        Exception? reason = null;
        try
        {
            while (true)
            {
                var stream = await connection.Session.AcceptStreamAsync(_shutdown.Token).ConfigureAwait(false);
                _tasks.Run(() => ServeStreamAsync(stream, connection));
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            reason = ex is ConnectionClosedException { InnerException: null } ? null : ex;
        }

        try
        {
            await connection.CloseCoreAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            reason ??= ex;
        }

        lock (_sync)
        {
            if (_connections.TryGetValue(connection.RemotePeer, out var list) && list.Remove(connection))
            {
                Interlocked.Decrement(ref _connectionCount);
                if (list.Count == 0)
                {
                    _connections.Remove(connection.RemotePeer);
                }
            }
        }

        HostLog.Disconnected(_logger, connection.Id, connection.RemotePeer.ToString(), reason);
        Publish(new PeerDisconnected(connection, reason));
        connection.MarkReleased();
    }
}
