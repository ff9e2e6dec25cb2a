using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SimpleBase;
using PromiseGrid.Mesh.Identity;

namespace PromiseGrid.Mesh.Multiformats;

/// <summary>One <c>/name/value</c> component of a <see cref="Multiaddr"/>; <see cref="Value"/> is the binary value.</summary>
public readonly record struct MultiaddrComponent(MultiaddrProtocol Protocol, ReadOnlyMemory<byte> Value)
{
    /// <summary>The text form of the value (empty for value-less protocols).</summary>
    public string ValueText => Multiaddr.ValueToText(Protocol, Value.Span);
}

/// <summary>
/// A multiaddr (https://github.com/multiformats/multiaddr): a self-describing network address,
/// binary <c>uvarint(code) || value</c> per component and text <c>/name/value/…</c>. Immutable.
/// </summary>
public sealed class Multiaddr : IEquatable<Multiaddr>
{
    /// <summary>Longest binary multiaddr accepted from the network.</summary>
    public const int MaxBinaryLength = 1024;

    private readonly MultiaddrComponent[] _components;
    private readonly byte[] _bytes;
    private string? _text;

    private Multiaddr(MultiaddrComponent[] components)
    {
        _components = components;
        _bytes = EncodeComponents(components);
    }

    public IReadOnlyList<MultiaddrComponent> Components => _components;

    /// <summary>The binary form.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    public byte[] ToByteArray() => (byte[])_bytes.Clone();

    /// <summary>Parses the text form.</summary>
    /// <exception cref="InvalidFormatException">Unknown protocol, missing or bad value.</exception>
    public static Multiaddr Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0 || text[0] != '/')
        {
            throw new InvalidFormatException($"multiaddr '{text}' must start with '/'");
        }

        var parts = text.TrimEnd('/').Split('/');
        var components = new List<MultiaddrComponent>();
        for (var i = 1; i < parts.Length; i++)
        {
            if (!MultiaddrProtocol.TryGet(parts[i], out var protocol))
            {
                throw new InvalidFormatException($"unknown multiaddr protocol '{parts[i]}' in '{text}'");
            }

            if (protocol.Size == 0)
            {
                components.Add(new(protocol, ReadOnlyMemory<byte>.Empty));
                continue;
            }

            if (++i >= parts.Length)
            {
                throw new InvalidFormatException($"multiaddr protocol '{protocol.Name}' lacks its value in '{text}'");
            }

            var value = protocol == MultiaddrProtocol.Unix ? string.Join('/', parts[i..]) : parts[i];
            if (protocol == MultiaddrProtocol.Unix)
            {
                i = parts.Length;
            }

            components.Add(new(protocol, TextToValue(protocol, value)));
        }

        if (components.Count == 0)
        {
            throw new InvalidFormatException("empty multiaddr");
        }

        return new Multiaddr([.. components]);
    }

    public static bool TryParse(string? text, out Multiaddr? multiaddr)
    {
        try
        {
            multiaddr = text is null ? null : Parse(text);
            return multiaddr is not null;
        }
        catch (InvalidFormatException)
        {
            multiaddr = null;
            return false;
        }
    }

    /// <summary>Decodes the binary form.</summary>
    /// <exception cref="InvalidFormatException">Truncated, unknown code, or bad value.</exception>
    public static Multiaddr Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > MaxBinaryLength)
        {
            throw new InvalidFormatException($"multiaddr of {bytes.Length} bytes is longer than {MaxBinaryLength}");
        }

        if (bytes.IsEmpty)
        {
            throw new InvalidFormatException("empty multiaddr");
        }

        var components = new List<MultiaddrComponent>();
        var position = 0;
        while (position < bytes.Length)
        {
            var code = Varint.Read(bytes[position..], out var n);
            position += n;
            if (code > int.MaxValue || !MultiaddrProtocol.TryGet((int)code, out var protocol))
            {
                throw new InvalidFormatException($"unknown multiaddr protocol code {code}");
            }

            var size = protocol.Size;
            if (size == MultiaddrProtocol.VariableSize)
            {
                var length = Varint.Read(bytes[position..], out n);
                position += n;
                if (length > (ulong)(bytes.Length - position))
                {
                    throw new InvalidFormatException($"multiaddr '{protocol.Name}' value runs past the end");
                }

                size = (int)length;
            }
            else if (bytes.Length - position < size)
            {
                throw new InvalidFormatException($"multiaddr '{protocol.Name}' value is truncated");
            }

            var value = bytes.Slice(position, size).ToArray();
            position += size;
            ValidateValue(protocol, value);
            components.Add(new(protocol, value));
        }

        return new Multiaddr([.. components]);
    }

    /// <summary>Builds from components.</summary>
    public static Multiaddr FromComponents(IEnumerable<MultiaddrComponent> components)
    {
        var array = components.ToArray();
        if (array.Length == 0)
        {
            throw new ArgumentException("a multiaddr needs at least one component", nameof(components));
        }

        foreach (var c in array)
        {
            ValidateValue(c.Protocol, c.Value.Span);
        }

        return new Multiaddr(array);
    }

    /// <summary><c>/ip4/a.b.c.d/tcp/port</c> or <c>/ip6/…/tcp/port</c> for an endpoint.</summary>
    public static Multiaddr FromTcpEndPoint(IPEndPoint endPoint)
    {
        var address = endPoint.Address.IsIPv4MappedToIPv6 ? endPoint.Address.MapToIPv4() : endPoint.Address;
        var ip = address.AddressFamily == AddressFamily.InterNetwork ? MultiaddrProtocol.Ip4 : MultiaddrProtocol.Ip6;
        var port = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(port, (ushort)endPoint.Port);
        return new Multiaddr([new(ip, address.GetAddressBytes()), new(MultiaddrProtocol.Tcp, port)]);
    }

    /// <summary>This address followed by <paramref name="other"/>.</summary>
    public Multiaddr Encapsulate(Multiaddr other) => new([.. _components, .. other._components]);

    /// <summary>This address with <c>/p2p/&lt;peerId&gt;</c> appended.</summary>
    public Multiaddr WithPeerId(PeerId peerId) =>
        new([.. _components, new(MultiaddrProtocol.P2p, peerId.ToByteArray())]);

    /// <summary>The peer id of the last <c>/p2p</c> component, if any.</summary>
    public PeerId? PeerId
    {
        get
        {
            for (var i = _components.Length - 1; i >= 0; i--)
            {
                if (_components[i].Protocol == MultiaddrProtocol.P2p)
                {
                    return Identity.PeerId.FromBytes(_components[i].Value.Span);
                }
            }

            return null;
        }
    }

    /// <summary>This address without a trailing <c>/p2p/…</c> component.</summary>
    public Multiaddr WithoutPeerId() =>
        _components.Length > 1 && _components[^1].Protocol == MultiaddrProtocol.P2p ? new(_components[..^1]) : this;

    /// <summary>
    /// The IP endpoint of a <c>/ip4|ip6/…/tcp/…</c> prefix; <c>false</c> for any other shape
    /// (dns names must be resolved first).
    /// </summary>
    public bool TryGetTcpEndPoint(out IPEndPoint? endPoint)
    {
        endPoint = null;
        if (_components.Length < 2 || _components[1].Protocol != MultiaddrProtocol.Tcp)
        {
            return false;
        }

        var first = _components[0];
        if (first.Protocol != MultiaddrProtocol.Ip4 && first.Protocol != MultiaddrProtocol.Ip6)
        {
            return false;
        }

        endPoint = new IPEndPoint(new IPAddress(first.Value.Span), BinaryPrimitives.ReadUInt16BigEndian(_components[1].Value.Span));
        return true;
    }

    public override string ToString() => _text ??= string.Concat(_components.Select(c =>
        c.Protocol.Size == 0 ? "/" + c.Protocol.Name : "/" + c.Protocol.Name + "/" + ValueToText(c.Protocol, c.Value.Span)));

    public bool Equals(Multiaddr? other) => other is not null && _bytes.AsSpan().SequenceEqual(other._bytes);

    public override bool Equals(object? obj) => Equals(obj as Multiaddr);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(_bytes);
        return hash.ToHashCode();
    }

    internal static string ValueToText(MultiaddrProtocol protocol, ReadOnlySpan<byte> value)
    {
        switch (protocol.Name)
        {
            case "ip4":
            case "ip6":
                var address = new IPAddress(value);
                return address.ToString();
            case "tcp":
            case "udp":
            case "dccp":
            case "sctp":
                return BinaryPrimitives.ReadUInt16BigEndian(value).ToString(CultureInfo.InvariantCulture);
            case "ipcidr":
                return value[0].ToString(CultureInfo.InvariantCulture);
            case "p2p":
                return Identity.PeerId.FromBytes(value).ToString();
            case "port":
                return Base32.Rfc4648.Encode(value, padding: false).ToLowerInvariant();
            case "certhash":
                return "u" + Convert.ToBase64String(value).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            case "onion":
            case "onion3":
                return Convert.ToHexString(value).ToLowerInvariant();
            default:
                return Encoding.UTF8.GetString(value);
        }
    }

    private static byte[] TextToValue(MultiaddrProtocol protocol, string text)
    {
        switch (protocol.Name)
        {
            case "ip4":
                if (!IPAddress.TryParse(text, out var v4) || v4.AddressFamily != AddressFamily.InterNetwork || text.Count(c => c == '.') != 3)
                {
                    throw new InvalidFormatException($"'{text}' is not an IPv4 address");
                }

                return v4.GetAddressBytes();
            case "ip6":
                if (!IPAddress.TryParse(text, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6 || text.Contains('%'))
                {
                    throw new InvalidFormatException($"'{text}' is not an IPv6 address");
                }

                return v6.GetAddressBytes();
            case "tcp":
            case "udp":
            case "dccp":
            case "sctp":
                if (!ushort.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port))
                {
                    throw new InvalidFormatException($"'{text}' is not a port number (0-65535)");
                }

                var bytes = new byte[2];
                BinaryPrimitives.WriteUInt16BigEndian(bytes, port);
                return bytes;
            case "ipcidr":
                if (!byte.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var prefix))
                {
                    throw new InvalidFormatException($"'{text}' is not a CIDR prefix length");
                }

                return [prefix];
            case "p2p":
                return Identity.PeerId.Parse(text).ToByteArray();
            case "port":
                try
                {
                    var id = Base32.Rfc4648.Decode(text);
                    if (id.Length != 16)
                    {
                        throw new InvalidFormatException($"'{text}' is not a 128-bit port id");
                    }

                    return id;
                }
                catch (ArgumentException e)
                {
                    throw new InvalidFormatException($"'{text}' is not base32", e);
                }

            case "onion":
            case "onion3":
            case "certhash":
                throw new InvalidFormatException($"the text form of '{protocol.Name}' is not supported");
            default:
                if (text.Length == 0)
                {
                    throw new InvalidFormatException($"'{protocol.Name}' needs a non-empty value");
                }

                return Encoding.UTF8.GetBytes(text);
        }
    }

    private static void ValidateValue(MultiaddrProtocol protocol, ReadOnlySpan<byte> value)
    {
        if (protocol.Size >= 0 && value.Length != protocol.Size)
        {
            throw new InvalidFormatException($"'{protocol.Name}' takes {protocol.Size} bytes, not {value.Length}");
        }

        if (protocol == MultiaddrProtocol.P2p)
        {
            Identity.PeerId.FromBytes(value);
        }
        else if (protocol.Size == MultiaddrProtocol.VariableSize && protocol != MultiaddrProtocol.CertHash)
        {
            if (value.IsEmpty)
            {
                throw new InvalidFormatException($"'{protocol.Name}' needs a non-empty value");
            }

            if (protocol != MultiaddrProtocol.Unix && value.Contains((byte)'/'))
            {
                throw new InvalidFormatException($"'{protocol.Name}' value contains '/'");
            }

            try
            {
                new UTF8Encoding(false, true).GetString(value);
            }
            catch (DecoderFallbackException e)
            {
                throw new InvalidFormatException($"'{protocol.Name}' value is not UTF-8", e);
            }
        }
    }

    private static byte[] EncodeComponents(MultiaddrComponent[] components)
    {
        var length = 0;
        foreach (var c in components)
        {
            length += Varint.GetLength((ulong)c.Protocol.Code) + c.Value.Length;
            if (c.Protocol.Size == MultiaddrProtocol.VariableSize)
            {
                length += Varint.GetLength((ulong)c.Value.Length);
            }
        }

        var bytes = new byte[length];
        var position = 0;
        foreach (var c in components)
        {
            position += Varint.Write(bytes.AsSpan(position), (ulong)c.Protocol.Code);
            if (c.Protocol.Size == MultiaddrProtocol.VariableSize)
            {
                position += Varint.Write(bytes.AsSpan(position), (ulong)c.Value.Length);
            }

            c.Value.Span.CopyTo(bytes.AsSpan(position));
            position += c.Value.Length;
        }

        return bytes;
    }
}
