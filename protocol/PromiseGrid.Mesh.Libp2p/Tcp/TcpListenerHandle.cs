using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Tcp;

/// <summary>
/// A listening TCP socket. <see cref="ListenAddress"/> is the bound address (the real port when
/// port 0 was asked for). Disposing stops accepting; connections already accepted stay open.
/// </summary>
public sealed class TcpListenerHandle : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly TcpTransportOptions _options;
    private readonly ILogger _logger;
    private int _disposed;

    internal TcpListenerHandle(Socket socket, TcpTransportOptions options, ILogger logger)
    {
        _socket = socket;
        _options = options;
        _logger = logger;
        ListenAddress = Multiaddr.FromTcpEndPoint((IPEndPoint)socket.LocalEndPoint!);
    }

    /// <summary>The bound address, e.g. <c>/ip4/127.0.0.1/tcp/40123</c>.</summary>
    public Multiaddr ListenAddress { get; }

    /// <summary>Waits for the next inbound connection.</summary>
    /// <exception cref="ConnectionClosedException">The listener was disposed.</exception>
    public async ValueTask<ITransportConnection> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ObjectDisposedException || (ex is SocketException && Volatile.Read(ref _disposed) != 0))
            {
                throw new ConnectionClosedException("the listener is closed", innerException: ex);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                // The peer gave up before we accepted; wait for the next one.
                Log.AcceptError(_logger, ListenAddress.ToString(), ex);
                continue;
            }

            try
            {
                var connection = new SocketConnection(socket, _options, _logger);
                Log.Accepted(_logger, connection.RemoteAddress.ToString(), ListenAddress.ToString());
                return connection;
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // Reset between accept and setup.
                socket.Dispose();
                Log.AcceptError(_logger, ListenAddress.ToString(), ex);
            }
        }
    }

    /// <summary>Inbound connections until the listener is disposed or <paramref name="cancellationToken"/> fires.</summary>
    public async IAsyncEnumerable<ITransportConnection> AcceptAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            ITransportConnection connection;
            try
            {
                connection = await AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ConnectionClosedException)
            {
                yield break;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                yield break;
            }

            yield return connection;
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _socket.Dispose();
        }

        return ValueTask.CompletedTask;
    }
}
