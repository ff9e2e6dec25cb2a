using Microsoft.Extensions.Time.Testing;
using PromiseGrid.Mesh.Discovery.PeerExchange;
using PromiseGrid.Mesh.Discovery.Tests.Bootstrap;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Tests.PeerExchange;

internal sealed class StaticPeerSource(params PexPeerInfo[] peers) : IPexPeerSource
{
    public IReadOnlyList<PexPeerInfo> GetPeers() => peers;
}

public class PeerExchangeHandlerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly Multiaddr Loopback = Multiaddr.Parse("/ip4/127.0.0.1/tcp/5000");

    private static PexPeerInfo Peer(int n) => new(TestPeers.Id(n), [Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{4000 + n}")]);

    [Fact]
    public async Task RequestPeersAsync_AgainstTheHandler_ReturnsTheSourcePeersWithoutTheRequester()
    {
        var handler = new PeerExchangeHandler(new StaticPeerSource(Peer(1), Peer(2), Peer(3)));
        var (dialer, listener) = InMemoryStream.CreatePair();
        var serve = handler.HandleAsync(TestPeers.Id(1), Loopback, listener).AsTask();

        var peers = await PeerExchangeClient.RequestPeersAsync(dialer).AsTask().WaitAsync(Timeout);
        await serve.WaitAsync(Timeout);

        Assert.Equal([TestPeers.Id(2), TestPeers.Id(3)], peers.Select(p => p.PeerId));
        Assert.Equal([Multiaddr.Parse("/ip4/127.0.0.1/tcp/4002")], peers[0].Addresses);
        Assert.False(listener.WasReset);
    }

    [Fact]
    public async Task HandleAsync_OversizedRequest_ResetsTheStreamWithoutThrowing()
    {
        var handler = new PeerExchangeHandler(new StaticPeerSource(Peer(2)));
        var (dialer, listener) = InMemoryStream.CreatePair();
        await dialer.Output.WriteAsync(RawProto.Frame(new byte[PeerExchangeProtocol.MaxRequestSize + 1]));

        await handler.HandleAsync(TestPeers.Id(1), Loopback, listener).AsTask().WaitAsync(Timeout);

        Assert.True(listener.WasReset);
    }

    [Fact]
    public async Task HandleAsync_RequestAtTheSizeLimit_IsServed()
    {
        var handler = new PeerExchangeHandler(new StaticPeerSource(Peer(2)));
        var (dialer, listener) = InMemoryStream.CreatePair();
        var padding = RawProto.Bytes(15, new byte[PeerExchangeProtocol.MaxRequestSize - 3]); // unknown field, skipped
        Assert.Equal(PeerExchangeProtocol.MaxRequestSize, padding.Length);
        await dialer.Output.WriteAsync(RawProto.Frame(padding));
        await dialer.CloseWriteAsync();

        await handler.HandleAsync(TestPeers.Id(1), Loopback, listener).AsTask().WaitAsync(Timeout);

        Assert.False(listener.WasReset);
        var body = await PexFraming.ReadFrameAsync(dialer.Input, PeerExchangeProtocol.MaxMessageSize).AsTask().WaitAsync(Timeout);
        Assert.Single(PexCodec.DecodeResponse(body));
    }

    [Fact]
    public async Task HandleAsync_StreamEndsWithoutRequest_ResetsTheStream()
    {
        var handler = new PeerExchangeHandler(new StaticPeerSource(Peer(2)));
        var (dialer, listener) = InMemoryStream.CreatePair();
        await dialer.CloseWriteAsync();

        await handler.HandleAsync(TestPeers.Id(1), Loopback, listener).AsTask().WaitAsync(Timeout);

        Assert.True(listener.WasReset);
    }

    [Fact]
    public async Task HandleAsync_RequesterSendsNothing_TimesOutAndResets()
    {
        var time = new FakeTimeProvider();
        var handler = new PeerExchangeHandler(new StaticPeerSource(Peer(2)), new PeerExchangeOptions { TimeProvider = time, RequestTimeout = TimeSpan.FromSeconds(10) });
        var (_, listener) = InMemoryStream.CreatePair();

        var serve = handler.HandleAsync(TestPeers.Id(1), Loopback, listener).AsTask();
        Assert.False(serve.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(10));
        await serve.WaitAsync(Timeout);

        Assert.True(listener.WasReset);
    }

    [Fact]
    public async Task RequestPeersAsync_ResponderResets_ThrowsStreamReset()
    {
        var (dialer, listener) = InMemoryStream.CreatePair();
        var request = PeerExchangeClient.RequestPeersAsync(dialer).AsTask();
        await PexFraming.ReadFrameAsync(listener.Input, PeerExchangeProtocol.MaxRequestSize);
        listener.Reset();

        await Assert.ThrowsAsync<StreamResetException>(() => request.WaitAsync(Timeout));
    }

    [Fact]
    public async Task RequestPeersAsync_ResponseOver16KiB_ThrowsLimitExceeded()
    {
        var (dialer, listener) = InMemoryStream.CreatePair();
        var request = PeerExchangeClient.RequestPeersAsync(dialer).AsTask();
        await listener.Output.WriteAsync(Varint.Encode(PeerExchangeProtocol.MaxMessageSize + 1));

        await Assert.ThrowsAsync<LimitExceededException>(() => request.WaitAsync(Timeout));
    }

    [Fact]
    public async Task RequestPeersAsync_BytesAfterTheResponse_ThrowsProtocolViolation()
    {
        var (dialer, listener) = InMemoryStream.CreatePair();
        var request = PeerExchangeClient.RequestPeersAsync(dialer).AsTask();
        await listener.Output.WriteAsync(new byte[] { 0x00, 0x00 }); // an empty response, then a stray byte
        await listener.CloseWriteAsync();

        await Assert.ThrowsAsync<ProtocolViolationException>(() => request.WaitAsync(Timeout));
    }

    [Fact]
    public async Task RequestPeersAsync_Request_IsTheSpecBytes()
    {
        var (dialer, listener) = InMemoryStream.CreatePair();
        var request = PeerExchangeClient.RequestPeersAsync(dialer).AsTask();
        var read = await listener.Input.ReadAsync().AsTask().WaitAsync(Timeout);
        while (!read.IsCompleted)
        {
            listener.Input.AdvanceTo(read.Buffer.Start, read.Buffer.End);
            read = await listener.Input.ReadAsync().AsTask().WaitAsync(Timeout);
        }

        Assert.Equal("020840", Convert.ToHexString(System.Buffers.BuffersExtensions.ToArray(read.Buffer)));
        listener.Input.AdvanceTo(read.Buffer.End);
        await listener.Output.WriteAsync(new byte[] { 0x00 });
        await listener.CloseWriteAsync();
        Assert.Empty(await request.WaitAsync(Timeout));
    }
}
