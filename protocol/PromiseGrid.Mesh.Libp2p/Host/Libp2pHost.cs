using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Echo;
using PromiseGrid.Mesh.Identify;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Noise;
using PromiseGrid.Mesh.Perf;
using PromiseGrid.Mesh.Ping;
using PromiseGrid.Mesh.Tcp;
using PromiseGrid.Mesh.Yamux;

namespace PromiseGrid.Mesh.Host;

/// <summary>
/// A libp2p host over TCP (libp2p-wire.md §11): listens and dials, upgrades every connection
/// TCP → multistream <c>/noise</c> → Noise → multistream <c>/yamux/1.0.0</c> → yamux, runs identify
/// both ways on each new connection, and serves inbound streams with the handlers registered by
/// <see cref="Handle"/> (multistream listener; unknown protocols get <c>na</c>). Bad input on one
/// connection ends only that connection.
/// </summary>
public sealed partial class Libp2pHost : IAsyncDisposable
{
    /// <summary>Signature of a stream handler: the negotiated stream, its connection, and the host's shutdown token.</summary>
    public delegate Task StreamHandler(IMuxedStream stream, PeerConnection connection, CancellationToken cancellationToken);

    private readonly Libp2pHostOptions _options;
    private readonly IdentityKeyPair _identity;
    private readonly ILogger _logger;
    private readonly TcpTransport _transport;
    private readonly ConnectionUpgrader _upgrader;
    private readonly TaskTracker _tasks = new();
    private readonly CancellationTokenSource _shutdown = new();
    private readonly ConcurrentDictionary<string, StreamHandler> _handlers = new(StringComparer.Ordinal);
    private readonly Channel<HostEvent> _events;
    private readonly Lock _sync = new();
    private readonly Dictionary<PeerId, List<PeerConnection>> _connections = [];
    private readonly Dictionary<PeerId, Task<PeerConnection>> _pendingDials = [];
    private readonly List<TcpListenerHandle> _listeners = [];
    private readonly List<Task> _acceptLoops = [];
    private IReadOnlyList<Multiaddr> _listenAddresses = [];
    private int _pendingInbound;
    private int _connectionCount;
    private int _started;
    private int _disposed;

    /// <summary>Creates a host; nothing listens until <see cref="StartAsync"/>.</summary>
    public Libp2pHost(Libp2pHostOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _identity = options.Identity!;
        _logger = options.LoggerFactory.CreateLogger<Libp2pHost>();
        _transport = new TcpTransport(new TcpTransportOptions { LoggerFactory = options.LoggerFactory });
        var noise = new NoiseUpgrade(_identity, new NoiseOptions
        {
            HandshakeTimeout = options.HandshakeTimeout,
            TimeProvider = options.TimeProvider,
            LoggerFactory = options.LoggerFactory,
        });
        _upgrader = new ConnectionUpgrader(noise, new YamuxOptions
        {
            TimeProvider = options.TimeProvider,
            LoggerFactory = options.LoggerFactory,
        });
        _events = Channel.CreateBounded<HostEvent>(
            new BoundedChannelOptions(options.EventQueueCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleWriter = false },
            dropped => HostLog.EventDropped(_logger, dropped.GetType().Name, dropped.Peer.ToString()));

        _handlers[IdentifyProtocol.ProtocolId] = HandleIdentifyAsync;
        _handlers[IdentifyProtocol.PushProtocolId] = HandleIdentifyPushAsync;
        if (options.EnablePing)
        {
            _handlers[PingProtocol.ProtocolId] = static (stream, _, ct) =>
            {
                stream.ResumeReadsInline(); // an echo per read: no work worth a thread hand-off
                return PingProtocol.HandleAsync(stream, ct);
            };
        }

        if (options.EnablePerf)
        {
            _handlers[PerfProtocol.ProtocolId] = static (stream, _, ct) =>
            {
                stream.ResumeReadsInline(); // the upload is only counted and dropped
                return PerfProtocol.HandleAsync(stream, ct);
            };
        }

        if (options.EnableEcho)
        {
            _handlers[EchoProtocol.ProtocolId] = static (stream, _, ct) => EchoProtocol.HandleAsync(stream, ct);
        }
    }

    /// <summary>This host's peer id.</summary>
    public PeerId PeerId => _identity.PeerId;

    /// <summary>
    /// The addresses the host actually listens on (bound ports; an unspecified address such as
    /// <c>0.0.0.0</c> is expanded to the interface addresses). Append <c>/p2p/&lt;PeerId&gt;</c> to dial.
    /// </summary>
    public IReadOnlyList<Multiaddr> ListenAddresses => Volatile.Read(ref _listenAddresses);

    /// <summary>Connection events (connected, identified, disconnected). Bounded: the oldest is dropped when nobody reads.</summary>
    public ChannelReader<HostEvent> Events => _events.Reader;

    /// <summary>A snapshot of the open connections.</summary>
    public IReadOnlyList<PeerConnection> Connections
    {
        get
        {
            lock (_sync)
            {
                return _connections.Values.SelectMany(list => list).ToList();
            }
        }
    }

    /// <summary>Protocol ids with a handler, as announced by identify.</summary>
    public IReadOnlyList<string> Protocols => _handlers.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>
    /// Registers (or replaces) the handler for inbound streams of <paramref name="protocolId"/>.
    /// The handler owns the stream while it runs; afterwards the host closes it. An exception
    /// resets the stream and is logged; the host keeps running.
    /// </summary>
    public void Handle(string protocolId, Func<IMuxedStream, PeerConnection, CancellationToken, Task> handler)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(protocolId);
        ArgumentNullException.ThrowIfNull(handler);
        if (!protocolId.StartsWith('/') || protocolId.Contains('\n', StringComparison.Ordinal))
        {
            throw new ArgumentException("protocol ids start with '/' and contain no newline", nameof(protocolId));
        }

        _handlers[protocolId] = new StreamHandler(handler);
    }

    /// <summary>Removes the handler of <paramref name="protocolId"/>; new streams for it get <c>na</c>.</summary>
    public bool RemoveHandler(string protocolId) => _handlers.TryRemove(protocolId, out _);

    /// <summary>The open connections to <paramref name="peer"/>.</summary>
    public IReadOnlyList<PeerConnection> GetConnections(PeerId peer)
    {
        lock (_sync)
        {
            return _connections.TryGetValue(peer, out var list) ? list.ToList() : [];
        }
    }

    /// <summary>Binds every configured listen address and starts accepting.</summary>
    /// <exception cref="AddressInUseException">A listen address is taken.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("the host is already started");
        }

        var addresses = new List<Multiaddr>();
        try
        {
            foreach (var address in _options.ListenAddresses)
            {
                var listener = await _transport.ListenAsync(address, cancellationToken).ConfigureAwait(false);
                lock (_sync)
                {
                    _listeners.Add(listener);
                }

                addresses.AddRange(ListenAddressExpansion.Expand(listener.ListenAddress));
                HostLog.Listening(_logger, PeerId.ToString(), listener.ListenAddress.ToString());
            }
        }
        catch
        {
            foreach (var listener in _listeners)
            {
                await listener.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }

        Volatile.Write(ref _listenAddresses, addresses);
        lock (_sync)
        {
            foreach (var listener in _listeners)
            {
                _acceptLoops.Add(AcceptLoopAsync(listener));
            }
        }
    }

    /// <summary>
    /// Stops listening, closes every connection, cancels and awaits every handler. Idempotent.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _shutdown.CancelAsync().ConfigureAwait(false);
        List<TcpListenerHandle> listeners;
        List<Task> loops;
        List<PeerConnection> connections;
        lock (_sync)
        {
            listeners = [.. _listeners];
            loops = [.. _acceptLoops];
            connections = _connections.Values.SelectMany(list => list).ToList();
        }

        foreach (var listener in listeners)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(loops).ConfigureAwait(false);
        foreach (var connection in connections)
        {
            await connection.CloseCoreAsync().ConfigureAwait(false);
        }

        await _tasks.WhenAllAsync().ConfigureAwait(false);
        _events.Writer.TryComplete();
        _shutdown.Dispose();
    }

    private void Publish(HostEvent hostEvent) => _events.Writer.TryWrite(hostEvent);
}
