using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Identity;

namespace PromiseGrid.Mesh.Noise;

/// <summary>Source-generated log messages of the Noise upgrade and channel (event ids 3000–3099).</summary>
internal static partial class NoiseLog
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Debug, Message = "Noise handshake as {Role} with {PeerId} completed")]
    public static partial void HandshakeCompleted(ILogger logger, string role, PeerId peerId);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Noise handshake as {Role} with {RemoteAddress} failed")]
    public static partial void HandshakeFailed(ILogger logger, string role, string remoteAddress, Exception exception);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Noise channel with {PeerId} failed while reading")]
    public static partial void ReadFailed(ILogger logger, PeerId peerId, Exception exception);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Debug, Message = "Noise channel with {PeerId} failed while writing")]
    public static partial void WriteFailed(ILogger logger, PeerId peerId, Exception exception);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Debug, Message = "Noise channel with {PeerId} closed by the remote")]
    public static partial void RemoteClosed(ILogger logger, PeerId peerId);
}
