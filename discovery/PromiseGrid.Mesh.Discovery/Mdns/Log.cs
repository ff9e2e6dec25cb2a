using System.Net;
using Microsoft.Extensions.Logging;

namespace PromiseGrid.Mesh.Discovery.Mdns;

/// <summary>Source-generated log messages of mDNS discovery (event ids 3000–3099).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3000, EventName = "MdnsStarted", Level = LogLevel.Information,
        Message = "mDNS started as {PeerName} on {Interfaces}")]
    public static partial void Started(ILogger logger, string peerName, string interfaces);

    [LoggerMessage(EventId = 3001, EventName = "MdnsInterfaceSkipped", Level = LogLevel.Warning,
        Message = "mDNS cannot use interface {Interface} ({Family}): {Reason}")]
    public static partial void InterfaceSkipped(ILogger logger, string @interface, string family, string reason);

    [LoggerMessage(EventId = 3002, EventName = "MdnsPacketDropped", Level = LogLevel.Debug,
        Message = "mDNS dropped a packet of {Length} bytes from {Remote} on {Interface}: {Reason}")]
    public static partial void PacketDropped(ILogger logger, int length, IPEndPoint remote, string @interface, string reason);

    [LoggerMessage(EventId = 3003, EventName = "MdnsRecordRejected", Level = LogLevel.Debug,
        Message = "mDNS rejected a record from {Remote}: {Reason}")]
    public static partial void RecordRejected(ILogger logger, IPEndPoint remote, string reason);

    [LoggerMessage(EventId = 3004, EventName = "MdnsPeerDiscovered", Level = LogLevel.Debug,
        Message = "mDNS discovered {PeerId} with {AddressCount} addresses, TTL {Ttl}")]
    public static partial void PeerDiscovered(ILogger logger, string peerId, int addressCount, TimeSpan ttl);

    [LoggerMessage(EventId = 3005, EventName = "MdnsPeerGone", Level = LogLevel.Debug,
        Message = "mDNS peer {PeerId} is gone ({Reason})")]
    public static partial void PeerGone(ILogger logger, string peerId, string reason);

    [LoggerMessage(EventId = 3006, EventName = "MdnsSendFailed", Level = LogLevel.Warning,
        Message = "mDNS send on {Interface} failed: {Reason}")]
    public static partial void SendFailed(ILogger logger, string @interface, string reason);

    [LoggerMessage(EventId = 3007, EventName = "MdnsEventDropped", Level = LogLevel.Warning,
        Message = "mDNS event queue full; dropped the event for {PeerId}")]
    public static partial void EventDropped(ILogger logger, string peerId);

    [LoggerMessage(EventId = 3008, EventName = "MdnsReceiveFailed", Level = LogLevel.Warning,
        Message = "mDNS receive failed: {Reason}")]
    public static partial void ReceiveFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 3009, EventName = "MdnsPeerLimit", Level = LogLevel.Debug,
        Message = "mDNS ignores peer {PeerId}: {MaxPeers} peers already known")]
    public static partial void PeerLimit(ILogger logger, string peerId, int maxPeers);
}
