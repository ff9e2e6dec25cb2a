using Makaretu.Dns;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Mdns;

/// <summary>One peer read from a response: its id, addresses (with <c>/p2p</c>) and record TTL.</summary>
internal sealed record MdnsPeerRecord(PeerId PeerId, IReadOnlyList<Multiaddr> Addresses, TimeSpan Ttl, string InstanceName);

/// <summary>What a response held: the peers and, for each PTR target that was dropped, why.</summary>
internal sealed record MdnsResponse(IReadOnlyList<MdnsPeerRecord> Peers, IReadOnlyList<string> Rejected);

internal static partial class MdnsCodec
{
    /// <summary>
    /// Reads the peers from a response (§9 "Receiving"): each PTR answer owned by
    /// <paramref name="serviceName"/> names a target; the target's TXT records (additional or
    /// answer section, as js sends them; the bare <c>peer-name.</c> target of rust matches too)
    /// give <c>dnsaddr=</c> strings, each a multiaddr ending in <c>/p2p/&lt;id&gt;</c>. A target
    /// whose addresses name different peers, or that has none, is rejected. The TTL is the
    /// smallest of the PTR and TXT TTLs; zero is a goodbye (then addresses may be empty).
    /// </summary>
    public static MdnsResponse ReadResponse(Message message, string serviceName = DefaultServiceName)
    {
        var peers = new List<MdnsPeerRecord>();
        var rejected = new List<string>();
        if (!message.IsResponse)
        {
            return new(peers, rejected);
        }

        var txts = message.Answers.Concat(message.AdditionalRecords).OfType<TXTRecord>().ToList();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var ptr in message.Answers.OfType<PTRRecord>())
        {
            if (!NameEquals(ptr.Name, serviceName) || ptr.DomainName is null)
            {
                continue;
            }

            var target = ptr.DomainName.ToString().TrimEnd('.');
            if (!seen.Add(target))
            {
                continue;
            }

            if (peers.Count >= MaxPeersPerPacket)
            {
                rejected.Add($"{target}: more than {MaxPeersPerPacket} peers in one response");
                continue;
            }

            try
            {
                peers.Add(ReadTarget(ptr, target, txts));
            }
            catch (MeshException e)
            {
                rejected.Add($"{target}: {e.Message}");
            }
        }

        return new(peers, rejected);
    }

    private static MdnsPeerRecord ReadTarget(PTRRecord ptr, string target, List<TXTRecord> txts)
    {
        var ttl = ptr.TTL;
        PeerId? peerId = null;
        var addresses = new List<Multiaddr>();
        foreach (var txt in txts)
        {
            if (!NameEquals(txt.Name, target))
            {
                continue;
            }

            if (txt.TTL < ttl)
            {
                ttl = txt.TTL;
            }

            foreach (var s in txt.Strings ?? [])
            {
                if (s is null || !s.StartsWith(DnsAddrPrefix, StringComparison.Ordinal))
                {
                    continue;
                }

                var address = ParseDnsAddr(s[DnsAddrPrefix.Length..]);
                var id = address.PeerId!;
                if (peerId is null)
                {
                    peerId = id;
                }
                else if (peerId != id)
                {
                    throw new InvalidFormatException($"addresses name two peers, {peerId} and {id}");
                }

                if (addresses.Count >= MaxAddressesPerPeer)
                {
                    throw new LimitExceededException("mDNS addresses per peer", addresses.Count + 1, MaxAddressesPerPeer);
                }

                if (!addresses.Contains(address))
                {
                    addresses.Add(address);
                }
            }
        }

        if (peerId is null)
        {
            throw new InvalidFormatException("no dnsaddr TXT string with a /p2p address");
        }

        if (ttl < TimeSpan.Zero)
        {
            ttl = TimeSpan.Zero;
        }

        return new MdnsPeerRecord(peerId, addresses, ttl, target);
    }

    /// <summary>Parses the text after <c>dnsaddr=</c>; it must end with a valid <c>/p2p/&lt;id&gt;</c>.</summary>
    internal static Multiaddr ParseDnsAddr(string text)
    {
        Multiaddr address;
        try
        {
            address = Multiaddr.Parse(text);
        }
        catch (Exception e) when (e is not MeshException and not OutOfMemoryException)
        {
            throw new InvalidFormatException($"'{Truncate(text)}' is not a multiaddr", e);
        }

        if (address.Components.Count < 2 || address.Components[^1].Protocol != MultiaddrProtocol.P2p)
        {
            throw new InvalidFormatException($"'{Truncate(text)}' does not end with a /p2p peer id");
        }

        try
        {
            _ = address.PeerId;
        }
        catch (Exception e) when (e is not MeshException and not OutOfMemoryException)
        {
            throw new InvalidFormatException($"'{Truncate(text)}' has a bad peer id", e);
        }

        return address;
    }

    private static string Truncate(string text) => text.Length <= 80 ? text : text[..80] + "…";
}
