using System.Text.Json;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Integration.Tests.Cli;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Node;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Integration.Tests.Ports;

/// <summary><c>pgnode port serve</c> and <c>pgnode port send</c> as real processes over loopback.</summary>
public sealed class PortCommandTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly DirectoryInfo _home = Directory.CreateTempSubdirectory("pgm-port-");

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _home.Delete(recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Send_1000Messages_AllAckedReceivedOnceInOrder()
    {
        await using var serve = await PortServe.StartAsync(KeyFile("serve"));
        var senderKey = KeyFile("send");
        string senderId;
        using (var identity = IdentityKeyPair.LoadOrCreate(senderKey))
        {
            senderId = identity.PeerId.ToString();
        }

        var result = await PortSend.RunAsync(serve.Ref, serve.Addrs[0], "--count", "1000", "--size", "64", "--key", senderKey);

        Assert.True(result.ExitCode == 0, result.Description);
        Assert.Empty(result.Errors);
        Assert.Equal(1000, result.Field("sent"));
        Assert.Equal(1000, result.Field("acked"));
        Assert.Equal(0, result.Field("failed"));
        Assert.True(result.Summary.GetProperty("msgs_per_s").GetDouble() > 0);
        Assert.True(result.Summary.GetProperty("p50_us").GetDouble() > 0);
        Assert.True(result.Summary.GetProperty("p99_us").GetDouble() >= result.Summary.GetProperty("p50_us").GetDouble());
        Assert.True(result.Summary.TryGetProperty("retries", out _));

        // Acknowledged means enqueued, not yet printed: wait for the last one.
        await serve.WaitForMessageAsync(999, Timeout);
        var messages = serve.Messages;
        Assert.Equal(Enumerable.Range(0, 1000), messages.Select(m => m.GetProperty("id").GetInt32()));
        var sequences = messages.Select(m => m.GetProperty("seq").GetInt64()).ToList();
        Assert.All(sequences.Zip(sequences.Skip(1)), pair => Assert.Equal(pair.First + 1, pair.Second));
        Assert.All(messages, m =>
        {
            Assert.Equal(64, m.GetProperty("size").GetInt32());
            Assert.Equal(senderId, m.GetProperty("from").GetString());
            Assert.False(m.TryGetProperty("text", out _), "a binary payload is not shown as text");
        });
    }

    [Theory]
    [InlineData("4096")]
    [InlineData("1")]
    public async Task Send_Warmup_SentFirstWithNegativeIdsAndLeftOutOfTheSummary(string window)
    {
        await using var serve = await PortServe.StartAsync(KeyFile("serve"), "echo", "/ip4/127.0.0.1/tcp/0", "--reply");
        var result = await PortSend.RunAsync(serve.Ref, serve.Addrs[0], "--count", "20", "--warmup", "5", "--request", "--window", window);

        Assert.True(result.ExitCode == 0, result.Description);
        Assert.Empty(result.Errors);
        Assert.Equal(20, result.Field("sent"));
        Assert.Equal(20, result.Field("replied"));
        await serve.WaitForMessageAsync(19, Timeout);
        Assert.Equal([-5, -4, -3, -2, -1, .. Enumerable.Range(0, 20)], serve.MessageIds);
    }

    [Fact]
    public async Task Send_Text_ServePrintsTextAndHumanLine()
    {
        await using var serve = await PortServe.StartAsync(KeyFile("serve"));
        var result = await PortSend.RunAsync(serve.Ref, serve.Addrs[0], "--count", "3", "--text", "Hello, Node B!");

        Assert.True(result.ExitCode == 0, result.Description);
        await serve.WaitForMessageAsync(2, Timeout);
        Assert.All(serve.Messages, m =>
        {
            Assert.Equal("Hello, Node B!", m.GetProperty("text").GetString());
            Assert.Equal(14, m.GetProperty("size").GetInt32());
        });
    }

    [Theory]
    [InlineData("64")]
    [InlineData("1")] // one call at a time: send, then receive on the reply port
    public async Task Send_RequestToReplyingServe_EveryReplyArrives(string window)
    {
        await using var serve = await PortServe.StartAsync(KeyFile("serve"), "echo", "/ip4/127.0.0.1/tcp/0", "--reply");
        var result = await PortSend.RunAsync(serve.Ref, serve.Addrs[0], "--count", "500", "--request", "--window", window);

        Assert.True(result.ExitCode == 0, result.Description);
        Assert.Empty(result.Errors);
        Assert.Equal(500, result.Field("sent"));
        Assert.Equal(500, result.Field("acked"));
        Assert.Equal(500, result.Field("replied"));
        Assert.Equal(0, result.Field("failed"));
        Assert.True(result.Summary.GetProperty("p50_us").GetDouble() > 0);
        Assert.DoesNotContain(serve.Process.Events, e => PgnodeProcess.Event(e) == "reply:error");
    }

    [Theory]
    [InlineData("4096")]
    [InlineData("1")]
    public async Task Send_RequestToNonReplyingServe_EachMessageFailsWithReceiveTimeout(string window)
    {
        await using var serve = await PortServe.StartAsync(KeyFile("serve"));
        var result = await PortSend.RunAsync(serve.Ref, serve.Addrs[0], "--count", "2", "--request", "--timeout", "2", "--window", window);

        Assert.Equal(10, result.ExitCode);
        Assert.Equal(2, result.Field("acked"));
        Assert.Equal(0, result.Field("replied"));
        Assert.Equal(2, result.Field("failed"));
        Assert.Equal([0, 1], result.Errors.Select(e => e.GetProperty("id").GetInt32()).Order());
        Assert.All(result.Errors, e => Assert.Equal("ReceiveTimeoutException", e.GetProperty("error").GetString()));
    }

    [Fact]
    public async Task Send_PortExistsButNotPublished_FailsWithNoRight()
    {
        // The port's home is an in-process node holding a port it never published.
        using var identity = IdentityKeyPair.Generate();
        await using var node = await StartHomeAsync(identity);
        await using var task = node.Kernel.CreateTask("private");
        var port = task.CreatePort();
        var portRef = node.Ports.GetPortRef(task, port).ToString();
        var address = AddressOf(node);

        var result = await PortSend.RunAsync(portRef, address, "--count", "5");

        Assert.Equal(9, result.ExitCode);
        AssertOneErrorLine(result, "no-right");
        Assert.Equal(0, task.GetStatus(port).MessageCount);
    }

    [Fact]
    public async Task Send_CallsOneAtATime_RefusedSendFailsWithItsErrorBeforeTheTimeout()
    {
        // The home node takes payloads of at most 1 KiB; the sender's own limit is higher, so the
        // home refuses each request and no reply ever comes.
        using var identity = IdentityKeyPair.Generate();
        await using var node = await StartHomeAsync(identity, PortKernelOptions.Default with { MaxInlinePayload = 1024 });
        await using var task = node.Kernel.CreateTask("small");
        var port = task.CreatePort();
        node.Ports.Publish(task, port, "small");
        var portRef = node.Ports.GetPortRef(task, port).ToString();
        var address = AddressOf(node);

        // A reply timeout far beyond the harness's wait for the process: a call that waited for
        // its reply instead of seeing the refusal would make this run time out, not pass.
        var result = await PortSend.RunAsync(portRef, address, "--count", "2", "--size", "4096", "--request", "--window", "1", "--timeout", "600");

        Assert.Equal(10, result.ExitCode);
        Assert.Equal(0, result.Field("replied"));
        Assert.Equal(2, result.Field("failed"));
        Assert.All(result.Errors, e => Assert.Equal("MessageTooLargeException", e.GetProperty("error").GetString()));
        Assert.Equal(2, result.Errors.Count);
        Assert.Equal(0, task.GetStatus(port).MessageCount);
    }

    [Fact]
    public async Task Send_WrongPortId_FailsWithPortDead()
    {
        await using var serve = await PortServe.StartAsync(KeyFile("serve"));
        var wrong = new PortRef(PortRef.Parse(serve.Ref).Home, PortId.NewRandom()).ToString();

        var result = await PortSend.RunAsync(wrong, serve.Addrs[0], "--count", "5");

        Assert.Equal(8, result.ExitCode);
        AssertOneErrorLine(result, "port-dead");
        Assert.Empty(serve.Messages);
    }

    [Fact]
    public async Task Send_BadReference_OneUsageLineExit2()
    {
        var result = await PortSend.RunAsync("/p2p/not-a-port", "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");

        Assert.Equal(2, result.ExitCode);
        var error = AssertOneErrorLine(result, "usage");
        Assert.Contains("bad port reference", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Send_PeerIsNotThePortsHome_OneUsageLineExit2()
    {
        using var home = IdentityKeyPair.Generate();
        using var other = IdentityKeyPair.Generate();
        var portRef = new PortRef(home.PeerId, PortId.NewRandom()).ToString();

        var result = await PortSend.RunAsync(portRef, $"/ip4/127.0.0.1/tcp/1/p2p/{other.PeerId}");

        Assert.Equal(2, result.ExitCode);
        var error = AssertOneErrorLine(result, "usage");
        Assert.Contains("home", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Send_NobodyListening_FailsUnreachable()
    {
        using var home = IdentityKeyPair.Generate();
        var portRef = new PortRef(home.PeerId, PortId.NewRandom()).ToString();

        var result = await PortSend.RunAsync(portRef, $"/ip4/127.0.0.1/tcp/1/p2p/{home.PeerId}", "--timeout", "5");

        Assert.Equal(3, result.ExitCode);
        AssertOneErrorLine(result, "unreachable");
    }

    private string KeyFile(string name) => Path.Combine(_home.FullName, name + ".key");

    /// <summary>The command printed exactly one line to stderr: a JSON error of kind <paramref name="kind"/>.</summary>
    /// <summary>An in-process node on loopback to be a port's home (no peer exchange).</summary>
    private static async Task<MeshNode> StartHomeAsync(IdentityKeyPair identity, PortKernelOptions? kernel = null) =>
        await MeshNode.StartAsync(new MeshNodeOptions
        {
            Identity = identity,
            ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
            EnablePeerExchange = false,
            Kernel = kernel ?? PortKernelOptions.Default,
        });

    private static string AddressOf(MeshNode node) => node.Host.ListenAddresses[0].WithPeerId(node.PeerId).ToString();

    private static JsonElement AssertOneErrorLine(PortSendResult result, string kind)
    {
        var line = Assert.Single(result.StderrLines);
        using var doc = JsonDocument.Parse(line);
        var error = doc.RootElement.Clone();
        Assert.Equal("error", error.GetProperty("event").GetString());
        Assert.Equal(kind, error.GetProperty("error").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.DoesNotContain(result.Events, e => PgnodeProcess.Event(e) == "send");
        return error;
    }
}
