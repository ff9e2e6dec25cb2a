using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Host;

/// <summary>Turns a bound unspecified address (<c>0.0.0.0</c>, <c>::</c>) into the dialable interface addresses.</summary>
internal static class ListenAddressExpansion
{
    public static IReadOnlyList<Multiaddr> Expand(Multiaddr bound)
    {
        if (!bound.TryGetTcpEndPoint(out var endPoint) || endPoint is null ||
            !(endPoint.Address.Equals(IPAddress.Any) || endPoint.Address.Equals(IPAddress.IPv6Any)))
        {
            return [bound];
        }

        var family = endPoint.Address.AddressFamily;
        var result = new List<Multiaddr>();
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                if (nic.OperationalStatus != OperationalStatus.Up && nic.NetworkInterfaceType != NetworkInterfaceType.Loopback)
                {
                    continue;
                }

                foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                {
                    var address = unicast.Address;
                    if (address.AddressFamily != family || (family == AddressFamily.InterNetworkV6 && address.ScopeId != 0))
                    {
                        continue;
                    }

                    result.Add(Multiaddr.FromTcpEndPoint(new IPEndPoint(address, endPoint.Port)));
                }
            }
        }
        catch (NetworkInformationException)
        {
            // fall back to the loopback address below
        }

        if (result.Count == 0)
        {
            var loopback = family == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback;
            result.Add(Multiaddr.FromTcpEndPoint(new IPEndPoint(loopback, endPoint.Port)));
        }

        return result.Distinct().ToList();
    }
}
