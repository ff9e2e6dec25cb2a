using System.Net;
using System.Net.Sockets;

namespace PromiseGrid.Mesh.Integration.Tests.Harness;

/// <summary>
/// A loopback TCP proxy for fault injection: listens on <c>127.0.0.1:0</c>, opens one connection to
/// the target per accepted connection and copies bytes both ways (a FIN is passed on as a
/// half-close). <see cref="SeverAll"/> kills every live connection at once with a hard reset on
/// both sides (linger 0: RST, not FIN), as a broken network path or a crashed middlebox would;
/// the listener keeps accepting afterwards.
/// </summary>
public sealed class TcpSeverProxy : IAsyncDisposable
{
    private const int BufferSize = 64 * 1024;

    private readonly Socket _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<Link, Task> _links = [];
    private readonly Task _acceptLoop;
    private int _accepted;
    private int _severed;
    private Task? _disposeTask;

    private TcpSeverProxy(Socket listener, IPEndPoint target)
    {
        _listener = listener;
        _target = target;
        EndPoint = (IPEndPoint)listener.LocalEndPoint!;
        _acceptLoop = AcceptAsync(_stopping.Token);
    }

    /// <summary>Where the proxy listens (127.0.0.1 and an ephemeral port).</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Connections accepted since start.</summary>
    public int AcceptedCount => Volatile.Read(ref _accepted);

    /// <summary>Connections cut by <see cref="SeverAll"/> since start.</summary>
    public int SeveredCount => Volatile.Read(ref _severed);

    /// <summary>Connections currently being forwarded.</summary>
    public int LiveCount
    {
        get
        {
            lock (_gate)
            {
                return _links.Count;
            }
        }
    }

    /// <summary>Starts a proxy to <paramref name="target"/>.</summary>
    public static TcpSeverProxy Start(IPEndPoint target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(128);
            return new TcpSeverProxy(listener, target);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <summary>The proxy's address as a libp2p multiaddr for <paramref name="peerId"/>: <c>/ip4/127.0.0.1/tcp/&lt;port&gt;/p2p/&lt;peerId&gt;</c>.</summary>
    public string MultiaddrFor(string peerId) => $"/ip4/127.0.0.1/tcp/{EndPoint.Port}/p2p/{peerId}";

    /// <summary>Resets every live connection, on both sides; returns how many were cut.</summary>
    public int SeverAll()
    {
        Link[] links;
        lock (_gate)
        {
            links = [.. _links.Keys];
        }

        var cut = 0;
        foreach (var link in links)
        {
            if (link.Reset())
            {
                cut++;
            }
        }

        Interlocked.Add(ref _severed, cut);
        return cut;
    }

    /// <summary>Stops listening, resets every live connection and waits for the copy loops to end. Idempotent.</summary>
    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposeTask ??= DisposeCoreAsync();
            return new ValueTask(_disposeTask);
        }
    }

    private async Task DisposeCoreAsync()
    {
        await _stopping.CancelAsync();
        _listener.Dispose();
        await _acceptLoop;
        SeverAll();
        Task[] remaining;
        lock (_gate)
        {
            remaining = [.. _links.Values];
        }

        await Task.WhenAll(remaining);
        _stopping.Dispose();
    }

    private async Task AcceptAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(cancellationToken);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            var link = new Link(client);
            lock (_gate)
            {
                _links[link] = ForwardAsync(link, cancellationToken);
            }
        }
    }

    /// <summary>Connects the upstream side and copies both ways until both directions end or the link is reset.</summary>
    private async Task ForwardAsync(Link link, CancellationToken cancellationToken)
    {
        // Runs the rest after the accept loop has recorded the link.
        await Task.Yield();
        try
        {
            try
            {
                await link.Upstream.ConnectAsync(_target, cancellationToken);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                link.Reset();
                return;
            }

            await Task.WhenAll(CopyAsync(link, link.Client, link.Upstream), CopyAsync(link, link.Upstream, link.Client));

            // Both directions ended with a FIN: close without discarding what is still in flight.
            link.Close();
        }
        finally
        {
            link.Reset();
            lock (_gate)
            {
                _links.Remove(link);
            }
        }
    }

    /// <summary>Copies <paramref name="from"/> to <paramref name="to"/>; a FIN becomes a half-close, any error resets the link.</summary>
    private static async Task CopyAsync(Link link, Socket from, Socket to)
    {
        var buffer = new byte[BufferSize];
        try
        {
            while (true)
            {
                var n = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (n == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                for (var sent = 0; sent < n;)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            link.Reset();
        }
    }

    /// <summary>One proxied connection: the accepted socket and the socket to the target.</summary>
    private sealed class Link(Socket client)
    {
        private int _closed;

        public Socket Client { get; } = client;

        public Socket Upstream { get; } = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        /// <summary>Closes both sockets gracefully (unless already closed or reset).</summary>
        public void Close()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                Client.Dispose();
                Upstream.Dispose();
            }
        }

        /// <summary>Closes both sockets with linger 0 (RST); true if this call closed them.</summary>
        public bool Reset()
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0)
            {
                return false;
            }

            Abort(Client);
            Abort(Upstream);
            return true;
        }

        private static void Abort(Socket socket)
        {
            try
            {
                socket.LingerState = new LingerOption(enable: true, seconds: 0);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Not connected (upstream never was) or already closed: nothing to reset.
            }

            socket.Dispose();
        }
    }
}
