using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace PromiseGrid.Mesh.Discovery.Mdns;

/// <summary>
/// Our own mDNS sockets (RFC 6762 §3, §11; libp2p-wire.md §9): one IPv4 socket on
/// <c>0.0.0.0:5353</c> and one IPv6 socket on <c>[::]:5353</c>, both with address reuse so
/// several nodes share a host, each joined to its group on every chosen interface only, multicast
/// TTL/hop limit 255 and loopback on. Datagrams arriving on any other interface are dropped.
/// One receive loop per socket feeds a bounded channel; sends are serialised by a lock because
/// the outgoing interface is a per-socket option.
/// </summary>
internal sealed class MulticastTransport : IMdnsTransport
{
    /// <summary>mDNS UDP port (RFC 6762).</summary>
    public const int Port = 5353;

    /// <summary>IPv4 mDNS group (RFC 6762).</summary>
    public static readonly IPAddress IPv4Group = IPAddress.Parse("224.0.0.251");

    /// <summary>IPv6 link-local mDNS group (RFC 6762).</summary>
    public static readonly IPAddress IPv6Group = IPAddress.Parse("ff02::fb");

    /// <summary>Multicast TTL and hop limit (RFC 6762 §11 recommends 255).</summary>
    public const int MulticastTtl = 255;

    private const int ReceiveQueueCapacity = 128;

    private readonly ILogger _logger;
    private readonly Channel<MdnsDatagram> _received = Channel.CreateBounded<MdnsDatagram>(
        new BoundedChannelOptions(ReceiveQueueCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<int, MdnsInterface> _byIndex;
    private readonly HashSet<int> _ipv6Joined = [];
    private Socket? _ipv4;
    private Socket? _ipv6;
    private Task _ipv4Loop = Task.CompletedTask;
    private Task _ipv6Loop = Task.CompletedTask;
    private int _disposed;

    private MulticastTransport(IReadOnlyList<MdnsInterface> interfaces, ILogger logger)
    {
        Interfaces = interfaces;
        _byIndex = interfaces.ToDictionary(i => i.Index);
        _logger = logger;
    }

    public IReadOnlyList<MdnsInterface> Interfaces { get; }

    /// <summary>Resolves the interfaces, opens and joins the sockets, starts the receive loops.</summary>
    /// <exception cref="ArgumentException">A named interface does not exist, or none is usable.</exception>
    public static MulticastTransport Open(MdnsOptions options, ILogger logger)
    {
        var transport = new MulticastTransport(ResolveInterfaces(options.Interfaces), logger);
        try
        {
            if (options.UseIPv4)
            {
                transport.OpenIPv4();
            }

            if (options.UseIPv6)
            {
                transport.OpenIPv6();
            }

            if (transport._ipv4 is null && transport._ipv6 is null)
            {
                throw new ArgumentException("mDNS could not join a multicast group on any chosen interface", nameof(options));
            }
        }
        catch
        {
            transport._ipv4?.Dispose();
            transport._ipv6?.Dispose();
            throw;
        }

        transport._ipv4Loop = transport._ipv4 is null ? Task.CompletedTask : transport.ReceiveLoopAsync(transport._ipv4);
        transport._ipv6Loop = transport._ipv6 is null ? Task.CompletedTask : transport.ReceiveLoopAsync(transport._ipv6);
        return transport;
    }

    /// <summary>Explicit names as given (loopback allowed); otherwise every up, multicast-capable, non-loopback interface.</summary>
    internal static IReadOnlyList<MdnsInterface> ResolveInterfaces(IReadOnlyList<string> names)
    {
        var all = NetworkInterface.GetAllNetworkInterfaces();
        IEnumerable<NetworkInterface> chosen;
        if (names.Count > 0)
        {
            chosen = names.Select(name => all.FirstOrDefault(n => n.Name == name)
                ?? throw new ArgumentException($"network interface '{name}' does not exist", nameof(names)));
        }
        else
        {
            chosen = all.Where(n => n.OperationalStatus == OperationalStatus.Up && n.SupportsMulticast
                && n.NetworkInterfaceType != NetworkInterfaceType.Loopback);
        }

        var result = new List<MdnsInterface>();
        foreach (var nic in chosen)
        {
            var properties = nic.GetIPProperties();
            var index = nic.Supports(NetworkInterfaceComponent.IPv4) ? properties.GetIPv4Properties()?.Index
                : nic.Supports(NetworkInterfaceComponent.IPv6) ? properties.GetIPv6Properties()?.Index : null;
            if (index is null)
            {
                continue;
            }

            var ipv4 = properties.UnicastAddresses.Select(u => u.Address).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork);
            result.Add(new MdnsInterface(nic.Name, index.Value, nic.NetworkInterfaceType == NetworkInterfaceType.Loopback, ipv4));
        }

        if (result.Count == 0)
        {
            throw new ArgumentException("no usable network interface for mDNS", nameof(names));
        }

        return result;
    }

    private void OpenIPv4()
    {
        var socket = CreateSocket(AddressFamily.InterNetwork);
        var joined = 0;
        foreach (var iface in Interfaces)
        {
            if (iface.IPv4Address is null)
            {
                Log.InterfaceSkipped(_logger, iface.Name, "IPv4", "no IPv4 address");
                continue;
            }

            try
            {
                socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(IPv4Group, iface.Index));
                joined++;
            }
            catch (SocketException e)
            {
                Log.InterfaceSkipped(_logger, iface.Name, "IPv4", e.Message);
            }
        }

        if (joined == 0)
        {
            socket.Dispose();
            return;
        }

        _ipv4 = socket;
    }

    private void OpenIPv6()
    {
        Socket socket;
        try
        {
            socket = CreateSocket(AddressFamily.InterNetworkV6);
        }
        catch (SocketException e)
        {
            Log.InterfaceSkipped(_logger, "*", "IPv6", e.Message);
            return;
        }

        foreach (var iface in Interfaces)
        {
            try
            {
                socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.AddMembership, new IPv6MulticastOption(IPv6Group, iface.Index));
                _ipv6Joined.Add(iface.Index);
            }
            catch (SocketException e)
            {
                Log.InterfaceSkipped(_logger, iface.Name, "IPv6", e.Message);
            }
        }

        if (_ipv6Joined.Count == 0)
        {
            socket.Dispose();
            return;
        }

        _ipv6 = socket;
    }

    private static Socket CreateSocket(AddressFamily family)
    {
        var socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            var level = family == AddressFamily.InterNetwork ? SocketOptionLevel.IP : SocketOptionLevel.IPv6;
            if (family == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false;
            }

            socket.ExclusiveAddressUse = false;
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, Port));
            socket.SetSocketOption(level, SocketOptionName.MulticastTimeToLive, MulticastTtl);
            socket.SetSocketOption(level, SocketOptionName.MulticastLoopback, true);
            socket.SetSocketOption(level, SocketOptionName.PacketInformation, true);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task ReceiveLoopAsync(Socket socket)
    {
        var buffer = new byte[MdnsCodec.MaxPacketSize + 1];
        var any = socket.AddressFamily == AddressFamily.InterNetwork
            ? new IPEndPoint(IPAddress.Any, 0) : new IPEndPoint(IPAddress.IPv6Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveMessageFromResult result;
            try
            {
                result = await socket.ReceiveMessageFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (ObjectDisposedException)
            {
                break;
            }
            catch (SocketException e)
            {
                // ICMP errors and the like surface here on UDP; they never end the loop.
                Log.ReceiveFailed(_logger, e.Message);
                continue;
            }

            if (!_byIndex.TryGetValue(result.PacketInformation.Interface, out var iface))
            {
                continue; // arrived on an interface we did not choose
            }

            var remote = (IPEndPoint)result.RemoteEndPoint;
            if ((result.SocketFlags & SocketFlags.Truncated) != 0 || result.ReceivedBytes > MdnsCodec.MaxPacketSize)
            {
                Log.PacketDropped(_logger, result.ReceivedBytes, remote, iface.Name, "larger than the packet limit");
                continue;
            }

            var data = buffer.AsSpan(0, result.ReceivedBytes).ToArray();
            _received.Writer.TryWrite(new MdnsDatagram(data, iface, remote));
        }
    }

    public ValueTask<MdnsDatagram> ReceiveAsync(CancellationToken cancellationToken = default) =>
        _received.Reader.ReadAsync(cancellationToken);

    public async ValueTask SendAsync(ReadOnlyMemory<byte> packet, MdnsInterface iface, IPEndPoint? unicastTo = null, CancellationToken cancellationToken = default)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (unicastTo is not null)
            {
                var socket = unicastTo.AddressFamily == AddressFamily.InterNetwork ? _ipv4 : _ipv6;
                if (socket is not null)
                {
                    await socket.SendToAsync(packet, SocketFlags.None, unicastTo, cancellationToken).ConfigureAwait(false);
                }

                return;
            }

            SocketException? failure = null;
            var sent = false;
            if (_ipv4 is not null && iface.IPv4Address is not null)
            {
                try
                {
                    _ipv4.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, iface.IPv4Address.GetAddressBytes());
                    await _ipv4.SendToAsync(packet, SocketFlags.None, new IPEndPoint(IPv4Group, Port), cancellationToken).ConfigureAwait(false);
                    sent = true;
                }
                catch (SocketException e)
                {
                    failure = e;
                }
            }

            if (_ipv6 is not null && _ipv6Joined.Contains(iface.Index))
            {
                try
                {
                    _ipv6.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastInterface, iface.Index);
                    await _ipv6.SendToAsync(packet, SocketFlags.None, new IPEndPoint(IPv6Group, Port), cancellationToken).ConfigureAwait(false);
                    sent = true;
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.NetworkUnreachable or SocketError.HostUnreachable or SocketError.AddressNotAvailable)
                {
                    // No IPv6 multicast route on this interface (typical for lo): stop using IPv6 here.
                    _ipv6Joined.Remove(iface.Index);
                    Log.InterfaceSkipped(_logger, iface.Name, "IPv6", e.Message);
                    failure ??= e;
                }
                catch (SocketException e)
                {
                    failure = e;
                }
            }

            if (!sent && failure is not null)
            {
                throw failure;
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _ipv4?.Dispose();
        _ipv6?.Dispose();
        await Task.WhenAll(_ipv4Loop, _ipv6Loop).ConfigureAwait(false);
        _received.Writer.TryComplete();
        _stop.Dispose();
        _sendLock.Dispose();
    }
}
