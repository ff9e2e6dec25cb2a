using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Bootstrap;

/// <summary>Bootstrap log events (EventId 3100–3199).</summary>
internal static partial class Log
{
    [LoggerMessage(3100, LogLevel.Debug, "Dialling bootstrap peer {PeerId} at {Address} (attempt {Attempt})", EventName = "BootstrapDial")]
    public static partial void Dialing(ILogger logger, PeerId peerId, Multiaddr address, int attempt);

    [LoggerMessage(3101, LogLevel.Information, "Connected to bootstrap peer {PeerId}", EventName = "BootstrapConnected")]
    public static partial void Connected(ILogger logger, PeerId peerId);

    [LoggerMessage(3102, LogLevel.Warning, "Dial to bootstrap peer {PeerId} failed; retrying in {Delay}", EventName = "BootstrapDialFailed")]
    public static partial void DialFailed(ILogger logger, PeerId peerId, TimeSpan delay, Exception exception);

    [LoggerMessage(3103, LogLevel.Information, "Connection to bootstrap peer {PeerId} dropped; redialling in {Delay}", EventName = "BootstrapDropped")]
    public static partial void Dropped(ILogger logger, PeerId peerId, TimeSpan delay);
}
