using System.Buffers.Binary;
using System.Text;
using Makaretu.Dns;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Mdns;

/// <summary>
/// libp2p mDNS messages (libp2p-wire.md §9, libp2p/specs discovery/mdns.md): the find-all PTR
/// query and the PTR + TXT <c>dnsaddr=</c> response. DNS framing is Makaretu.Dns; every decode
/// failure, whatever Makaretu throws, surfaces as <see cref="InvalidFormatException"/> or
/// <see cref="LimitExceededException"/>.
/// </summary>
internal static partial class MdnsCodec
{
    /// <summary>Service name of libp2p peers without a private network (§9).</summary>
    public const string DefaultServiceName = "_p2p._udp.local";

    /// <summary>Prefix of every TXT string that carries an address (§9).</summary>
    public const string DnsAddrPrefix = "dnsaddr=";

    /// <summary>Largest datagram sent or accepted (RFC 6762 §17: 9000 bytes including headers).</summary>
    public const int MaxPacketSize = 9000;

    /// <summary>A DNS character-string holds at most 255 bytes (RFC 1035 §3.3).</summary>
    public const int MaxCharacterStringLength = 255;

    /// <summary>Most questions plus records accepted in one packet.</summary>
    public const int MaxRecordsPerPacket = 256;

    /// <summary>Most peers (PTR answers) taken from one response.</summary>
    public const int MaxPeersPerPacket = 64;

    /// <summary>Most addresses taken for one peer from one response.</summary>
    public const int MaxAddressesPerPeer = 32;

    /// <summary>Top bit of QCLASS: the querier asks for a unicast response (RFC 6762 §5.4).</summary>
    public const ushort UnicastResponseBit = 0x8000;

    private const int HeaderLength = 12;
    private const int MinQuestionLength = 5;
    private const int MinRecordLength = 11;

    /// <summary>The find-all query: ID 0, one question <paramref name="serviceName"/> PTR IN.</summary>
    public static byte[] EncodeQuery(string serviceName = DefaultServiceName, bool unicastResponse = false)
    {
        var message = new Message { Id = 0, QR = false, Opcode = MessageOperation.Query, RD = false };
        message.Questions.Add(new Question
        {
            Name = serviceName,
            Type = DnsType.PTR,
            Class = unicastResponse ? (DnsClass)((ushort)DnsClass.IN | UnicastResponseBit) : DnsClass.IN,
        });
        return message.ToByteArray();
    }

    /// <summary>
    /// The response announcing <paramref name="addresses"/> (each must end in <c>/p2p/&lt;id&gt;</c>):
    /// answer <c>service PTR peer-name.service</c>, additional TXT <c>dnsaddr=…</c>. Addresses whose
    /// TXT string would exceed 255 bytes are skipped; addresses that would push the packet past
    /// <see cref="MaxPacketSize"/> are dropped. A <paramref name="ttl"/> of zero makes a goodbye.
    /// </summary>
    public static byte[] EncodeResponse(string serviceName, string peerName, IEnumerable<Multiaddr> addresses, TimeSpan ttl)
    {
        var target = InstanceName(peerName, serviceName);
        var strings = new List<string>();
        foreach (var address in addresses)
        {
            var text = DnsAddrPrefix + address;
            if (Encoding.UTF8.GetByteCount(text) <= MaxCharacterStringLength && !strings.Contains(text))
            {
                strings.Add(text);
            }
        }

        while (true)
        {
            var message = new Message { Id = 0, QR = true, AA = true, Opcode = MessageOperation.Query };
            message.Answers.Add(new PTRRecord { Name = serviceName, DomainName = target, TTL = ttl, Class = DnsClass.IN });
            if (strings.Count > 0)
            {
                message.AdditionalRecords.Add(new TXTRecord { Name = target, Strings = [.. strings], TTL = ttl, Class = DnsClass.IN });
            }

            var bytes = message.ToByteArray();
            if (bytes.Length <= MaxPacketSize || strings.Count == 0)
            {
                return bytes;
            }

            strings.RemoveAt(strings.Count - 1);
        }
    }

    /// <summary>DNS-SD service enumeration name (RFC 6763 §9).</summary>
    public const string ServicesMetaQueryName = "_services._dns-sd._udp.local";

    /// <summary>Answer to the DNS-SD meta-query: <c>_services._dns-sd._udp.local PTR &lt;service-name&gt;</c>.</summary>
    public static byte[] EncodeServiceEnumeration(string serviceName, TimeSpan ttl)
    {
        var message = new Message { Id = 0, QR = true, AA = true, Opcode = MessageOperation.Query };
        message.Answers.Add(new PTRRecord { Name = ServicesMetaQueryName, DomainName = serviceName, TTL = ttl, Class = DnsClass.IN });
        return message.ToByteArray();
    }

    /// <summary>True when <paramref name="message"/> is the DNS-SD meta-query (PTR or ANY), with whether it wants unicast.</summary>
    public static bool IsServiceEnumerationQuery(Message message, out bool unicastResponse) =>
        IsServiceQuery(message, ServicesMetaQueryName, out unicastResponse);

    /// <summary><c>&lt;peer-name&gt;.&lt;service-name&gt;</c>, the PTR target and TXT owner.</summary>
    public static string InstanceName(string peerName, string serviceName) => peerName + "." + serviceName;

    /// <summary>
    /// Decodes one datagram. Checks size, header counts and every name's compression pointers
    /// before Makaretu sees the bytes, then converts any Makaretu failure.
    /// </summary>
    /// <exception cref="LimitExceededException">Packet or record count past the limits.</exception>
    /// <exception cref="InvalidFormatException">Anything malformed.</exception>
    public static Message Decode(ReadOnlySpan<byte> packet)
    {
        if (packet.Length > MaxPacketSize)
        {
            throw new LimitExceededException("mDNS packet size", packet.Length, MaxPacketSize);
        }

        if (packet.Length < HeaderLength)
        {
            throw new InvalidFormatException($"mDNS packet of {packet.Length} bytes is shorter than a DNS header");
        }

        var questions = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
        var records = BinaryPrimitives.ReadUInt16BigEndian(packet[6..])
            + BinaryPrimitives.ReadUInt16BigEndian(packet[8..])
            + BinaryPrimitives.ReadUInt16BigEndian(packet[10..]);
        if (questions + records > MaxRecordsPerPacket)
        {
            throw new LimitExceededException("mDNS records per packet", questions + records, MaxRecordsPerPacket);
        }

        if (HeaderLength + (questions * MinQuestionLength) + (records * MinRecordLength) > packet.Length)
        {
            throw new InvalidFormatException("mDNS header counts more entries than the packet can hold");
        }

        DnsStructure.Validate(packet, questions, records);
        var bytes = packet.ToArray();
        try
        {
            var message = new Message();
            message.Read(bytes, 0, bytes.Length);
            return message;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidFormatException($"malformed DNS message: {e.GetType().Name}", e);
        }
    }

    /// <summary>True when <paramref name="message"/> asks for the libp2p service (PTR or ANY), with whether it wants unicast.</summary>
    public static bool IsServiceQuery(Message message, string serviceName, out bool unicastResponse)
    {
        unicastResponse = false;
        if (!message.IsQuery || message.Opcode != MessageOperation.Query)
        {
            return false;
        }

        var asked = false;
        foreach (var question in message.Questions)
        {
            if ((question.Type == DnsType.PTR || question.Type == DnsType.ANY)
                && NameEquals(question.Name, serviceName))
            {
                asked = true;
                unicastResponse |= ((ushort)question.Class & UnicastResponseBit) != 0;
            }
        }

        return asked;
    }

    /// <summary>True when <paramref name="message"/> asks for the TXT (or ANY) record of <paramref name="instanceName"/>.</summary>
    public static bool IsInstanceQuery(Message message, string instanceName)
    {
        if (!message.IsQuery || message.Opcode != MessageOperation.Query)
        {
            return false;
        }

        return message.Questions.Any(q =>
            (q.Type == DnsType.TXT || q.Type == DnsType.ANY) && NameEquals(q.Name, instanceName));
    }

    internal static bool NameEquals(DomainName? name, string expected) =>
        name is not null && string.Equals(name.ToString().TrimEnd('.'), expected.TrimEnd('.'), StringComparison.OrdinalIgnoreCase);

    internal static bool NameEquals(DomainName? a, DomainName? b) =>
        a is not null && b is not null && NameEquals(a, b.ToString());
}
