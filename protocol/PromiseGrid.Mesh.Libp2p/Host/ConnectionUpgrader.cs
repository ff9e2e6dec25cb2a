using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multistream;
using PromiseGrid.Mesh.Noise;
using PromiseGrid.Mesh.Yamux;

namespace PromiseGrid.Mesh.Host;

/// <summary>
/// The upgrade path of libp2p-wire.md §11, one step per method so the order is enforced by the
/// types: a raw <see cref="ITransportConnection"/> can only become an <see cref="ISecureChannel"/>
/// (multistream <c>/noise</c> then Noise), and only a secure channel can become an
/// <see cref="IMuxedSession"/> (multistream <c>/yamux/1.0.0</c> then yamux).
/// </summary>
internal sealed class ConnectionUpgrader
{
    private static readonly string[] SecurityProtocols = [NoiseUpgrade.ProtocolId];
    private static readonly string[] MuxerProtocols = [YamuxSession.ProtocolId];

    private readonly NoiseUpgrade _noise;
    private readonly YamuxOptions _yamuxOptions;

    public ConnectionUpgrader(NoiseUpgrade noise, YamuxOptions yamuxOptions)
    {
        _noise = noise;
        _yamuxOptions = yamuxOptions;
    }

    /// <summary>Dialer: negotiate <c>/noise</c>, then the Noise initiator handshake (checks <paramref name="expectedRemote"/>).</summary>
    public async ValueTask<ISecureChannel> SecureOutboundAsync(ITransportConnection connection, PeerId? expectedRemote, CancellationToken cancellationToken)
    {
        await MultistreamSelect.SelectOneOfAsync(connection, SecurityProtocols, cancellationToken).ConfigureAwait(false);
        return await _noise.SecureOutboundAsync(connection, expectedRemote, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Listener: answer multistream (only <c>/noise</c>), then the Noise responder handshake.</summary>
    public async ValueTask<ISecureChannel> SecureInboundAsync(ITransportConnection connection, CancellationToken cancellationToken)
    {
        await MultistreamSelect.ListenAsync(connection, SecurityProtocols, cancellationToken).ConfigureAwait(false);
        return await _noise.SecureInboundAsync(connection, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Dialer: negotiate <c>/yamux/1.0.0</c> inside the secure channel and start the yamux client.</summary>
    public async ValueTask<IMuxedSession> MuxOutboundAsync(ISecureChannel channel, CancellationToken cancellationToken)
    {
        await MultistreamSelect.SelectOneOfAsync(channel, MuxerProtocols, cancellationToken).ConfigureAwait(false);
        return YamuxSession.CreateClient(channel, channel.RemotePeer, _yamuxOptions);
    }

    /// <summary>Listener: answer multistream (only <c>/yamux/1.0.0</c>) and start the yamux server.</summary>
    public async ValueTask<IMuxedSession> MuxInboundAsync(ISecureChannel channel, CancellationToken cancellationToken)
    {
        await MultistreamSelect.ListenAsync(channel, MuxerProtocols, cancellationToken).ConfigureAwait(false);
        return YamuxSession.CreateServer(channel, channel.RemotePeer, _yamuxOptions);
    }
}
