using Microsoft.Extensions.Logging;

namespace PromiseGrid.Mesh.Tcp;

internal static partial class Log
{
    [LoggerMessage(EventId = 1000, EventName = "TcpListening", Level = LogLevel.Information, Message = "listening on {Address}")]
    public static partial void Listening(ILogger logger, string address);

    [LoggerMessage(EventId = 1001, EventName = "TcpAccepted", Level = LogLevel.Debug, Message = "accepted {Remote} on {Local}")]
    public static partial void Accepted(ILogger logger, string remote, string local);

    [LoggerMessage(EventId = 1002, EventName = "TcpConnected", Level = LogLevel.Debug, Message = "connected to {Remote} from {Local}")]
    public static partial void Connected(ILogger logger, string remote, string local);

    [LoggerMessage(EventId = 1003, EventName = "TcpConnectionError", Level = LogLevel.Debug, Message = "connection {Remote} ended with an error")]
    public static partial void ConnectionError(ILogger logger, string remote, Exception exception);

    [LoggerMessage(EventId = 1004, EventName = "TcpAcceptError", Level = LogLevel.Warning, Message = "accept on {Local} failed")]
    public static partial void AcceptError(ILogger logger, string local, Exception exception);
}
