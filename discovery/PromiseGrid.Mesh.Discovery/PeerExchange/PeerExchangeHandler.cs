using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.PeerExchange;

/// <summary>
/// The responder side of <see cref="PeerExchangeProtocol.ProtocolId"/> (docs/peer-exchange.md §6):
/// reads one request, answers with peers from the <see cref="IPexPeerSource"/>, closes its write
/// side. Register it with the host for the protocol id.
/// </summary>
public sealed class PeerExchangeHandler
{
    private readonly IPexPeerSource _source;
    private readonly PeerExchangeOptions _options;
    private readonly ILogger _logger;

    /// <exception cref="ArgumentOutOfRangeException">Invalid options.</exception>
    public PeerExchangeHandler(IPexPeerSource source, PeerExchangeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        options ??= PeerExchangeOptions.Default;
        options.Validate();
        _source = source;
        _options = options;
        _logger = options.LoggerFactory.CreateLogger<PeerExchangeHandler>();
    }

    /// <summary>
    /// Serves one inbound stream from <paramref name="remotePeer"/>, seen at
    /// <paramref name="remoteAddress"/> (used to decide which addresses it may be told). Bad input or
    /// a missed deadline resets the stream and is logged; it is never thrown. Cancellation is.
    /// The caller (the host) owns the stream and disposes it afterwards.
    /// </summary>
    public async ValueTask HandleAsync(
        PeerId remotePeer, Multiaddr? remoteAddress, IMuxedStream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(remotePeer);
        ArgumentNullException.ThrowIfNull(stream);
        using var timeout = _options.RequestTimeout == Timeout.InfiniteTimeSpan
            ? new CancellationTokenSource()
            : new CancellationTokenSource(_options.RequestTimeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var request = await PexFraming.ReadFrameAsync(stream.Input, PeerExchangeProtocol.MaxRequestSize, linked.Token)
                .ConfigureAwait(false);
            var maxPeers = PexCodec.DecodeRequest(request);
            var peers = PexResponseBuilder.Build(_source.GetPeers(), remotePeer, remoteAddress, maxPeers);
            await PexFraming.WriteFrameAsync(stream.Output, PexCodec.EncodeResponse(peers), linked.Token).ConfigureAwait(false);
            await stream.CloseWriteAsync(linked.Token).ConfigureAwait(false);
            Log.Served(_logger, remotePeer, peers.Count);
            PexMetrics.Serve("success");
        }
        catch (OperationCanceledException e) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            Log.ServeFailed(_logger, remotePeer, new MeshTimeoutException($"peer exchange not done within {_options.RequestTimeout}", e));
            PexMetrics.Serve("failure");
            stream.Reset();
        }
        catch (Exception e) when (e is StreamResetException { IsRemote: true } or ConnectionClosedException)
        {
            // The requester went away (a normal shutdown, a dropped link): not worth a warning.
            Log.ServeAbandoned(_logger, remotePeer, e);
            PexMetrics.Serve("failure");
            stream.Reset();
        }
        catch (MeshException e)
        {
            Log.ServeFailed(_logger, remotePeer, e);
            PexMetrics.Serve("failure");
            stream.Reset();
        }
    }
}
