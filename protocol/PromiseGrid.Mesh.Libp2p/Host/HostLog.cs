using Microsoft.Extensions.Logging;

namespace PromiseGrid.Mesh.Host;

internal static partial class HostLog
{
    [LoggerMessage(EventId = 1400, EventName = "HostListening", Level = LogLevel.Information, Message = "host {PeerId} listening on {Address}")]
    public static partial void Listening(ILogger logger, string peerId, string address);

    [LoggerMessage(EventId = 1401, EventName = "HostConnected", Level = LogLevel.Information, Message = "{Direction} connection {ConnectionId} to {PeerId} at {Address}")]
    public static partial void Connected(ILogger logger, string direction, long connectionId, string peerId, string address);

    [LoggerMessage(EventId = 1402, EventName = "HostDisconnected", Level = LogLevel.Information, Message = "connection {ConnectionId} to {PeerId} ended")]
    public static partial void Disconnected(ILogger logger, long connectionId, string peerId, Exception? exception);

    [LoggerMessage(EventId = 1403, EventName = "HostInboundUpgradeFailed", Level = LogLevel.Information, Message = "inbound connection from {Address} failed its upgrade")]
    public static partial void InboundUpgradeFailed(ILogger logger, string address, Exception exception);

    [LoggerMessage(EventId = 1404, EventName = "HostInboundRejected", Level = LogLevel.Warning, Message = "inbound connection from {Address} rejected: {Reason}")]
    public static partial void InboundRejected(ILogger logger, string address, string reason);

    [LoggerMessage(EventId = 1405, EventName = "HostStreamNegotiationFailed", Level = LogLevel.Debug, Message = "inbound stream {StreamId} from {PeerId} selected no protocol")]
    public static partial void StreamNegotiationFailed(ILogger logger, uint streamId, string peerId, Exception exception);

    [LoggerMessage(EventId = 1406, EventName = "HostHandlerFailed", Level = LogLevel.Warning, Message = "handler for {ProtocolId} on stream {StreamId} from {PeerId} failed")]
    public static partial void HandlerFailed(ILogger logger, string protocolId, uint streamId, string peerId, Exception exception);

    [LoggerMessage(EventId = 1408, EventName = "HostHandlerStreamEnded", Level = LogLevel.Debug, Message = "handler for {ProtocolId} on stream {StreamId} from {PeerId} ended: the remote reset the stream or closed the connection")]
    public static partial void HandlerStreamEnded(ILogger logger, string protocolId, uint streamId, string peerId, Exception exception);

    [LoggerMessage(EventId = 1407, EventName = "HostIdentifyFailed", Level = LogLevel.Information, Message = "identify of {PeerId} failed")]
    public static partial void IdentifyFailed(ILogger logger, string peerId, Exception exception);

    [LoggerMessage(EventId = 1408, EventName = "HostIdentified", Level = LogLevel.Debug, Message = "{PeerId} is {AgentVersion} with {ProtocolCount} protocols")]
    public static partial void Identified(ILogger logger, string peerId, string? agentVersion, int protocolCount);

    [LoggerMessage(EventId = 1409, EventName = "HostEventDropped", Level = LogLevel.Warning, Message = "host event queue full, dropped {EventType} for {PeerId}")]
    public static partial void EventDropped(ILogger logger, string eventType, string peerId);

    [LoggerMessage(EventId = 1410, EventName = "HostAcceptLoopFailed", Level = LogLevel.Error, Message = "accept loop on {Address} failed")]
    public static partial void AcceptLoopFailed(ILogger logger, string address, Exception exception);
}
