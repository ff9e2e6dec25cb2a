using System.Text.Json;
using System.Text.Json.Nodes;

namespace PromiseGrid.Mesh.Integration.Tests.Harness;

/// <summary>
/// A js-libp2p 2.10 peer (<c>tests/interop-js/peer.mjs</c>) in its own process, driven by JSON
/// lines: it listens (TCP + Noise + yamux; identify, ping, <c>/echo/1.0.0</c>, <c>/perf/1.0.0</c>)
/// and dials on command. Commands are answered by id; events (<c>peer:connect</c>,
/// <c>peer:disconnect</c>, <c>peer:discovery</c>, <c>peer:identify</c>) can be awaited.
/// </summary>
public sealed class JsPeer : IAsyncDisposable
{
    private readonly JsPeerOptions _options;
    private long _nextId;

    private JsPeer(ManagedProcess process, JsPeerOptions options, JsListening listening)
    {
        Process = process;
        _options = options;
        Listening = listening;
    }

    /// <summary>The underlying process (events, stderr, <see cref="ManagedProcess.Describe"/>).</summary>
    public ManagedProcess Process { get; }

    /// <summary>Peer ID and listen addresses from the peer's first line.</summary>
    public JsListening Listening { get; }

    /// <summary>The peer's ID (base58 text).</summary>
    public string PeerId => Listening.PeerId;

    /// <summary>The first listen address, with <c>/p2p/&lt;id&gt;</c>.</summary>
    public string Address => Listening.Addrs[0];

    /// <summary>Starts the peer and waits for its <c>listening</c> line.</summary>
    public static async Task<JsPeer> StartAsync(JsPeerOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= JsPeerOptions.Default;
        options.Validate();
        RepoPaths.RequireInteropJsInstalled();

        var process = ManagedProcess.Start(
            options.NodeExecutable,
            [RepoPaths.JsPeerScript, .. options.ToArguments()],
            new ManagedProcessOptions
            {
                Name = options.Name,
                NetworkNamespace = options.NetworkNamespace,
                WorkingDirectory = RepoPaths.InteropJsDirectory,
            });
        try
        {
            var line = await process.WaitForEventAsync(
                e => EventName(e) == "listening", options.StartTimeout, cancellationToken: cancellationToken);
            var listening = line.Deserialize<JsListening>(JsonSerializerOptions.Web)
                ?? throw new InvalidOperationException($"Unreadable listening line: {line}");
            if (listening.Addrs.Count == 0)
            {
                throw new InvalidOperationException($"{options.Name} listens on no address.\n{process.Describe()}");
            }

            return new JsPeer(process, options, listening);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Sends <c>{"id":n,"cmd":command,…arguments}</c> and returns the answer with id n; throws
    /// <see cref="JsPeerCommandException"/> when it carries <c>error</c>, <see cref="TimeoutException"/> after the timeout.
    /// </summary>
    public async Task<JsonElement> SendAsync(
        string command, JsonObject? arguments = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var id = Interlocked.Increment(ref _nextId);
        var message = new JsonObject { ["id"] = id, ["cmd"] = command };
        if (arguments is not null)
        {
            foreach (var (key, value) in arguments)
            {
                message[key] = value?.DeepClone();
            }
        }

        var text = message.ToJsonString();
        var mark = Process.EventCount;
        await Process.WriteLineAsync(text, cancellationToken);
        var answer = await Process.WaitForEventAsync(
            e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("id", out var v)
                && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) && n == id,
            timeout ?? _options.CommandTimeout,
            mark,
            cancellationToken);
        if (answer.TryGetProperty("error", out var error))
        {
            throw new JsPeerCommandException(text, error.ToString(), Process.Describe());
        }

        return answer;
    }

    /// <summary>Dials <paramref name="addr"/> (a multiaddr, normally ending in <c>/p2p/&lt;id&gt;</c>).</summary>
    public async Task<JsDialResult> DialAsync(string addr, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Read<JsDialResult>(await SendAsync("dial", new JsonObject { ["addr"] = addr }, timeout, cancellationToken));

    /// <summary>Runs <paramref name="count"/> pings (<c>/ipfs/ping/1.0.0</c>) and returns the RTTs in milliseconds.</summary>
    public async Task<IReadOnlyList<double>> PingAsync(
        string addr, int count = 1, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var answer = await SendAsync("ping", new JsonObject { ["addr"] = addr, ["count"] = count }, timeout, cancellationToken);
        return [.. answer.GetProperty("rtts").EnumerateArray().Select(e => e.GetDouble())];
    }

    /// <summary>Runs identify against the remote and returns what js's peer store holds for it.</summary>
    public async Task<JsIdentifyResult> IdentifyAsync(string addr, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Read<JsIdentifyResult>(await SendAsync("identify", new JsonObject { ["addr"] = addr }, timeout, cancellationToken));

    /// <summary>Sends <paramref name="bytes"/> deterministic pseudo-random bytes over <c>/echo/1.0.0</c> and compares what comes back.</summary>
    public async Task<JsEchoResult> EchoAsync(
        string addr, long bytes, int seed = 1, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Read<JsEchoResult>(await SendAsync(
            "echo", new JsonObject { ["addr"] = addr, ["bytes"] = bytes, ["seed"] = seed }, timeout, cancellationToken));

    /// <summary>Runs <paramref name="streams"/> echo streams of <paramref name="bytesPerStream"/> bytes at once on one connection.</summary>
    public async Task<JsEchoParallelResult> EchoParallelAsync(
        string addr, int streams, long bytesPerStream, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Read<JsEchoParallelResult>(await SendAsync(
            "echoParallel",
            new JsonObject { ["addr"] = addr, ["streams"] = streams, ["bytes"] = bytesPerStream },
            timeout,
            cancellationToken));

    /// <summary>Runs one <c>/perf/1.0.0</c> exchange as client: uploads <paramref name="upload"/> bytes, asks for <paramref name="download"/>.</summary>
    public async Task<JsPerfResult> PerfAsync(
        string addr, long upload, long download, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Read<JsPerfResult>(await SendAsync(
            "perf", new JsonObject { ["addr"] = addr, ["upload"] = upload, ["download"] = download }, timeout, cancellationToken));

    /// <summary>Closes every connection to the peer at <paramref name="addr"/>.</summary>
    public Task HangUpAsync(string addr, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        SendAsync("hangup", new JsonObject { ["addr"] = addr }, timeout, cancellationToken);

    /// <summary>The peer's open connections.</summary>
    public async Task<IReadOnlyList<JsConnectionInfo>> PeersAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var answer = await SendAsync("peers", null, timeout, cancellationToken);
        return answer.GetProperty("peers").Deserialize<List<JsConnectionInfo>>(JsonSerializerOptions.Web) ?? [];
    }

    /// <summary>
    /// Waits for an event line named <paramref name="eventName"/> (e.g. <c>peer:discovery</c>) for which
    /// <paramref name="predicate"/> holds, looking at every event since start (or since <paramref name="fromIndex"/>).
    /// </summary>
    public Task<JsonElement> WaitForEventAsync(
        string eventName, Func<JsonElement, bool>? predicate, TimeSpan timeout, int fromIndex = 0, CancellationToken cancellationToken = default) =>
        Process.WaitForEventAsync(e => EventName(e) == eventName && (predicate?.Invoke(e) ?? true), timeout, fromIndex, cancellationToken);

    /// <summary>Waits for an event named <paramref name="eventName"/> about <paramref name="peerId"/>.</summary>
    public Task<JsonElement> WaitForPeerEventAsync(
        string eventName, string peerId, TimeSpan timeout, int fromIndex = 0, CancellationToken cancellationToken = default) =>
        WaitForEventAsync(eventName, e => e.TryGetProperty("peerId", out var p) && p.GetString() == peerId, timeout, fromIndex, cancellationToken);

    /// <summary>Stops the peer (stdin closed: it stops libp2p and exits; killed if it lingers).</summary>
    public ValueTask DisposeAsync() => Process.DisposeAsync();

    private T Read<T>(JsonElement answer) =>
        answer.Deserialize<T>(JsonSerializerOptions.Web)
        ?? throw new InvalidOperationException($"Unreadable answer {answer} from {Process.Name}.");

    private static string? EventName(JsonElement e) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty("event", out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : null;
}
