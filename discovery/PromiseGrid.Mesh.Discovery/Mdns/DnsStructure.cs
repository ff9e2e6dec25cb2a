using System.Buffers.Binary;

namespace PromiseGrid.Mesh.Discovery.Mdns;

/// <summary>
/// A structural pass over a DNS message (RFC 1035 §4.1) before it reaches Makaretu: every name
/// in the question and record sections, and in the RDATA of the record types that carry names,
/// must have labels of at most 63 bytes, at most 255 bytes in all, and compression pointers that
/// point strictly backwards, so no input can make a name reader loop or recurse without bound.
/// Every RDATA must fit inside the packet.
/// </summary>
internal static class DnsStructure
{
    /// <summary>Longest domain name in wire form (RFC 1035 §3.1).</summary>
    public const int MaxNameLength = 255;

    /// <summary>Longest label (RFC 1035 §2.3.4).</summary>
    public const int MaxLabelLength = 63;

    /// <summary>Most compression jumps followed in one name.</summary>
    public const int MaxPointerJumps = 32;

    public static void Validate(ReadOnlySpan<byte> packet, int questions, int records)
    {
        var position = 12;
        for (var i = 0; i < questions; i++)
        {
            position = SkipName(packet, position);
            position = Need(packet, position, 4);
        }

        for (var i = 0; i < records; i++)
        {
            position = SkipName(packet, position);
            var fixedStart = position;
            position = Need(packet, position, 10);
            var type = BinaryPrimitives.ReadUInt16BigEndian(packet[fixedStart..]);
            var rdLength = BinaryPrimitives.ReadUInt16BigEndian(packet[(fixedStart + 8)..]);
            var rdStart = position;
            position = Need(packet, position, rdLength);
            var nameOffset = type switch
            {
                2 or 5 or 12 or 39 => 0, // NS, CNAME, PTR, DNAME
                15 => 2, // MX
                33 => 6, // SRV
                _ => -1,
            };
            if (nameOffset >= 0)
            {
                if (rdLength <= nameOffset)
                {
                    throw new InvalidFormatException($"DNS record of type {type} has RDATA too short for its name");
                }

                var end = SkipName(packet, rdStart + nameOffset);
                if (end > position)
                {
                    throw new InvalidFormatException($"DNS record of type {type} has a name running past its RDATA");
                }
            }
        }

    }

    /// <summary>Checks the name at <paramref name="start"/> and returns the position after it in the stream.</summary>
    public static int SkipName(ReadOnlySpan<byte> packet, int start)
    {
        var position = start;
        var segmentStart = start;
        var after = -1;
        var length = 1;
        var jumps = 0;
        while (true)
        {
            if (position >= packet.Length)
            {
                throw new InvalidFormatException("DNS name runs past the end of the packet");
            }

            var b = packet[position];
            if (b == 0)
            {
                return after >= 0 ? after : position + 1;
            }

            switch (b & 0xC0)
            {
                case 0xC0:
                    if (position + 1 >= packet.Length)
                    {
                        throw new InvalidFormatException("DNS compression pointer is truncated");
                    }

                    var target = ((b & 0x3F) << 8) | packet[position + 1];
                    if (target >= segmentStart)
                    {
                        throw new InvalidFormatException($"DNS compression pointer to {target} does not point backwards");
                    }

                    if (++jumps > MaxPointerJumps)
                    {
                        throw new InvalidFormatException("DNS name follows too many compression pointers");
                    }

                    if (after < 0)
                    {
                        after = position + 2;
                    }

                    position = target;
                    segmentStart = target;
                    break;
                case 0x00: // a label of at most 63 bytes
                    length += b + 1;
                    if (length > MaxNameLength)
                    {
                        throw new InvalidFormatException("DNS name longer than 255 bytes");
                    }

                    position += b + 1;
                    break;
                default:
                    throw new InvalidFormatException($"DNS label type 0x{b & 0xC0:x2} is not supported");
            }
        }
    }

    private static int Need(ReadOnlySpan<byte> packet, int position, int count)
    {
        if (packet.Length - position < count)
        {
            throw new InvalidFormatException("DNS message is truncated");
        }

        return position + count;
    }
}
