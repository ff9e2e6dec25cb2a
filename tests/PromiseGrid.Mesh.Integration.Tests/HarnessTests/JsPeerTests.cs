using System.Security.Cryptography;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Integration.Tests.Harness;

namespace PromiseGrid.Mesh.Integration.Tests.HarnessTests;

/// <summary>js↔js over loopback through the C# harness: checks peer.mjs and <see cref="JsPeer"/> together.</summary>
public sealed class JsPeerTests(JsPeerPairFixture peers) : IClassFixture<JsPeerPairFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private JsPeer Listener => peers.Listener;

    private JsPeer Dialer => peers.Dialer;

    [Fact]
    public void StartAsync_Seed_PeerIdMatchesCSharpDerivation()
    {
        using var key = IdentityKeyPair.FromSeed(JsPeerPairFixture.ListenerSeed);
        Assert.Equal(key.PeerId.ToString(), Listener.PeerId);
        Assert.All(Listener.Listening.Addrs, a => Assert.EndsWith($"/p2p/{Listener.PeerId}", a));
        Assert.StartsWith("/ip4/127.0.0.1/tcp/", Listener.Address);
    }

    [Fact]
    public async Task DialAsync_ListenerAddress_ConnectsToListener()
    {
        var result = await Dialer.DialAsync(Listener.Address).WaitAsync(Timeout);

        Assert.Equal(Listener.PeerId, result.PeerId);
        Assert.Equal("outbound", result.Direction);
        await Listener.WaitForPeerEventAsync("peer:connect", Dialer.PeerId, Timeout);
        var connections = await Dialer.PeersAsync().WaitAsync(Timeout);
        Assert.Contains(connections, c => c.PeerId == Listener.PeerId && c.Status == "open");
    }

    [Fact]
    public async Task PingAsync_ThreeTimes_ReturnsThreeRtts()
    {
        var rtts = await Dialer.PingAsync(Listener.Address, count: 3).WaitAsync(Timeout);

        Assert.Equal(3, rtts.Count);
        Assert.All(rtts, rtt => Assert.True(rtt >= 0));
    }

    [Fact]
    public async Task IdentifyAsync_Listener_ReportsAgentProtocolsAndListenAddrs()
    {
        var id = await Dialer.IdentifyAsync(Listener.Address).WaitAsync(Timeout);

        Assert.Equal(Listener.PeerId, id.PeerId);
        Assert.StartsWith("js-libp2p/2.10.0", id.AgentVersion);
        Assert.Equal("ipfs/0.1.0", id.ProtocolVersion);
        foreach (var protocol in (string[])["/echo/1.0.0", "/perf/1.0.0", "/ipfs/ping/1.0.0", "/ipfs/id/1.0.0"])
        {
            Assert.Contains(protocol, id.Protocols);
        }

        var listenerTcp = Listener.Address[..Listener.Address.IndexOf("/p2p/", StringComparison.Ordinal)];
        Assert.Contains(id.ListenAddrs, a => a.StartsWith(listenerTcp, StringComparison.Ordinal));
        var evt = await Dialer.WaitForPeerEventAsync("peer:identify", Listener.PeerId, Timeout);
        Assert.Contains("/perf/1.0.0", evt.GetProperty("protocols").EnumerateArray().Select(p => p.GetString()));
    }

    [Fact]
    public async Task EchoAsync_OneMebibyte_ComesBackUnchanged()
    {
        const int size = 1 << 20;

        var echo = await Dialer.EchoAsync(Listener.Address, size, seed: 7).WaitAsync(Timeout);

        Assert.True(echo.Ok, $"echo mismatch: {echo}");
        Assert.Equal(size, echo.SentBytes);
        Assert.Equal(size, echo.ReceivedBytes);
        Assert.Equal(echo.SentSha256, echo.ReceivedSha256);
    }

    [Fact]
    public async Task EchoAsync_SameSeed_SendsSameBytes()
    {
        var first = await Dialer.EchoAsync(Listener.Address, 1000, seed: 3).WaitAsync(Timeout);
        var second = await Dialer.EchoAsync(Listener.Address, 1000, seed: 3).WaitAsync(Timeout);
        var other = await Dialer.EchoAsync(Listener.Address, 1000, seed: 4).WaitAsync(Timeout);

        Assert.Equal(first.SentSha256, second.SentSha256);
        Assert.NotEqual(first.SentSha256, other.SentSha256);
        Assert.NotEqual(Convert.ToHexStringLower(SHA256.HashData(new byte[1000])), first.SentSha256);
    }

    [Fact]
    public async Task EchoParallelAsync_EightStreams_AllComeBackUnchanged()
    {
        var result = await Dialer.EchoParallelAsync(Listener.Address, streams: 8, bytesPerStream: 100_003).WaitAsync(Timeout);

        Assert.True(result.Ok, $"{result.Failed} of {result.Streams} streams failed");
        Assert.Equal(8, result.Results.Count);
        Assert.Equal(8 * 100_003L, result.TotalBytes);
    }

    [Fact]
    public async Task PerfAsync_16MiBEachWay_TransfersEveryByte()
    {
        const long size = 16L << 20;

        var perf = await Dialer.PerfAsync(Listener.Address, upload: size, download: size).WaitAsync(Timeout);

        Assert.Equal(size, perf.UploadBytes);
        Assert.Equal(size, perf.DownloadBytes);
        Assert.True(perf.TotalSeconds > 0);
    }

    [Fact]
    public async Task SendAsync_UnknownCommand_ThrowsWithPeerErrorAndPeerKeepsRunning()
    {
        var ex = await Assert.ThrowsAsync<JsPeerCommandException>(() => Dialer.SendAsync("no-such-command")).WaitAsync(Timeout);

        Assert.Contains("unknown command", ex.Error, StringComparison.Ordinal);
        var rtts = await Dialer.PingAsync(Listener.Address).WaitAsync(Timeout);
        Assert.Single(rtts);
    }

    [Fact]
    public async Task DialAsync_NothingListening_ThrowsJsPeerCommandException()
    {
        // A port just released by a listener of our own, and a peer ID nobody has: nothing to reuse.
        using var nobody = IdentityKeyPair.Generate();
        var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        var port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();

        await Assert.ThrowsAsync<JsPeerCommandException>(
            () => Dialer.DialAsync($"/ip4/127.0.0.1/tcp/{port}/p2p/{nobody.PeerId}")).WaitAsync(Timeout);
    }

    [Fact]
    public async Task HangUpAsync_Connected_ListenerSeesDisconnect()
    {
        await Dialer.DialAsync(Listener.Address).WaitAsync(Timeout);
        var mark = Listener.Process.EventCount;

        await Dialer.HangUpAsync(Listener.Address).WaitAsync(Timeout);

        var evt = await Listener.WaitForPeerEventAsync("peer:disconnect", Dialer.PeerId, Timeout, mark);
        Assert.Equal(Dialer.PeerId, evt.GetProperty("peerId").GetString());
    }
}
