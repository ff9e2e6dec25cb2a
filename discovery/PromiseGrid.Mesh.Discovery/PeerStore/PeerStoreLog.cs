using Microsoft.Extensions.Logging;

namespace PromiseGrid.Mesh.Discovery;

/// <summary>Source-generated log messages of the peer store (event ids 3100–3199).</summary>
internal static partial class PeerStoreLog
{
    [LoggerMessage(EventId = 3100, EventName = "PeerStoreLoaded", Level = LogLevel.Information,
        Message = "peer store loaded {PeerCount} peers from {Path}")]
    public static partial void Loaded(ILogger logger, int peerCount, string path);

    [LoggerMessage(EventId = 3101, EventName = "PeerStoreLoadFailed", Level = LogLevel.Warning,
        Message = "peer store could not read {Path}; starting empty: {Reason}")]
    public static partial void LoadFailed(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 3102, EventName = "PeerStoreEntrySkipped", Level = LogLevel.Debug,
        Message = "peer store skipped a bad entry in {Path}: {Reason}")]
    public static partial void EntrySkipped(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 3103, EventName = "PeerStoreEvicted", Level = LogLevel.Debug,
        Message = "peer store evicted {PeerId} (limit {MaxPeers})")]
    public static partial void Evicted(ILogger logger, string peerId, int maxPeers);
}
