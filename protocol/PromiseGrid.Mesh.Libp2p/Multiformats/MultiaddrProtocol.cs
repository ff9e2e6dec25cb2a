namespace PromiseGrid.Mesh.Multiformats;

/// <summary>
/// A multiaddr protocol from the multiformats table (multiformats/multiaddr protocols.csv):
/// its code, name and value size. <see cref="Size"/> is the fixed value length in bytes,
/// 0 for none, or <see cref="VariableSize"/> for a length-prefixed value.
/// </summary>
public sealed record MultiaddrProtocol(int Code, string Name, int Size)
{
    public const int VariableSize = -1;

    public static readonly MultiaddrProtocol Ip4 = new(4, "ip4", 4);
    public static readonly MultiaddrProtocol Tcp = new(6, "tcp", 2);
    public static readonly MultiaddrProtocol Dccp = new(33, "dccp", 2);
    public static readonly MultiaddrProtocol Ip6 = new(41, "ip6", 16);
    public static readonly MultiaddrProtocol Ip6Zone = new(42, "ip6zone", VariableSize);
    public static readonly MultiaddrProtocol IpCidr = new(43, "ipcidr", 1);
    public static readonly MultiaddrProtocol Dns = new(53, "dns", VariableSize);
    public static readonly MultiaddrProtocol Dns4 = new(54, "dns4", VariableSize);
    public static readonly MultiaddrProtocol Dns6 = new(55, "dns6", VariableSize);
    public static readonly MultiaddrProtocol DnsAddr = new(56, "dnsaddr", VariableSize);
    public static readonly MultiaddrProtocol Sctp = new(132, "sctp", 2);
    public static readonly MultiaddrProtocol Udp = new(273, "udp", 2);
    public static readonly MultiaddrProtocol WebRtcDirect = new(280, "webrtc-direct", 0);
    public static readonly MultiaddrProtocol WebRtc = new(281, "webrtc", 0);
    public static readonly MultiaddrProtocol P2pCircuit = new(290, "p2p-circuit", 0);
    public static readonly MultiaddrProtocol Unix = new(400, "unix", VariableSize);
    public static readonly MultiaddrProtocol P2p = new(421, "p2p", VariableSize);
    public static readonly MultiaddrProtocol Onion = new(444, "onion", 12);
    public static readonly MultiaddrProtocol Onion3 = new(445, "onion3", 37);
    public static readonly MultiaddrProtocol Tls = new(448, "tls", 0);
    public static readonly MultiaddrProtocol Sni = new(449, "sni", VariableSize);
    public static readonly MultiaddrProtocol Noise = new(454, "noise", 0);
    public static readonly MultiaddrProtocol Quic = new(460, "quic", 0);
    public static readonly MultiaddrProtocol QuicV1 = new(461, "quic-v1", 0);
    public static readonly MultiaddrProtocol WebTransport = new(465, "webtransport", 0);
    public static readonly MultiaddrProtocol CertHash = new(466, "certhash", VariableSize);
    public static readonly MultiaddrProtocol Ws = new(477, "ws", 0);
    public static readonly MultiaddrProtocol Wss = new(478, "wss", 0);
    public static readonly MultiaddrProtocol Http = new(480, "http", 0);
    public static readonly MultiaddrProtocol HttpPath = new(481, "http-path", VariableSize);

    /// <summary>
    /// PromiseGrid port component (private-use code, never sent to other libp2p stacks): the
    /// 128-bit port id of a port reference, <c>/p2p/&lt;peer&gt;/port/&lt;base32 id&gt;</c>.
    /// </summary>
    public static readonly MultiaddrProtocol Port = new(0x300001, "port", 16);

    private static readonly MultiaddrProtocol[] All =
    [
        Ip4, Tcp, Dccp, Ip6, Ip6Zone, IpCidr, Dns, Dns4, Dns6, DnsAddr, Sctp, Udp, WebRtcDirect, WebRtc,
        P2pCircuit, Unix, P2p, Onion, Onion3, Tls, Sni, Noise, Quic, QuicV1, WebTransport, CertHash,
        Ws, Wss, Http, HttpPath, Port,
    ];

    private static readonly Dictionary<int, MultiaddrProtocol> ByCode = All.ToDictionary(p => p.Code);

    private static readonly Dictionary<string, MultiaddrProtocol> ByName =
        All.ToDictionary(p => p.Name, StringComparer.Ordinal).Concat([new("ipfs", P2p)]).ToDictionary(StringComparer.Ordinal);

    public static bool TryGet(int code, out MultiaddrProtocol protocol) => ByCode.TryGetValue(code, out protocol!);

    public static bool TryGet(string name, out MultiaddrProtocol protocol) => ByName.TryGetValue(name, out protocol!);

    public override string ToString() => Name;
}
