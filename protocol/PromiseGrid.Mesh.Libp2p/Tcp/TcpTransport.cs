using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Tcp;

/// <summary>
/// The TCP transport: <c>/ip4|ip6/&lt;addr&gt;/tcp/&lt;port&gt;</c> addresses, optionally followed by
/// <c>/p2p/&lt;id&gt;</c> when dialing. Produces raw, unauthenticated <see cref="ITransportConnection"/>s.
/// </summary>
public sealed class TcpTransport
{
    private readonly TcpTransportOptions _options;
    private readonly ILogger _logger;

    public TcpTransport(TcpTransportOptions? options = null)
    {
        _options = options ?? TcpTransportOptions.Default;
        _options.Validate();
        _logger = _options.LoggerFactory.CreateLogger<TcpTransport>();
    }

    /// <summary><c>true</c> for <c>/ip4|ip6/…/tcp/…</c> with nothing after except an optional <c>/p2p</c>.</summary>
    public static bool CanDial(Multiaddr address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var components = address.WithoutPeerId().Components;
        return components.Count == 2 && address.WithoutPeerId().TryGetTcpEndPoint(out _);
    }

    /// <summary>Binds and listens on <paramref name="address"/> (port 0 picks a free port).</summary>
    /// <exception cref="AddressInUseException">Another socket already listens there.</exception>
    /// <exception cref="ArgumentException">The address is not an ip4/ip6 TCP address.</exception>
    public ValueTask<TcpListenerHandle> ListenAsync(Multiaddr address, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var endPoint = GetEndPoint(address);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                // "::" means IPv6 only, so "/ip4/0.0.0.0" can be bound on the same port beside it.
                socket.DualMode = false;
            }

            socket.Bind(endPoint);
            socket.Listen(_options.ListenBacklog);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            socket.Dispose();
            throw new AddressInUseException(address.ToString(), ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var handle = new TcpListenerHandle(socket, _options, _logger);
        Log.Listening(_logger, handle.ListenAddress.ToString());
        return ValueTask.FromResult(handle);
    }

    /// <summary>Connects to <paramref name="address"/>; a trailing <c>/p2p/…</c> is ignored here (the security upgrade checks it).</summary>
    /// <exception cref="PeerUnreachableException">Refused, unreachable, reset or timed out.</exception>
    public async ValueTask<ITransportConnection> DialAsync(Multiaddr address, CancellationToken cancellationToken = default)
    {
        var endPoint = GetEndPoint(address.WithoutPeerId());
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = _options.NoDelay };
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new PeerUnreachableException($"cannot connect to {address}: {ex.SocketErrorCode}", ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new SocketConnection(socket, _options, _logger);
        Log.Connected(_logger, connection.RemoteAddress.ToString(), connection.LocalAddress.ToString());
        return connection;
    }

    private static IPEndPoint GetEndPoint(Multiaddr address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.Components.Count != 2 || !address.TryGetTcpEndPoint(out var endPoint) || endPoint is null)
        {
            throw new ArgumentException($"not an /ip4 or /ip6 TCP address: {address}", nameof(address));
        }

        return endPoint;
    }
}
