using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Mdns;

/// <summary>
/// libp2p mDNS discovery (libp2p-wire.md §9) on the interfaces the operator chooses: announces
/// this node's addresses as <c>dnsaddr=&lt;addr&gt;/p2p/&lt;id&gt;</c> TXT records, answers every
/// find-all PTR query (its own too), queries at start (a short burst) and then every
/// <see cref="MdnsOptions.QueryInterval"/>, and reports peers on <see cref="Discovered"/>.
/// Discovered addresses expire after their TTL; a goodbye (TTL 0) removes the peer at once.
/// Disposing sends goodbye records. Hostile or malformed packets are dropped with a log line.
/// </summary>
public sealed partial class MdnsDiscovery : IAsyncDisposable
{
    /// <summary>Value of <see cref="PeerDiscovered.Source"/> for peers found here.</summary>
    public const string Source = "mdns";

    /// <summary>How often expired addresses are swept at the latest.</summary>
    public static readonly TimeSpan ExpirySweepInterval = TimeSpan.FromSeconds(1);

    private readonly MdnsOptions _options;
    private readonly Func<IReadOnlyList<Multiaddr>> _addresses;
    private readonly Func<MdnsOptions, ILogger, IMdnsTransport> _transportFactory;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Channel<PeerDiscovered> _events;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<PeerId, Dictionary<Multiaddr, DateTimeOffset>> _peers = [];
    private readonly Dictionary<int, DateTimeOffset> _lastMulticastResponse = [];
    private IMdnsTransport? _transport;
    private Task _receiveLoop = Task.CompletedTask;
    private Task _timerLoop = Task.CompletedTask;
    private int _started;
    private int _disposed;

    /// <summary>Creates the service; nothing is opened before <see cref="StartAsync"/>.</summary>
    /// <param name="localPeerId">This node's peer id, appended to every announced address.</param>
    /// <param name="addresses">Addresses to announce, read at every answer (so they can change).</param>
    /// <param name="options">Settings; <see cref="MdnsOptions.Default"/> when null.</param>
    public MdnsDiscovery(PeerId localPeerId, Func<IReadOnlyList<Multiaddr>> addresses, MdnsOptions? options = null)
        : this(localPeerId, addresses, options, static (o, l) => MulticastTransport.Open(o, l))
    {
    }

    internal MdnsDiscovery(PeerId localPeerId, Func<IReadOnlyList<Multiaddr>> addresses, MdnsOptions? options,
        Func<MdnsOptions, ILogger, IMdnsTransport> transportFactory)
    {
        ArgumentNullException.ThrowIfNull(localPeerId);
        ArgumentNullException.ThrowIfNull(addresses);
        _options = options ?? MdnsOptions.Default;
        _options.Validate();
        LocalPeerId = localPeerId;
        _addresses = addresses;
        _transportFactory = transportFactory;
        _logger = _options.LoggerFactory.CreateLogger<MdnsDiscovery>();
        _time = _options.TimeProvider;
        PeerName = _options.PeerNameGenerator();
        if (!MdnsOptions.IsValidPeerName(PeerName))
        {
            throw new ArgumentException($"peer name '{PeerName}' is not one lower-case DNS label", nameof(options));
        }

        InstanceName = MdnsCodec.InstanceName(PeerName, _options.ServiceName);
        _events = Channel.CreateBounded<PeerDiscovered>(
            new BoundedChannelOptions(_options.EventCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleWriter = false },
            dropped => Log.EventDropped(_logger, dropped.PeerId.ToString()));
    }

    /// <summary>This node's peer id.</summary>
    public PeerId LocalPeerId { get; }

    /// <summary>This node's random mDNS peer name (one DNS label).</summary>
    public string PeerName { get; }

    /// <summary><c>&lt;peer-name&gt;.&lt;service-name&gt;</c>: the PTR target and TXT owner we announce.</summary>
    public string InstanceName { get; }

    /// <summary>
    /// Discovery events: a peer first seen or with new addresses, and (with <see cref="PeerDiscovered.IsGone"/>)
    /// a peer that said goodbye or expired. Bounded; the oldest event is dropped when nobody reads.
    /// Completes when the service is disposed.
    /// </summary>
    public ChannelReader<PeerDiscovered> Discovered => _events.Reader;

    /// <summary>Names of the interfaces in use (after <see cref="StartAsync"/>).</summary>
    public IReadOnlyList<string> InterfaceNames => _transport?.Interfaces.Select(i => i.Name).ToArray() ?? [];

    /// <summary>Peers currently known, each with its unexpired addresses and the longest remaining TTL.</summary>
    public IReadOnlyList<PeerDiscovered> GetPeers()
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            return _peers.Where(p => p.Value.Count > 0)
                .Select(p => new PeerDiscovered(p.Key, [.. p.Value.Keys], Source, p.Value.Values.Max() - now)).ToArray();
        }
    }

    /// <summary>Opens the sockets, announces this node, and starts the query schedule.</summary>
    /// <exception cref="ArgumentException">A named interface does not exist or none can join the group.</exception>
    /// <exception cref="InvalidOperationException">Started twice.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("mDNS discovery is already started");
        }

        _transport = _transportFactory(_options, _logger);
        Log.Started(_logger, PeerName, string.Join(",", _transport.Interfaces.Select(i => i.Name)));
        foreach (var iface in _transport.Interfaces)
        {
            await SendResponseAsync(iface, null, _options.RecordTtl, force: true, cancellationToken).ConfigureAwait(false);
        }

        _receiveLoop = ReceiveLoopAsync(_transport, _stop.Token);
        _timerLoop = TimerLoopAsync(_stop.Token);
    }

    /// <summary>Sends a find-all query on every interface now.</summary>
    public async ValueTask QueryNowAsync(CancellationToken cancellationToken = default)
    {
        var transport = _transport ?? throw new InvalidOperationException("mDNS discovery is not started");
        var query = MdnsCodec.EncodeQuery(_options.ServiceName);
        foreach (var iface in transport.Interfaces)
        {
            await SendSafelyAsync(transport, query, iface, null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Sends goodbye records (TTL 0), stops the loops, closes the sockets, completes <see cref="Discovered"/>. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_receiveLoop, _timerLoop).ConfigureAwait(false);
        if (_transport is not null)
        {
            foreach (var iface in _transport.Interfaces)
            {
                await SendResponseAsync(iface, null, TimeSpan.Zero, force: true, CancellationToken.None).ConfigureAwait(false);
            }

            await _transport.DisposeAsync().ConfigureAwait(false);
        }

        _events.Writer.TryComplete();
        _stop.Dispose();
    }
}
