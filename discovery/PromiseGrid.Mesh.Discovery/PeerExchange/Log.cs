using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Identity;

namespace PromiseGrid.Mesh.Discovery.PeerExchange;

/// <summary>Peer-exchange log events (EventId 3200–3299).</summary>
internal static partial class Log
{
    [LoggerMessage(3200, LogLevel.Debug, "Answered peer exchange from {PeerId} with {PeerCount} peers", EventName = "PexServed")]
    public static partial void Served(ILogger logger, PeerId peerId, int peerCount);

    [LoggerMessage(3201, LogLevel.Warning, "Peer exchange request from {PeerId} failed; stream reset", EventName = "PexServeFailed")]
    public static partial void ServeFailed(ILogger logger, PeerId peerId, Exception exception);

    [LoggerMessage(3209, LogLevel.Debug, "Peer exchange request from {PeerId} ended: the requester reset the stream or closed the connection", EventName = "PexServeAbandoned")]
    public static partial void ServeAbandoned(ILogger logger, PeerId peerId, Exception exception);

    [LoggerMessage(3202, LogLevel.Debug, "Peer exchange with {PeerId} returned {PeerCount} peers, {NewCount} usable", EventName = "PexReceived")]
    public static partial void Received(ILogger logger, PeerId peerId, int peerCount, int newCount);

    [LoggerMessage(3203, LogLevel.Information, "Peer exchange with {PeerId} failed", EventName = "PexRequestFailed")]
    public static partial void RequestFailed(ILogger logger, PeerId peerId, Exception exception);

    [LoggerMessage(3205, LogLevel.Debug, "{PeerId} does not speak peer exchange; not asking again on this connection", EventName = "PexUnsupported")]
    public static partial void Unsupported(ILogger logger, PeerId peerId);

    [LoggerMessage(3204, LogLevel.Warning, "Peer exchange queue is full; {PeerId} waits for its next interval", EventName = "PexQueueFull")]
    public static partial void QueueFull(ILogger logger, PeerId peerId);
}
