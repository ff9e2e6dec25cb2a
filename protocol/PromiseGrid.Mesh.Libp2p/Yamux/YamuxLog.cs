using Microsoft.Extensions.Logging;

namespace PromiseGrid.Mesh.Yamux;

/// <summary>Log events of the yamux session, EventIds 1300–1399. Names are stable once shipped.</summary>
internal static partial class YamuxLog
{
    [LoggerMessage(1300, LogLevel.Debug, "Yamux session with {PeerId} started as {Role}", EventName = "YamuxSessionStarted")]
    public static partial void SessionStarted(ILogger logger, string peerId, string role);

    [LoggerMessage(1301, LogLevel.Debug, "Yamux session with {PeerId} ended: {Reason}", EventName = "YamuxSessionEnded")]
    public static partial void SessionEnded(ILogger logger, string peerId, string reason);

    [LoggerMessage(1302, LogLevel.Warning, "Yamux protocol violation by {PeerId}: {Violation}", EventName = "YamuxProtocolViolation")]
    public static partial void ProtocolViolation(ILogger logger, string peerId, string violation);

    [LoggerMessage(1303, LogLevel.Debug, "Yamux inbound stream {StreamId} from {PeerId} rejected: {Reason}", EventName = "YamuxStreamRejected")]
    public static partial void StreamRejected(ILogger logger, uint streamId, string peerId, string reason);

    [LoggerMessage(1304, LogLevel.Debug, "Yamux GoAway from {PeerId} with code {Code}", EventName = "YamuxGoAwayReceived")]
    public static partial void GoAwayReceived(ILogger logger, string peerId, uint code);

    [LoggerMessage(1305, LogLevel.Warning, "Yamux keep-alive ping to {PeerId} unanswered after {Interval}", EventName = "YamuxKeepAliveTimeout")]
    public static partial void KeepAliveTimeout(ILogger logger, string peerId, TimeSpan interval);

    [LoggerMessage(1306, LogLevel.Debug, "Yamux unexpected ping reply {Value} from {PeerId} ignored", EventName = "YamuxUnexpectedPong")]
    public static partial void UnexpectedPong(ILogger logger, uint value, string peerId);

    [LoggerMessage(1307, LogLevel.Trace, "Yamux frame for closed stream {StreamId} from {PeerId} dropped", EventName = "YamuxLateFrameDropped")]
    public static partial void LateFrameDropped(ILogger logger, uint streamId, string peerId);

    [LoggerMessage(1308, LogLevel.Debug, "Yamux stream {StreamId} to {PeerId} grew its receive window to {Window}", EventName = "YamuxWindowGrown")]
    public static partial void WindowGrown(ILogger logger, uint streamId, string peerId, int window);
}
