using System.Net.Sockets;
using PromiseGrid.Mesh.Echo;
using PromiseGrid.Mesh.Host;
using PromiseGrid.Mesh.Identify;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multistream;
using PromiseGrid.Mesh.Ping;
using static PromiseGrid.Mesh.Libp2p.Tests.Testing.PipeTestKit;
using static PromiseGrid.Mesh.Libp2p.Tests.Host.HostTestKit;

namespace PromiseGrid.Mesh.Libp2p.Tests.Host;

public class Libp2pHostTests
{
    [Fact]
    public async Task DialAsync_TwoHosts_ConnectAndIdentifyBothWays()
    {
        await using var a = await StartHostAsync();
        await using var b = await StartHostAsync(o => o with { AgentVersion = "test-b/1.0" });

        var connection = await a.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout);
        Assert.Equal(b.PeerId, connection.RemotePeer);
        Assert.Equal(ConnectionDirection.Outbound, connection.Direction);

        var identifiedByA = await WaitForEventAsync<PeerIdentified>(a, e => e.Peer.Equals(b.PeerId)).WaitAsync(TestTimeout);
        var identifiedByB = await WaitForEventAsync<PeerIdentified>(b, e => e.Peer.Equals(a.PeerId)).WaitAsync(TestTimeout);

        Assert.Equal("test-b/1.0", identifiedByA.Info.AgentVersion);
        Assert.Equal(IdentifyInfo.DefaultProtocolVersion, identifiedByA.Info.ProtocolVersion);
        Assert.Equal(b.ListenAddresses, identifiedByA.Info.ListenAddrs);
        Assert.Contains(PingProtocol.ProtocolId, identifiedByA.Info.Protocols);
        Assert.Contains(IdentifyProtocol.ProtocolId, identifiedByA.Info.Protocols);
        Assert.Equal(connection.LocalAddress, identifiedByA.Info.ObservedAddr);
        Assert.Equal(Libp2pHostOptions.DefaultAgentVersion, identifiedByB.Info.AgentVersion);
        Assert.Equal(ConnectionDirection.Inbound, identifiedByB.Connection.Direction);
        Assert.Equal(b.PeerId, identifiedByA.Info.PublicKey!.ToPeerId());
    }

    [Fact]
    public async Task DialAsync_SecondDial_ReusesConnection()
    {
        await using var a = await StartHostAsync();
        await using var b = await StartHostAsync();

        var first = await a.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout);
        var second = await a.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout);

        Assert.Same(first, second);
        Assert.Single(a.GetConnections(b.PeerId));
    }

    [Fact]
    public async Task PingAsync_ConnectedPeer_YieldsRtts()
    {
        await using var a = await StartHostAsync();
        await using var b = await StartHostAsync();
        await a.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout);

        var rtts = new List<TimeSpan>();
        await foreach (var rtt in a.PingAsync(b.PeerId, count: 5).WithCancellation(new CancellationTokenSource(TestTimeout).Token))
        {
            rtts.Add(rtt);
        }

        Assert.Equal(5, rtts.Count);
        Assert.All(rtts, r => Assert.True(r > TimeSpan.Zero));
    }

    [Fact]
    public async Task NewStreamAsync_Echo1MiB_ArrivesIntact()
    {
        await using var a = await StartHostAsync();
        await using var b = await StartHostAsync();
        await a.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout);

        var data = new byte[1024 * 1024];
        new Random(7).NextBytes(data);
        var echoed = await EchoAsync(a, b.PeerId, data).WaitAsync(TestTimeout);

        Assert.True(data.AsSpan().SequenceEqual(echoed));
    }

    [Fact]
    public async Task NewStreamAsync_16ConcurrentEchoStreams_AllIntact()
    {
        await using var a = await StartHostAsync();
        await using var b = await StartHostAsync();
        await a.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout);

        var payloads = Enumerable.Range(0, 16).Select(i =>
        {
            var bytes = new byte[64 * 1024 + i];
            new Random(i).NextBytes(bytes);
            return bytes;
        }).ToArray();
        var results = await Task.WhenAll(payloads.Select(p => EchoAsync(a, b.PeerId, p))).WaitAsync(TestTimeout);

        for (var i = 0; i < payloads.Length; i++)
        {
            Assert.True(payloads[i].AsSpan().SequenceEqual(results[i]), $"stream {i} differs");
        }
    }

    [Fact]
    public async Task PerfAsync_16MiB_BothDirections()
    {
        await using var a = await StartHostAsync();
        await using var b = await StartHostAsync();
        await a.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout);

        var result = await a.PerfAsync(b.PeerId, 16UL << 20, 16UL << 20).AsTask().WaitAsync(TestTimeout);

        Assert.Equal(16UL << 20, result.Downloaded);
        Assert.Equal(16UL << 20, result.Uploaded);
    }

    [Fact]
    public async Task DialAsync_WrongPeerId_ThrowsPeerIdMismatchAndListenerKeepsWorking()
    {
        await using var a = await StartHostAsync();
        await using var b = await StartHostAsync();
        using var stranger = IdentityKeyPair.Generate();

        await Assert.ThrowsAsync<PeerIdMismatchException>(() =>
            a.DialAsync(b.ListenAddresses[0].WithPeerId(stranger.PeerId)).AsTask().WaitAsync(TestTimeout));
        Assert.Empty(a.Connections);

        var connection = await a.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout);
        Assert.Equal(b.PeerId, connection.RemotePeer);
    }

    [Fact]
    public async Task DialAsync_WithoutPeerId_LearnsRemoteId()
    {
        await using var a = await StartHostAsync();
        await using var b = await StartHostAsync();

        var connection = await a.DialAsync(b.ListenAddresses[0]).AsTask().WaitAsync(TestTimeout);

        Assert.Equal(b.PeerId, connection.RemotePeer);
    }

    [Fact]
    public async Task NewStreamAsync_UnknownProtocol_ThrowsNegotiationAndConnectionSurvives()
    {
        await using var a = await StartHostAsync();
        await using var b = await StartHostAsync();
        await a.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout);

        await Assert.ThrowsAsync<ProtocolNegotiationException>(() =>
            a.NewStreamAsync(b.PeerId, "/does/not/exist/1.0.0").AsTask().WaitAsync(TestTimeout));

        var echoed = await EchoAsync(a, b.PeerId, "still here"u8.ToArray()).WaitAsync(TestTimeout);
        Assert.Equal("still here"u8.ToArray(), echoed);
    }

    [Fact]
    public async Task NewStreamAsync_SecondProposalAccepted_SelectsIt()
    {
        await using var a = await StartHostAsync();
        await using var b = await StartHostAsync();
        await a.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout);

        await using var stream = await a.NewStreamAsync(b.PeerId, ["/nope/1.0.0", EchoProtocol.ProtocolId]).AsTask().WaitAsync(TestTimeout);

        Assert.Equal(EchoProtocol.ProtocolId, stream.Protocol);
    }

    [Fact]
    public async Task Handle_HandlerThrows_StreamResetAndHostKeepsServing()
    {
        await using var a = await StartHostAsync();
        await using var b = await StartHostAsync();
        b.Handle("/boom/1.0.0", (_, _, _) => throw new InvalidOperationException("boom"));
        await a.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout);

        // The reset may overtake the multistream answer (a reset discards unread data), so it can
        // surface from the negotiation or from the first read.
        await Assert.ThrowsAsync<StreamResetException>(async () =>
        {
            await using var stream = await a.NewStreamAsync(b.PeerId, "/boom/1.0.0").AsTask().WaitAsync(TestTimeout);
            await ReadToEndAsync(stream.Input).WaitAsync(TestTimeout);
        });

        var echoed = await EchoAsync(a, b.PeerId, "ok"u8.ToArray()).WaitAsync(TestTimeout);
        Assert.Equal("ok"u8.ToArray(), echoed);
    }

    [Fact]
    public async Task Handle_CustomProtocol_GetsConnectionAndStream()
    {
        await using var a = await StartHostAsync();
        await using var b = await StartHostAsync();
        var seenPeer = new TaskCompletionSource<PeerId>();
        b.Handle("/hello/1.0.0", async (stream, connection, ct) =>
        {
            seenPeer.TrySetResult(connection.RemotePeer);
            await stream.Output.WriteAsync("hi"u8.ToArray(), ct);
        });
        await a.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout);

        await using var stream = await a.NewStreamAsync(b.PeerId, "/hello/1.0.0").AsTask().WaitAsync(TestTimeout);
        await stream.CloseWriteAsync();
        Assert.Equal("hi"u8.ToArray(), await ReadToEndAsync(stream.Input).WaitAsync(TestTimeout));
        Assert.Equal(a.PeerId, await seenPeer.Task.WaitAsync(TestTimeout));
    }

    [Fact]
    public async Task DisposeAsync_RemoteSeesPeerDisconnected()
    {
        var a = await StartHostAsync();
        await using var b = await StartHostAsync();
        await a.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout);
        await WaitForEventAsync<PeerConnected>(b).WaitAsync(TestTimeout);

        await a.DisposeAsync().AsTask().WaitAsync(TestTimeout);
        await a.DisposeAsync().AsTask().WaitAsync(TestTimeout);

        var disconnected = await WaitForEventAsync<PeerDisconnected>(b).WaitAsync(TestTimeout);
        Assert.Equal(a.PeerId, disconnected.Peer);
        Assert.Empty(b.GetConnections(a.PeerId));
    }

    [Fact]
    public async Task Listener_GarbageClient_DroppedWhileGoodClientWorks()
    {
        await using var b = await StartHostAsync();
        Assert.True(b.ListenAddresses[0].TryGetTcpEndPoint(out var endPoint));
        using var garbage = new Socket(endPoint!.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await garbage.ConnectAsync(endPoint).WaitAsync(TestTimeout);
        await garbage.SendAsync(Enumerable.Range(0, 300).Select(i => (byte)(i * 7 + 3)).ToArray());

        await ExpectClosedAsync(garbage).WaitAsync(TestTimeout);

        await using var a = await StartHostAsync();
        var connection = await a.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout);
        Assert.Equal(b.PeerId, connection.RemotePeer);
    }

    [Fact]
    public async Task Listener_WrongSecurityProtocol_AnswersNa()
    {
        await using var b = await StartHostAsync();
        Assert.True(b.ListenAddresses[0].TryGetTcpEndPoint(out var endPoint));
        using var client = new Socket(endPoint!.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(endPoint).WaitAsync(TestTimeout);
        await client.SendAsync(MultistreamCodec.Encode("/multistream/1.0.0").Concat(MultistreamCodec.Encode("/tls/1.0.0")).ToArray());

        var expected = MultistreamCodec.Encode("/multistream/1.0.0").Concat(MultistreamCodec.Encode("na")).ToArray();
        var received = new byte[expected.Length];
        var read = 0;
        while (read < received.Length)
        {
            var n = await client.ReceiveAsync(received.AsMemory(read)).AsTask().WaitAsync(TestTimeout);
            Assert.NotEqual(0, n);
            read += n;
        }

        Assert.Equal(expected, received);
    }

    [Fact]
    public async Task Listener_StalledHandshake_DroppedAfterTimeoutWhileGoodClientWorks()
    {
        await using var b = await StartHostAsync(o => o with { HandshakeTimeout = TimeSpan.FromMilliseconds(500) });
        Assert.True(b.ListenAddresses[0].TryGetTcpEndPoint(out var endPoint));
        using var staller = new Socket(endPoint!.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await staller.ConnectAsync(endPoint).WaitAsync(TestTimeout);
        // Header and "/noise", then the first byte of Noise message 1 and nothing more.
        await staller.SendAsync(MultistreamCodec.Encode("/multistream/1.0.0").Concat(MultistreamCodec.Encode("/noise")).Append((byte)0).ToArray());

        await using var a = await StartHostAsync();
        var connection = await a.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout);
        Assert.Equal(b.PeerId, connection.RemotePeer);

        await ExpectClosedAsync(staller).WaitAsync(TestTimeout);
    }

    [Fact]
    public async Task Listener_MaxPendingInboundReached_DropsExtraConnection()
    {
        await using var b = await StartHostAsync(o => o with { MaxPendingInbound = 1 });
        Assert.True(b.ListenAddresses[0].TryGetTcpEndPoint(out var endPoint));
        using var staller = new Socket(endPoint!.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await staller.ConnectAsync(endPoint).WaitAsync(TestTimeout);
        // The listener answers the staller's socket with its multistream header: it is now pending.
        var header = new byte[20];
        Assert.True(await staller.ReceiveAsync(header.AsMemory()).AsTask().WaitAsync(TestTimeout) > 0);

        using var extra = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        var dropped = false;
        try
        {
            // The host resets the extra connection at once; that may already fail the connect.
            await extra.ConnectAsync(endPoint).WaitAsync(TestTimeout);
            await ExpectClosedAsync(extra).WaitAsync(TestTimeout);
            dropped = true;
        }
        catch (SocketException)
        {
            dropped = true;
        }

        Assert.True(dropped);

        staller.Close();
    }

    [Fact]
    public async Task Listener_MaxConnectionsReached_RejectsNextDial()
    {
        await using var b = await StartHostAsync(o => o with { MaxConnections = 1 });
        await using var a = await StartHostAsync();
        await using var c = await StartHostAsync();
        await a.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout);
        await WaitForEventAsync<PeerConnected>(b).WaitAsync(TestTimeout);

        await Assert.ThrowsAnyAsync<MeshException>(() => c.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout));
        Assert.Single(b.Connections);
    }

    [Fact]
    public async Task NewStreamAsync_NotConnected_ThrowsPeerUnreachable()
    {
        await using var a = await StartHostAsync();
        using var stranger = IdentityKeyPair.Generate();
        await Assert.ThrowsAsync<PeerUnreachableException>(() => a.NewStreamAsync(stranger.PeerId, PingProtocol.ProtocolId).AsTask());
    }

    [Fact]
    public async Task DialAsync_ClosedPort_ThrowsPeerUnreachable()
    {
        var b = await StartHostAsync();
        var address = AddressOf(b);
        await b.DisposeAsync();
        await using var a = await StartHostAsync();

        await Assert.ThrowsAsync<PeerUnreachableException>(() => a.DialAsync(address).AsTask().WaitAsync(TestTimeout));
    }

    [Fact]
    public async Task StartAsync_Ip6Loopback_ListensAndAcceptsDial()
    {
        await using var a = await StartHostAsync();
        await using var b = await StartHostAsync(listen: "/ip6/::1/tcp/0");
        Assert.StartsWith("/ip6/::1/tcp/", b.ListenAddresses[0].ToString(), StringComparison.Ordinal);

        var connection = await a.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout);
        Assert.Equal(b.PeerId, connection.RemotePeer);
    }

    [Fact]
    public async Task DialAsync_ConcurrentDialsToSamePeer_ShareOneConnection()
    {
        await using var a = await StartHostAsync();
        await using var b = await StartHostAsync();

        var dials = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => a.DialAsync(AddressOf(b)).AsTask())).WaitAsync(TestTimeout);

        Assert.All(dials, d => Assert.Same(dials[0], d));
        Assert.Single(a.GetConnections(b.PeerId));
    }

    [Fact]
    public async Task DisposeAsync_BlockedHandler_IsCancelled()
    {
        await using var a = await StartHostAsync();
        var b = await StartHostAsync();
        var entered = new TaskCompletionSource();
        var cancelled = new TaskCompletionSource();
        b.Handle("/block/1.0.0", async (_, _, ct) =>
        {
            entered.TrySetResult();
            try
            {
                await Task.Delay(System.Threading.Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                cancelled.TrySetResult();
                throw;
            }
        });
        await a.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout);
        await using var stream = await a.NewStreamAsync(b.PeerId, "/block/1.0.0").AsTask().WaitAsync(TestTimeout);
        await entered.Task.WaitAsync(TestTimeout);

        await b.DisposeAsync().AsTask().WaitAsync(TestTimeout);

        await cancelled.Task.WaitAsync(TestTimeout);
        Assert.Empty(b.Connections);
    }

    [Fact]
    public async Task GetLocalIdentify_ManyListenAddresses_TrimmedToOutgoingLimit()
    {
        var listen = Enumerable.Range(0, 200).Select(_ => PromiseGrid.Mesh.Multiformats.Multiaddr.Parse("/ip6/::1/tcp/0")).ToList();
        await using var b = await StartHostAsync(o => o with { ListenAddresses = listen });
        await using var a = await StartHostAsync();
        var connection = await a.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout);
        var identified = await WaitForEventAsync<PeerIdentified>(a).WaitAsync(TestTimeout);

        Assert.Equal(200, b.ListenAddresses.Count);
        Assert.InRange(identified.Info.ListenAddrs.Count, 1, 199);
        Assert.True(IdentifyCodec.Encode(identified.Info).Length <= IdentifyProtocol.MaxOutgoingMessageSize);
        Assert.Equal(b.PeerId, connection.RemotePeer);
    }

    [Fact]
    public async Task InboundStream_NoProtocolSelected_ResetAfterNegotiationTimeout()
    {
        await using var a = await StartHostAsync();
        await using var b = await StartHostAsync(o => o with { StreamNegotiationTimeout = TimeSpan.FromMilliseconds(300) });
        var connection = await a.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout);

        // A raw stream that never sends the multistream header.
        var stream = await connection.Session.OpenStreamAsync().AsTask().WaitAsync(TestTimeout);
        await using (stream)
        {
            await Assert.ThrowsAsync<StreamResetException>(() => ReadToEndAsync(stream.Input).WaitAsync(TestTimeout));
        }

        var echoed = await EchoAsync(a, b.PeerId, "alive"u8.ToArray()).WaitAsync(TestTimeout);
        Assert.Equal("alive"u8.ToArray(), echoed);
    }

    [Fact]
    public async Task IdentifyPush_PartialUpdate_MergedIntoRemoteInfo()
    {
        await using var a = await StartHostAsync();
        await using var b = await StartHostAsync();
        var connection = await a.DialAsync(AddressOf(b)).AsTask().WaitAsync(TestTimeout);
        await WaitForEventAsync<PeerIdentified>(b, e => e.Peer.Equals(a.PeerId)).WaitAsync(TestTimeout);

        await using (var push = await connection.NewStreamAsync(IdentifyProtocol.PushProtocolId).AsTask().WaitAsync(TestTimeout))
        {
            await IdentifyProtocol.WriteAsync(push, new IdentifyInfo { Protocols = ["/new/1.0.0"] }).AsTask().WaitAsync(TestTimeout);
            await ReadToEndAsync(push.Input).WaitAsync(TestTimeout);
        }

        var updated = await WaitForEventAsync<PeerIdentified>(b, e => e.Info.Protocols.Contains("/new/1.0.0")).WaitAsync(TestTimeout);
        Assert.Equal(["/new/1.0.0"], updated.Info.Protocols);
        Assert.Equal(Libp2pHostOptions.DefaultAgentVersion, updated.Info.AgentVersion);
        Assert.Equal(["/new/1.0.0"], b.GetConnections(a.PeerId)[0].RemoteInfo!.Protocols);
    }

    [Fact]
    public void Options_MissingIdentity_FailsValidation()
    {
        Assert.Throws<ArgumentNullException>(() => new Libp2pHost(new Libp2pHostOptions()));
    }

    private static async Task<byte[]> EchoAsync(Libp2pHost host, PeerId peer, byte[] data)
    {
        await using var stream = await host.NewStreamAsync(peer, EchoProtocol.ProtocolId);
        var write = Task.Run(async () =>
        {
            for (var offset = 0; offset < data.Length; offset += 32 * 1024)
            {
                await stream.Output.WriteAsync(data.AsMemory(offset, Math.Min(32 * 1024, data.Length - offset)));
            }

            await stream.CloseWriteAsync();
        });
        var echoed = await ReadToEndAsync(stream.Input);
        await write;
        return echoed;
    }

    private static async Task ExpectClosedAsync(Socket socket)
    {
        var buffer = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(buffer) > 0)
            {
            }
        }
        catch (SocketException)
        {
            // reset counts as closed
        }
    }
}
