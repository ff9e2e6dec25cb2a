using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Identity;

namespace PromiseGrid.Mesh.Node.Mesh;

/// <summary>Mesh-policy log events of the node (EventId 4100–4199).</summary>
internal static partial class Log
{
    [LoggerMessage(4100, LogLevel.Information, "Over the high water mark with {ConnectionCount} connections; closing {TrimCount}", EventName = "ConnectionTrim")]
    public static partial void Trimming(ILogger logger, int connectionCount, int trimCount);

    [LoggerMessage(4101, LogLevel.Debug, "Closing connection {ConnectionId} to {PeerId} ({StreamCount} streams)", EventName = "ConnectionTrimClose")]
    public static partial void Closing(ILogger logger, long connectionId, PeerId peerId, int streamCount);

    [LoggerMessage(4102, LogLevel.Warning, "Closing connection {ConnectionId} to {PeerId} failed", EventName = "ConnectionTrimCloseFailed")]
    public static partial void CloseFailed(ILogger logger, long connectionId, PeerId peerId, Exception exception);

    [LoggerMessage(4103, LogLevel.Error, "Connection trim pass failed", EventName = "ConnectionTrimFailed")]
    public static partial void TrimFailed(ILogger logger, Exception exception);
}
