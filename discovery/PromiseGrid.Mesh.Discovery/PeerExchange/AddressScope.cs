using System.Net;
using System.Net.Sockets;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.PeerExchange;

/// <summary>How far an address reaches (docs/peer-exchange.md §5).</summary>
internal enum AddressReach
{
    /// <summary>Never shared: unspecified, link-local, multicast, relayed, non-IP shapes.</summary>
    None,

    /// <summary>127.0.0.0/8, ::1, <c>/dns*/localhost</c>: the same host only.</summary>
    Loopback,

    /// <summary>10/8, 172.16/12, 192.168/16, 100.64/10 (CGNAT), fc00::/7: the same site.</summary>
    Private,

    /// <summary>Any other unicast IP, and DNS names.</summary>
    Public,
}

/// <summary>
/// The address-sharing rule of peer exchange: an address is sent to (or accepted from) a peer only
/// if that peer can plausibly reach it, judged by the address this node sees the peer at.
/// Loopback addresses go only to peers connected over loopback; private addresses only to peers
/// connected over loopback or a private address; public addresses and DNS names to everyone;
/// unspecified, link-local, multicast and relayed addresses to no one.
/// </summary>
internal static class AddressScope
{
    /// <summary>Classifies the first component of <paramref name="address"/> (a transport address).</summary>
    public static AddressReach Classify(Multiaddr address)
    {
        var components = address.Components;
        foreach (var c in components)
        {
            if (c.Protocol == MultiaddrProtocol.P2pCircuit || c.Protocol == MultiaddrProtocol.Unix)
            {
                return AddressReach.None;
            }
        }

        var first = components[0];
        if (first.Protocol == MultiaddrProtocol.Ip4 || first.Protocol == MultiaddrProtocol.Ip6)
        {
            return ClassifyIp(new IPAddress(first.Value.Span));
        }

        if (first.Protocol == MultiaddrProtocol.Dns || first.Protocol == MultiaddrProtocol.Dns4
            || first.Protocol == MultiaddrProtocol.Dns6 || first.Protocol == MultiaddrProtocol.DnsAddr)
        {
            var name = first.ValueText.TrimEnd('.');
            return name.Equals("localhost", StringComparison.OrdinalIgnoreCase)
                || name.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
                ? AddressReach.Loopback
                : AddressReach.Public;
        }

        return AddressReach.None;
    }

    /// <summary>
    /// Whether <paramref name="address"/> may be shared with, or accepted from, a peer this node is
    /// connected to over <paramref name="peerConnectionAddress"/> (<c>null</c>: unknown, treated as public).
    /// </summary>
    public static bool IsShareable(Multiaddr address, Multiaddr? peerConnectionAddress)
    {
        var reach = Classify(address);
        if (reach == AddressReach.None)
        {
            return false;
        }

        var peerReach = peerConnectionAddress is null ? AddressReach.Public : Classify(peerConnectionAddress);
        return reach switch
        {
            AddressReach.Public => true,
            AddressReach.Private => peerReach is AddressReach.Private or AddressReach.Loopback,
            AddressReach.Loopback => peerReach is AddressReach.Loopback,
            _ => false,
        };
    }

    internal static AddressReach ClassifyIp(IPAddress ip)
    {
        if (ip.IsIPv4MappedToIPv6)
        {
            ip = ip.MapToIPv4();
        }

        if (IPAddress.IsLoopback(ip))
        {
            return AddressReach.Loopback;
        }

        if (ip.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> b = stackalloc byte[4];
            ip.TryWriteBytes(b, out _);
            return b[0] switch
            {
                0 => AddressReach.None,                                  // 0.0.0.0/8 "this network"
                10 => AddressReach.Private,
                100 when (b[1] & 0xC0) == 64 => AddressReach.Private,   // 100.64.0.0/10 CGNAT
                169 when b[1] == 254 => AddressReach.None,              // link-local
                172 when (b[1] & 0xF0) == 16 => AddressReach.Private,
                192 when b[1] == 168 => AddressReach.Private,
                >= 224 => AddressReach.None,                             // multicast, reserved, broadcast
                _ => AddressReach.Public,
            };
        }

        if (ip.Equals(IPAddress.IPv6None) || ip.IsIPv6LinkLocal || ip.IsIPv6Multicast || ip.IsIPv6SiteLocal)
        {
            return AddressReach.None;
        }

        Span<byte> v6 = stackalloc byte[16];
        ip.TryWriteBytes(v6, out _);
        return (v6[0] & 0xFE) == 0xFC ? AddressReach.Private : AddressReach.Public; // fc00::/7 unique local
    }
}
