using System.Net;
using System.Net.Sockets;
using System.Text;
using PromiseGrid.Mesh.Integration.Tests.Harness;

namespace PromiseGrid.Mesh.Integration.Tests.HarnessTests;

/// <summary>The fault-injection proxy on loopback sockets: forwarding, half-close, severing with RST, counting.</summary>
public sealed class TcpSeverProxyTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly TcpListener _target = new(IPAddress.Loopback, 0);
    private TcpSeverProxy _proxy = null!;

    public Task InitializeAsync()
    {
        _target.Start();
        _proxy = TcpSeverProxy.Start((IPEndPoint)_target.LocalEndpoint);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        _target.Stop();
    }

    [Fact]
    public async Task Forward_BothDirections_BytesArriveUnchanged()
    {
        var (client, server) = await ConnectAsync();
        using (client)
        using (server)
        {
            await client.SendAsync("hello"u8.ToArray());
            Assert.Equal("hello", await ReceiveTextAsync(server, 5));
            await server.SendAsync("world!"u8.ToArray());
            Assert.Equal("world!", await ReceiveTextAsync(client, 6));
            Assert.Equal(1, _proxy.AcceptedCount);
            Assert.Equal(1, _proxy.LiveCount);
        }
    }

    [Fact]
    public async Task Forward_LargeTransfer_EveryByteInOrder()
    {
        var (client, server) = await ConnectAsync();
        using (client)
        using (server)
        {
            var data = new byte[1 << 20];
            new Random(7).NextBytes(data);
            var sending = client.SendAsync(data);
            var received = new byte[data.Length];
            for (var n = 0; n < received.Length;)
            {
                n += await server.ReceiveAsync(received.AsMemory(n)).AsTask().WaitAsync(Timeout);
            }

            await sending.WaitAsync(Timeout);
            Assert.Equal(data, received);
        }
    }

    [Fact]
    public async Task HalfClose_ClientShutsDownSend_ServerSeesEndAndCanStillAnswer()
    {
        var (client, server) = await ConnectAsync();
        using (client)
        using (server)
        {
            client.Shutdown(SocketShutdown.Send);
            var buffer = new byte[16];
            Assert.Equal(0, await server.ReceiveAsync(buffer).WaitAsync(Timeout));
            await server.SendAsync("late"u8.ToArray());
            Assert.Equal("late", await ReceiveTextAsync(client, 4));
        }
    }

    [Fact]
    public async Task SeverAll_LiveConnection_BothEndsSeeReset()
    {
        var (client, server) = await ConnectAsync();
        using (client)
        using (server)
        {
            Assert.Equal(1, _proxy.SeverAll());
            Assert.Equal(1, _proxy.SeveredCount);
            Assert.Equal(SocketError.ConnectionReset, await ReceiveErrorAsync(client));
            Assert.Equal(SocketError.ConnectionReset, await ReceiveErrorAsync(server));
        }
    }

    [Fact]
    public async Task SeverAll_ThenConnectAgain_NewConnectionForwardedAndCounted()
    {
        var (first, firstServer) = await ConnectAsync();
        using (first)
        using (firstServer)
        {
            _proxy.SeverAll();
            var (second, secondServer) = await ConnectAsync();
            using (second)
            using (secondServer)
            {
                await second.SendAsync("again"u8.ToArray());
                Assert.Equal("again", await ReceiveTextAsync(secondServer, 5));
                Assert.Equal(2, _proxy.AcceptedCount);
                Assert.Equal(1, _proxy.SeveredCount);
            }
        }
    }

    [Fact]
    public void SeverAll_NoConnections_CutsNothing()
    {
        Assert.Equal(0, _proxy.SeverAll());
        Assert.Equal(0, _proxy.AcceptedCount);
        Assert.Equal(0, _proxy.LiveCount);
    }

    [Fact]
    public async Task Connect_TargetRefuses_ClientConnectionEnds()
    {
        // Bound but not listening: connections are refused, and no other process can take the
        // port while the test holds it (a stopped listener's port could be reused by one).
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var endPoint = (IPEndPoint)closed.LocalEndPoint!;
        await using var proxy = TcpSeverProxy.Start(endPoint);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var buffer = new byte[1];
        try
        {
            // The proxy may reset the connection before the client has even seen its connect complete.
            await client.ConnectAsync(proxy.EndPoint).WaitAsync(Timeout);
            Assert.Equal(0, await client.ReceiveAsync(buffer).WaitAsync(Timeout));
        }
        catch (SocketException e)
        {
            Assert.Equal(SocketError.ConnectionReset, e.SocketErrorCode);
        }

        Assert.Equal(1, proxy.AcceptedCount);
    }

    [Fact]
    public void MultiaddrFor_PeerId_LoopbackTcpWithProxyPort()
    {
        Assert.Equal($"/ip4/127.0.0.1/tcp/{_proxy.EndPoint.Port}/p2p/12D3KooWexample", _proxy.MultiaddrFor("12D3KooWexample"));
    }

    private async Task<(Socket Client, Socket Server)> ConnectAsync()
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await client.ConnectAsync(_proxy.EndPoint).WaitAsync(Timeout);
            var server = await _target.AcceptSocketAsync().WaitAsync(Timeout);
            return (client, server);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private static async Task<string> ReceiveTextAsync(Socket socket, int length)
    {
        var buffer = new byte[length];
        for (var n = 0; n < length;)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(n)).AsTask().WaitAsync(Timeout);
            Assert.True(read > 0, "connection ended early");
            n += read;
        }

        return Encoding.ASCII.GetString(buffer);
    }

    private static async Task<SocketError> ReceiveErrorAsync(Socket socket)
    {
        var buffer = new byte[16];
        try
        {
            var n = await socket.ReceiveAsync(buffer).WaitAsync(Timeout);
            Assert.Fail($"expected a reset, read {n} byte(s)");
            return SocketError.Success;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
    }
}
