using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Ports;

/// <summary>
/// A port's global name: its home node and its <see cref="PortId"/> (architecture.md "Ports").
/// Text form <c>/p2p/&lt;peerId&gt;/port/&lt;base32 id&gt;</c>, a multiaddr path. A reference is
/// not a capability: only the kernel maps it to a port, and tasks only ever hold names.
/// </summary>
public sealed record PortRef(PeerId Home, PortId Id)
{
    /// <summary>The multiaddr form <c>/p2p/…/port/…</c>.</summary>
    public Multiaddr ToMultiaddr() => Multiaddr.FromComponents(
    [
        new(MultiaddrProtocol.P2p, Home.ToByteArray()),
        new(MultiaddrProtocol.Port, Id.ToByteArray()),
    ]);

    /// <summary>Parses <c>/p2p/&lt;peerId&gt;/port/&lt;id&gt;</c>.</summary>
    /// <exception cref="InvalidFormatException">Not exactly a p2p component followed by a port component.</exception>
    public static PortRef Parse(string text) => FromMultiaddr(Multiaddr.Parse(text));

    /// <summary>Reads a port reference from its multiaddr.</summary>
    /// <exception cref="InvalidFormatException">Not exactly <c>/p2p/…/port/…</c>.</exception>
    public static PortRef FromMultiaddr(Multiaddr address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var c = address.Components;
        if (c.Count != 2 || c[0].Protocol != MultiaddrProtocol.P2p || c[1].Protocol != MultiaddrProtocol.Port)
        {
            throw new InvalidFormatException($"'{address}' is not a port reference /p2p/<peer>/port/<id>");
        }

        return new PortRef(PeerId.FromBytes(c[0].Value.Span), PortId.Read(c[1].Value.Span));
    }

    public override string ToString() => ToMultiaddr().ToString();
}
