namespace PromiseGrid.Mesh.Integration.Tests.Harness;

/// <summary>The interop peer's first line: its peer ID and full listen addresses (each ending in <c>/p2p/&lt;id&gt;</c>).</summary>
public sealed record JsListening(string PeerId, IReadOnlyList<string> Addrs);

/// <summary>Answer to <c>dial</c>.</summary>
public sealed record JsDialResult(string PeerId, string RemoteAddr, string Direction);

/// <summary>Answer to <c>identify</c>: the remote as js-libp2p's peer store sees it after a fresh identify.</summary>
public sealed record JsIdentifyResult(
    string PeerId,
    string? AgentVersion,
    string? ProtocolVersion,
    IReadOnlyList<string> Protocols,
    IReadOnlyList<string> ListenAddrs,
    string? ObservedAddr);

/// <summary>Answer to <c>echo</c>: <see cref="Ok"/> when every byte came back unchanged (same count and SHA-256).</summary>
public sealed record JsEchoResult(
    bool Ok, long SentBytes, long ReceivedBytes, string SentSha256, string ReceivedSha256, double Seconds);

/// <summary>Answer to <c>echoParallel</c>: one <see cref="JsEchoResult"/> per stream.</summary>
public sealed record JsEchoParallelResult(
    bool Ok, int Streams, int Failed, long TotalBytes, double Seconds, IReadOnlyList<JsEchoResult> Results);

/// <summary>
/// Answer to <c>perf</c> (libp2p-wire.md §10). Upload time runs from the first byte written to the first
/// reply byte (or EOF); download time from there to EOF. Mbit/s are null for a zero duration.
/// </summary>
public sealed record JsPerfResult(
    long UploadBytes,
    long DownloadBytes,
    double UploadSeconds,
    double DownloadSeconds,
    double TotalSeconds,
    double? UploadMbps,
    double? DownloadMbps);

/// <summary>One open connection in the answer to <c>peers</c>.</summary>
public sealed record JsConnectionInfo(string PeerId, string RemoteAddr, string Direction, string Status);

/// <summary>The interop peer answered a command with <c>{"error": …}</c>.</summary>
public sealed class JsPeerCommandException(string command, string error, string processDescription)
    : Exception($"js peer command {command} failed: {error}\n{processDescription}")
{
    /// <summary>The command line that was sent.</summary>
    public string Command { get; } = command;

    /// <summary>The peer's error text.</summary>
    public string Error { get; } = error;
}
