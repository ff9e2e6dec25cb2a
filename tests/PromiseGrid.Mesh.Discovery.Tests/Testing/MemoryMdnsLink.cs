using System.Net;
using System.Threading.Channels;
using PromiseGrid.Mesh.Discovery.Mdns;

namespace PromiseGrid.Mesh.Discovery.Tests.Testing;

/// <summary>An in-memory multicast link: every multicast reaches every member (the sender too, as with loopback on).</summary>
internal sealed class MemoryMdnsLink
{
    private readonly Lock _gate = new();
    private readonly List<MemoryMdnsTransport> _members = [];
    private int _next = 1;

    public MemoryMdnsTransport Join(bool loopback = false)
    {
        lock (_gate)
        {
            var n = _next++;
            var member = new MemoryMdnsTransport(this,
                new MdnsInterface(loopback ? "lo" : "mem0", 7, loopback, IPAddress.Parse($"10.9.0.{n}")),
                new IPEndPoint(IPAddress.Parse($"10.9.0.{n}"), 5353));
            _members.Add(member);
            return member;
        }
    }

    /// <summary>Injects a datagram to every member, as if sent from <paramref name="from"/>.</summary>
    public void Inject(ReadOnlyMemory<byte> packet, IPEndPoint? from = null)
    {
        foreach (var member in Members())
        {
            member.Deliver(packet, from ?? new IPEndPoint(IPAddress.Parse("10.9.0.200"), 5353));
        }
    }

    internal void Send(MemoryMdnsTransport sender, ReadOnlyMemory<byte> packet, IPEndPoint? unicastTo)
    {
        foreach (var member in Members())
        {
            if (unicastTo is null || member.EndPoint.Equals(unicastTo))
            {
                member.Deliver(packet, sender.EndPoint);
            }
        }
    }

    internal void Leave(MemoryMdnsTransport member)
    {
        lock (_gate)
        {
            _members.Remove(member);
        }
    }

    private MemoryMdnsTransport[] Members()
    {
        lock (_gate)
        {
            return [.. _members];
        }
    }
}

/// <summary>One member of a <see cref="MemoryMdnsLink"/>; records what it sent.</summary>
internal sealed class MemoryMdnsTransport(MemoryMdnsLink link, MdnsInterface iface, IPEndPoint endPoint) : IMdnsTransport
{
    private readonly Channel<MdnsDatagram> _inbox = Channel.CreateUnbounded<MdnsDatagram>();
    private readonly Channel<(byte[] Packet, IPEndPoint? UnicastTo)> _sent = Channel.CreateUnbounded<(byte[], IPEndPoint?)>();

    public IPEndPoint EndPoint { get; } = endPoint;

    public IReadOnlyList<MdnsInterface> Interfaces { get; } = [iface];

    public ChannelReader<(byte[] Packet, IPEndPoint? UnicastTo)> Sent => _sent.Reader;

    public bool Disposed { get; private set; }

    public void Deliver(ReadOnlyMemory<byte> packet, IPEndPoint from) =>
        _inbox.Writer.TryWrite(new MdnsDatagram(packet.ToArray(), Interfaces[0], from));

    public ValueTask<MdnsDatagram> ReceiveAsync(CancellationToken cancellationToken = default) => _inbox.Reader.ReadAsync(cancellationToken);

    public ValueTask SendAsync(ReadOnlyMemory<byte> packet, MdnsInterface iface, IPEndPoint? unicastTo = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Disposed, this);
        _sent.Writer.TryWrite((packet.ToArray(), unicastTo));
        link.Send(this, packet, unicastTo);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Disposed = true;
        link.Leave(this);
        _inbox.Writer.TryComplete();
        _sent.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }
}
