using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using PromiseGrid.Mesh.Host;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Integration.Tests.Harness;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Integration.Tests.Cli;

/// <summary>The pgnode executable as a user runs it: real processes over loopback.</summary>
public sealed class PgnodeCliTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly DirectoryInfo _home = Directory.CreateTempSubdirectory("pgm-cli-");
    private ManagedProcess _node = null!;
    private string _peerId = null!;
    private string _address = null!;

    public async Task InitializeAsync()
    {
        (_node, _peerId, var addrs) = await PgnodeProcess.RunAsync(_home.FullName);
        _address = addrs[0];
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        _home.Delete(recursive: true);
    }

    [Fact]
    public void Run_FirstLine_IsListeningWithDialableAddresses()
    {
        var first = _node.Events[0];
        Assert.Equal("listening", PgnodeProcess.Event(first));
        Assert.Equal(_peerId, first.GetProperty("peerId").GetString());
        Assert.EndsWith("/p2p/" + _peerId, _address);
        Assert.StartsWith("/ip4/127.0.0.1/tcp/", _address);
    }

    [Fact]
    public async Task Ping_RunningNode_PrintsEachRoundTripAndNodeSeesConnect()
    {
        // A known client identity, so the node's events can be matched to this client (other tests share the node).
        var keyFile = Path.Combine(Path.GetTempPath(), $"pgnode-ping-{Guid.NewGuid():N}.key");
        try
        {
            var (idCode, idEvents, idStderr) = await PgnodeProcess.ExecAsync("id", "--key", keyFile, "--json");
            Assert.True(idCode == 0, idStderr);
            var client = idEvents.Single(e => PgnodeProcess.Event(e) == "id").GetProperty("peerId").GetString();

            var (code, events, stderr) = await PgnodeProcess.ExecAsync("ping", _address, "--count", "3", "--key", keyFile, "--json");
            Assert.True(code == 0, stderr);
            var pings = events.Where(e => PgnodeProcess.Event(e) == "ping").ToList();
            Assert.Equal(3, pings.Count);
            Assert.All(pings, p => Assert.True(p.GetProperty("rtt_ms").GetDouble() > 0));
            Assert.Equal([1, 2, 3], pings.Select(p => p.GetProperty("seq").GetInt32()));

            bool FromClient(JsonElement e) => e.TryGetProperty("peerId", out var p) && p.GetString() == client;
            var connect = await _node.WaitForEventAsync(e => PgnodeProcess.Event(e) == "peer:connect" && FromClient(e), Timeout);
            Assert.Equal("inbound", connect.GetProperty("direction").GetString());
            await _node.WaitForEventAsync(e => PgnodeProcess.Event(e) == "peer:disconnect" && FromClient(e), Timeout);
        }
        finally
        {
            File.Delete(keyFile);
        }
    }

    [Fact]
    public async Task Identify_RunningNode_PrintsAgentProtocolsAndListenAddrs()
    {
        var (code, events, stderr) = await PgnodeProcess.ExecAsync("identify", _address, "--json");
        Assert.True(code == 0, stderr);
        var identify = Assert.Single(events, e => PgnodeProcess.Event(e) == "identify");
        Assert.Equal("promisegrid-mesh/0.1.0", identify.GetProperty("agentVersion").GetString());
        var protocols = identify.GetProperty("protocols").EnumerateArray().Select(p => p.GetString()).ToList();
        Assert.Contains("/ipfs/ping/1.0.0", protocols);
        Assert.Contains("/perf/1.0.0", protocols);
        Assert.Contains("/echo/1.0.0", protocols);
        Assert.Contains("/ipfs/id/1.0.0", protocols);
        var listen = identify.GetProperty("listenAddrs").EnumerateArray().Select(a => a.GetString()).ToList();
        Assert.Contains(Multiaddr.Parse(_address).WithoutPeerId().ToString(), listen);
    }

    [Fact]
    public async Task Perf_RunningNode_ReportsBytesBothWays()
    {
        var (code, events, stderr) = await PgnodeProcess.ExecAsync("perf", _address, "--upload", "4194304", "--download", "8388608", "--json");
        Assert.True(code == 0, stderr);
        var perf = Assert.Single(events, e => PgnodeProcess.Event(e) == "perf");
        Assert.Equal(4194304UL, perf.GetProperty("upload_bytes").GetUInt64());
        Assert.Equal(8388608UL, perf.GetProperty("download_bytes").GetUInt64());
        Assert.True(perf.GetProperty("seconds").GetDouble() > 0);
        Assert.True(perf.GetProperty("mbps_up").GetDouble() > 0);
        Assert.True(perf.GetProperty("mbps_down").GetDouble() > 0);
    }

    [Fact]
    public async Task Id_SameKeyFileAsRun_PrintsSamePeerId()
    {
        var (code, events, stderr) = await PgnodeProcess.ExecAsync("id", "--key", Path.Combine(_home.FullName, "identity.key"), "--json");
        Assert.True(code == 0, stderr);
        Assert.Equal(_peerId, Assert.Single(events).GetProperty("peerId").GetString());
    }

    [Theory]
    [InlineData("/ip4/127.0.0.1/tcp/notaport/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA")]
    [InlineData("/ip4/127.0.0.1/tcp/4001")]
    [InlineData("not-a-multiaddr")]
    public async Task Ping_BadMultiaddr_OneErrorLineAndExitCode2(string address)
    {
        var (code, _, stderr) = await PgnodeProcess.ExecAsync("ping", address);
        Assert.Equal(2, code);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("pgnode: ", stderr);
    }

    [Fact]
    public async Task Ping_NothingListening_ExitCode3()
    {
        var closedPort = ClosedLoopbackPort();
        var (code, _, stderr) = await PgnodeProcess.ExecAsync("ping", $"/ip4/127.0.0.1/tcp/{closedPort}/p2p/{_peerId}");
        Assert.Equal(3, code);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Ping_WrongPeerId_ExitCode4()
    {
        using var other = IdentityKeyPair.Generate();
        var wrong = Multiaddr.Parse(_address).WithoutPeerId().WithPeerId(other.PeerId).ToString();
        var (code, events, stderr) = await PgnodeProcess.ExecAsync("ping", wrong, "--json");
        Assert.Equal(4, code);
        Assert.DoesNotContain(events, e => PgnodeProcess.Event(e) == "ping");
        Assert.Contains("peer-id-mismatch", stderr);
    }

    [Fact]
    public async Task Perf_NodeWithoutPerf_ExitCode5()
    {
        using var identity = IdentityKeyPair.Generate();
        await using var host = new Libp2pHost(new Libp2pHostOptions
        {
            Identity = identity,
            ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
            EnablePerf = false,
        });
        await host.StartAsync();
        var address = host.ListenAddresses[0].WithPeerId(host.PeerId).ToString();
        var (code, _, stderr) = await PgnodeProcess.ExecAsync("perf", address, "--upload", "1024", "--download", "1024");
        Assert.True(code == 5, stderr);
    }

    [Fact]
    public async Task Run_Sigterm_StopsCleanlyWithExitCode0()
    {
        var home = Directory.CreateTempSubdirectory("pgm-cli-term-");
        try
        {
            var (process, _, _) = await PgnodeProcess.RunAsync(home.FullName);
            await using (process)
            {
                var kill = ManagedProcess.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
                await using (kill)
                {
                    Assert.Equal(0, await kill.WaitForExitAsync(Timeout));
                }

                Assert.Equal(0, await process.WaitForExitAsync(Timeout));
                Assert.Contains(process.Events, e => PgnodeProcess.Event(e) == "stopped");
            }
        }
        finally
        {
            home.Delete(recursive: true);
        }
    }

    private static int ClosedLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
