using PromiseGrid.Mesh.Abstractions;

namespace PromiseGrid.Mesh.Discovery.PeerExchange;

/// <summary>The requester side of <see cref="PeerExchangeProtocol.ProtocolId"/> (docs/peer-exchange.md §6).</summary>
public static class PeerExchangeClient
{
    /// <summary>
    /// Sends a request on <paramref name="stream"/> (already negotiated), closes the write side,
    /// reads the response and then the remote's end of stream. The caller owns the stream and disposes it. The result is decoded and
    /// limit-checked but not yet filtered for this node (the <see cref="PeerExchangeService"/> does that).
    /// </summary>
    /// <exception cref="LimitExceededException">The response passes a protocol limit.</exception>
    /// <exception cref="InvalidFormatException">The response is malformed.</exception>
    /// <exception cref="ProtocolViolationException">The stream ended without a response, or carried bytes after it.</exception>
    public static async ValueTask<IReadOnlyList<PexPeerInfo>> RequestPeersAsync(
        IMuxedStream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        await PexFraming.WriteFrameAsync(stream.Output, PexCodec.EncodeRequest(PeerExchangeProtocol.MaxPeersPerResponse), cancellationToken)
            .ConfigureAwait(false);
        await stream.CloseWriteAsync(cancellationToken).ConfigureAwait(false);
        var body = await PexFraming.ReadFrameAsync(stream.Input, PeerExchangeProtocol.MaxMessageSize, cancellationToken)
            .ConfigureAwait(false);
        var peers = PexCodec.DecodeResponse(body);
        await PexFraming.ReadEndAsync(stream.Input, cancellationToken).ConfigureAwait(false);
        return peers;
    }
}
