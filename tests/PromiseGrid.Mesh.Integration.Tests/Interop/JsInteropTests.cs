using System.Text.Json;
using PromiseGrid.Mesh.Echo;
using PromiseGrid.Mesh.Host;

namespace PromiseGrid.Mesh.Integration.Tests.Interop;

/// <summary>
/// The C# libp2p stack against a real js-libp2p 2.10.0 peer (Noise, Yamux, identify, ping, echo,
/// perf), in both directions over loopback TCP.
/// </summary>
public sealed class JsInteropTests(InteropHostFixture fixture) : IClassFixture<InteropHostFixture>
{
    private const long PerfBytes = 100L << 20;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan PerfTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task CSharpDialsJs_Handshake_AuthenticatesJsPeerAndBothSidesIdentify()
    {
        var connection = await fixture.Host.DialAsync(fixture.JsAddress).AsTask().WaitAsync(Timeout);
        Assert.Equal(fixture.JsPeerId, connection.RemotePeer);

        var info = await fixture.Host.IdentifyAsync(connection).AsTask().WaitAsync(Timeout);
        Assert.StartsWith("js-libp2p/", info.AgentVersion);
        Assert.Contains(EchoProtocol.ProtocolId, info.Protocols);
        Assert.Contains("/ipfs/ping/1.0.0", info.Protocols);
        Assert.Contains("/ipfs/id/1.0.0", info.Protocols);
        Assert.Equal(fixture.JsPeerId, info.PublicKey!.ToPeerId());

        // js identifies us by itself on every new connection (this one, or the one an earlier test
        // of this class opened and this dial reused) and records our protocols.
        var identified = await fixture.Js.WaitForEventAsync(
            "peer:identify",
            e => e.GetProperty("peerId").GetString() == fixture.Host.PeerId.ToString()
                && e.GetProperty("protocols").EnumerateArray().Any(p => p.GetString() == "/echo/1.0.0"),
            Timeout);
        var protocols = identified.GetProperty("protocols").EnumerateArray().Select(p => p.GetString()).ToList();
        Assert.Contains("/echo/1.0.0", protocols);
        Assert.Contains("/perf/1.0.0", protocols);
        Assert.Contains("/ipfs/ping/1.0.0", protocols);
        Assert.Equal("promisegrid-mesh/0.1.0", identified.GetProperty("agentVersion").GetString());
    }

    [Fact]
    public async Task CSharpDialsJs_Ping_ReturnsEveryRoundTrip()
    {
        await fixture.Host.DialAsync(fixture.JsAddress).AsTask().WaitAsync(Timeout);
        var rtts = new List<TimeSpan>();
        await foreach (var rtt in fixture.Host.PingAsync(fixture.JsPeerId, 5).WithCancellation(new CancellationTokenSource(Timeout).Token))
        {
            rtts.Add(rtt);
        }

        Assert.Equal(5, rtts.Count);
        Assert.All(rtts, r => Assert.True(r > TimeSpan.Zero));
    }

    [Fact]
    public async Task CSharpDialsJs_Echo1MiB_ComesBackByteForByte()
    {
        await fixture.Host.DialAsync(fixture.JsAddress).AsTask().WaitAsync(Timeout);
        var payload = StreamTestKit.RandomBytes(1 << 20, seed: 11);
        var stream = await fixture.Host.NewStreamAsync(fixture.JsPeerId, EchoProtocol.ProtocolId).AsTask().WaitAsync(Timeout);
        await using (stream)
        {
            var echoed = await StreamTestKit.EchoAsync(stream, payload).WaitAsync(Timeout);
            Assert.Equal(payload, echoed);
        }
    }

    [Fact]
    public async Task CSharpDialsJs_SixteenConcurrentStreams_AllEchoCorrectly()
    {
        await fixture.Host.DialAsync(fixture.JsAddress).AsTask().WaitAsync(Timeout);
        var tasks = Enumerable.Range(0, 16).Select(async i =>
        {
            var payload = StreamTestKit.RandomBytes(128 * 1024 + i, seed: 100 + i);
            var stream = await fixture.Host.NewStreamAsync(fixture.JsPeerId, EchoProtocol.ProtocolId);
            await using (stream)
            {
                return (payload, echoed: await StreamTestKit.EchoAsync(stream, payload));
            }
        });
        var results = await Task.WhenAll(tasks).WaitAsync(Timeout);
        Assert.Equal(16, results.Length);
        Assert.All(results, r => Assert.Equal(r.payload, r.echoed));
        Assert.Single(fixture.Host.GetConnections(fixture.JsPeerId));
    }

    [Fact]
    public async Task CSharpDialsJs_Perf100MiBEachWay_TransfersEveryByte()
    {
        await fixture.Host.DialAsync(fixture.JsAddress).AsTask().WaitAsync(Timeout);
        var result = await fixture.Host.PerfAsync(fixture.JsPeerId, PerfBytes, PerfBytes).AsTask().WaitAsync(PerfTimeout);
        Assert.Equal((ulong)PerfBytes, result.Uploaded);
        Assert.Equal((ulong)PerfBytes, result.Downloaded);
    }

    [Fact]
    public async Task JsDialsCSharp_IdentifyAndPing_SeeOurProtocolsAndAnswer()
    {
        var dial = await fixture.Js.DialAsync(fixture.HostAddress);
        Assert.Equal(fixture.Host.PeerId.ToString(), dial.PeerId);

        var identify = await fixture.Js.IdentifyAsync(fixture.HostAddress);
        Assert.Equal("promisegrid-mesh/0.1.0", identify.AgentVersion);
        Assert.Contains("/echo/1.0.0", identify.Protocols);
        Assert.Contains("/perf/1.0.0", identify.Protocols);
        Assert.Contains(fixture.Host.ListenAddresses[0].ToString(), identify.ListenAddrs);

        var rtts = await fixture.Js.PingAsync(fixture.HostAddress, count: 3);
        Assert.Equal(3, rtts.Count);

        // Our side identified js on the inbound connection too.
        var connection = await WaitForConnectionAsync(fixture.JsPeerId);
        var info = connection.RemoteInfo ?? await fixture.Host.IdentifyAsync(connection);
        Assert.StartsWith("js-libp2p/", info.AgentVersion);
    }

    [Fact]
    public async Task JsDialsCSharp_Echo1MiBAndSixteenStreams_ComeBackIntact()
    {
        var echo = await fixture.Js.EchoAsync(fixture.HostAddress, 1 << 20, seed: 7, Timeout);
        Assert.True(echo.Ok, JsonSerializer.Serialize(echo));
        Assert.Equal(1 << 20, echo.ReceivedBytes);
        Assert.Equal(echo.SentSha256, echo.ReceivedSha256);

        var parallel = await fixture.Js.EchoParallelAsync(fixture.HostAddress, streams: 16, bytesPerStream: 128 * 1024, Timeout);
        Assert.True(parallel.Ok, JsonSerializer.Serialize(parallel));
        Assert.Equal(16, parallel.Streams);
        Assert.Equal(0, parallel.Failed);
        Assert.All(parallel.Results, r => Assert.Equal(r.SentSha256, r.ReceivedSha256));
    }

    [Fact]
    public async Task JsDialsCSharp_Perf100MiBEachWay_TransfersEveryByte()
    {
        var perf = await fixture.Js.PerfAsync(fixture.HostAddress, PerfBytes, PerfBytes, PerfTimeout);
        Assert.Equal(PerfBytes, perf.UploadBytes);
        Assert.Equal(PerfBytes, perf.DownloadBytes);
    }

    private async Task<PeerConnection> WaitForConnectionAsync(Identity.PeerId peer)
    {
        using var cts = new CancellationTokenSource(Timeout);
        IReadOnlyList<PeerConnection> connections;
        while ((connections = fixture.Host.GetConnections(peer)).Count == 0)
        {
            // The inbound side registers the connection as its upgrade completes; wait for that event.
            await fixture.Host.Events.WaitToReadAsync(cts.Token);
            while (fixture.Host.Events.TryRead(out _))
            {
            }
        }

        return connections[0];
    }
}
