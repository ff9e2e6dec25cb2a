using System.Buffers;
using System.Net.Sockets;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Tcp;

namespace PromiseGrid.Mesh.Libp2p.Tests.Tcp;

public class TcpTransportTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData("/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/")]
    [InlineData("/ip6/::1/tcp/0", "/ip6/::1/tcp/")]
    public async Task ListenAsync_PortZero_ReportsBoundPort(string listen, string prefix)
    {
        var transport = new TcpTransport();
        await using var listener = await transport.ListenAsync(Multiaddr.Parse(listen));

        Assert.StartsWith(prefix, listener.ListenAddress.ToString(), StringComparison.Ordinal);
        Assert.True(listener.ListenAddress.TryGetTcpEndPoint(out var endPoint));
        Assert.NotEqual(0, endPoint!.Port);
    }

    [Theory]
    [InlineData("/ip4/127.0.0.1/tcp/0")]
    [InlineData("/ip6/::1/tcp/0")]
    public async Task DialAsync_Listener_BytesFlowBothWaysAndFinPropagates(string listen)
    {
        var transport = new TcpTransport();
        await using var listener = await transport.ListenAsync(Multiaddr.Parse(listen));
        var accept = listener.AcceptAsync().AsTask();
        await using var client = await transport.DialAsync(listener.ListenAddress).AsTask().WaitAsync(Timeout);
        await using var server = await accept.WaitAsync(Timeout);

        Assert.Equal(client.LocalAddress, server.RemoteAddress);
        await client.Output.WriteAsync("hello"u8.ToArray());
        Assert.Equal("hello"u8.ToArray(), await ReadExactlyAsync(server, 5));

        await server.Output.WriteAsync("world"u8.ToArray());
        await server.Output.CompleteAsync();
        Assert.Equal("world"u8.ToArray(), await ReadToEndAsync(client));
    }

    [Fact]
    public async Task DialAsync_WithP2pSuffix_Connects()
    {
        var transport = new TcpTransport();
        await using var listener = await transport.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        var accept = listener.AcceptAsync().AsTask();
        using var key = global::PromiseGrid.Mesh.Identity.IdentityKeyPair.Generate();
        await using var client = await transport.DialAsync(listener.ListenAddress.WithPeerId(key.PeerId)).AsTask().WaitAsync(Timeout);
        await using var server = await accept.WaitAsync(Timeout);
        Assert.NotNull(server);
    }

    [Fact]
    public async Task DialAsync_NobodyListening_ThrowsPeerUnreachable()
    {
        var transport = new TcpTransport();
        Multiaddr address;
        await using (var listener = await transport.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")))
        {
            address = listener.ListenAddress;
        }

        await Assert.ThrowsAsync<PeerUnreachableException>(() => transport.DialAsync(address).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task ListenAsync_AddressInUse_ThrowsAddressInUse()
    {
        var transport = new TcpTransport();
        await using var first = await transport.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        var ex = await Assert.ThrowsAsync<AddressInUseException>(() => transport.ListenAsync(first.ListenAddress).AsTask());
        Assert.Equal(first.ListenAddress.ToString(), ex.Address);
    }

    [Fact]
    public async Task ListenAsync_Unspecified_AcceptsLoopbackDial()
    {
        var transport = new TcpTransport();
        await using var listener = await transport.ListenAsync(Multiaddr.Parse("/ip4/0.0.0.0/tcp/0"));
        Assert.True(listener.ListenAddress.TryGetTcpEndPoint(out var endPoint));
        var accept = listener.AcceptAsync().AsTask();
        await using var client = await transport.DialAsync(Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{endPoint!.Port}")).AsTask().WaitAsync(Timeout);
        await using var server = await accept.WaitAsync(Timeout);
        Assert.NotNull(server.RemoteAddress);
    }

    [Fact]
    public async Task ListenAsync_NotTcp_ThrowsArgument()
    {
        var transport = new TcpTransport();
        await Assert.ThrowsAsync<ArgumentException>(() => transport.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/udp/0")).AsTask());
    }

    [Fact]
    public async Task AcceptAllAsync_ListenerDisposed_Ends()
    {
        var transport = new TcpTransport();
        var listener = await transport.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        var enumerate = Task.Run(async () =>
        {
            var count = 0;
            await foreach (var connection in listener.AcceptAllAsync())
            {
                count++;
                await connection.DisposeAsync();
            }

            return count;
        });
        await listener.DisposeAsync();
        Assert.Equal(0, await enumerate.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Abort_PendingReadOnRemote_Ends()
    {
        var transport = new TcpTransport();
        await using var listener = await transport.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        var accept = listener.AcceptAsync().AsTask();
        await using var client = await transport.DialAsync(listener.ListenAddress);
        await using var server = await accept.WaitAsync(Timeout);

        client.Abort();
        var ended = false;
        try
        {
            await ReadToEndAsync(server).WaitAsync(Timeout);
            ended = true;
        }
        catch (ConnectionClosedException)
        {
            ended = true;
        }

        Assert.True(ended);
        await Assert.ThrowsAnyAsync<Exception>(async () => await client.Input.ReadAsync().AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task DialAsync_LargeTransfer_ArrivesIntact()
    {
        var transport = new TcpTransport(new TcpTransportOptions { PauseThreshold = 64 * 1024, ResumeThreshold = 32 * 1024 });
        await using var listener = await transport.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        var accept = listener.AcceptAsync().AsTask();
        await using var client = await transport.DialAsync(listener.ListenAddress);
        await using var server = await accept.WaitAsync(Timeout);

        var data = new byte[8 * 1024 * 1024];
        new Random(1).NextBytes(data);
        var send = Task.Run(async () =>
        {
            for (var offset = 0; offset < data.Length; offset += 100_000)
            {
                await client.Output.WriteAsync(data.AsMemory(offset, Math.Min(100_000, data.Length - offset)));
            }

            await client.Output.CompleteAsync();
        });
        var received = await ReadToEndAsync(server).WaitAsync(Timeout);
        await send.WaitAsync(Timeout);
        Assert.Equal(data.Length, received.Length);
        Assert.True(data.AsSpan().SequenceEqual(received));
    }

    [Fact]
    public async Task DialAsync_ManySegmentsInOneFlush_ArriveInOrder()
    {
        // One flush of many pipe segments is sent as one gathered send: order and content must hold.
        var transport = new TcpTransport();
        await using var listener = await transport.ListenAsync(Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"));
        var accept = listener.AcceptAsync().AsTask();
        await using var client = await transport.DialAsync(listener.ListenAddress);
        await using var server = await accept.WaitAsync(Timeout);

        var data = new byte[3 * 1024 * 1024 + 17];
        new Random(2).NextBytes(data);
        for (var offset = 0; offset < data.Length;)
        {
            var span = client.Output.GetSpan(70_000);
            var size = Math.Min(Math.Min(span.Length, 70_000), data.Length - offset);
            data.AsSpan(offset, size).CopyTo(span);
            client.Output.Advance(size);
            offset += size;
        }

        await client.Output.FlushAsync().AsTask().WaitAsync(Timeout);
        await client.Output.CompleteAsync();
        var received = await ReadToEndAsync(server).WaitAsync(Timeout);
        Assert.True(data.AsSpan().SequenceEqual(received));
    }

    [Fact]
    public void Options_ResumeAbovePause_FailsValidation()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TcpTransport(new TcpTransportOptions { PauseThreshold = 10, ResumeThreshold = 20 }));
    }

    internal static async Task<byte[]> ReadExactlyAsync(ITransportConnection connection, int count)
    {
        while (true)
        {
            var result = await connection.Input.ReadAsync().AsTask().WaitAsync(Timeout);
            if (result.Buffer.Length >= count)
            {
                var bytes = result.Buffer.Slice(0, count).ToArray();
                connection.Input.AdvanceTo(result.Buffer.GetPosition(count));
                return bytes;
            }

            connection.Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            Assert.False(result.IsCompleted, "stream ended early");
        }
    }

    internal static async Task<byte[]> ReadToEndAsync(ITransportConnection connection)
    {
        var output = new ArrayBufferWriter<byte>();
        while (true)
        {
            var result = await connection.Input.ReadAsync();
            foreach (var segment in result.Buffer)
            {
                output.Write(segment.Span);
            }

            connection.Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return output.WrittenSpan.ToArray();
            }
        }
    }
}
