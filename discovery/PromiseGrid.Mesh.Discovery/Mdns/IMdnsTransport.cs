using System.Net;

namespace PromiseGrid.Mesh.Discovery.Mdns;

/// <summary>An interface mDNS runs on: its name, OS index, whether it is loopback, and its IPv4 address if any.</summary>
internal sealed record MdnsInterface(string Name, int Index, bool IsLoopback, IPAddress? IPv4Address);

/// <summary>One received datagram, the interface it arrived on, and its sender.</summary>
internal readonly record struct MdnsDatagram(ReadOnlyMemory<byte> Data, MdnsInterface Interface, IPEndPoint Remote);

/// <summary>
/// The datagram layer under <see cref="MdnsDiscovery"/>: multicast sockets in production
/// (<see cref="MulticastTransport"/>), an in-memory link in unit tests.
/// </summary>
internal interface IMdnsTransport : IAsyncDisposable
{
    /// <summary>Interfaces the transport joined.</summary>
    IReadOnlyList<MdnsInterface> Interfaces { get; }

    /// <summary>Next datagram from a joined interface; ends with <see cref="OperationCanceledException"/> or <see cref="System.Threading.Channels.ChannelClosedException"/>.</summary>
    ValueTask<MdnsDatagram> ReceiveAsync(CancellationToken cancellationToken = default);

    /// <summary>Sends to the mDNS groups on <paramref name="iface"/>, or by unicast to <paramref name="unicastTo"/>.</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> packet, MdnsInterface iface, IPEndPoint? unicastTo = null, CancellationToken cancellationToken = default);
}
