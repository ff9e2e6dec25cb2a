using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Identify;

namespace PromiseGrid.Mesh.Host;

public sealed partial class Libp2pHost
{
    /// <summary>
    /// What this host tells <paramref name="connection"/>'s remote about itself. Listen addresses
    /// are trimmed from the end if the message would exceed <see cref="IdentifyProtocol.MaxOutgoingMessageSize"/>.
    /// </summary>
    public IdentifyInfo GetLocalIdentify(PeerConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var info = new IdentifyInfo
        {
            ProtocolVersion = IdentifyInfo.DefaultProtocolVersion,
            AgentVersion = _options.AgentVersion,
            PublicKey = _identity.PublicKey,
            ListenAddrs = ListenAddresses,
            ObservedAddr = connection.RemoteAddress,
            Protocols = Protocols,
        };
        while (info.ListenAddrs.Count > 0 && IdentifyCodec.Encode(info).Length > IdentifyProtocol.MaxOutgoingMessageSize)
        {
            info = info with { ListenAddrs = info.ListenAddrs.Take(info.ListenAddrs.Count - 1).ToList() };
        }

        return info;
    }

    /// <summary>Asks the remote of <paramref name="connection"/> to identify itself (<c>/ipfs/id/1.0.0</c>) and records the answer.</summary>
    /// <exception cref="ProtocolViolationException">The announced public key is not the authenticated peer's.</exception>
    public async ValueTask<IdentifyInfo> IdentifyAsync(PeerConnection connection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var stream = await connection.NewStreamAsync(IdentifyProtocol.ProtocolId, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            IdentifyInfo info;
            try
            {
                info = await IdentifyProtocol.ReadAsync(stream, cancellationToken).ConfigureAwait(false);
                info.VerifyPeer(connection.RemotePeer);
            }
            catch
            {
                stream.Reset();
                throw;
            }

            await stream.CloseWriteAsync(cancellationToken).ConfigureAwait(false);
            connection.SetRemoteInfo(info);
            HostLog.Identified(_logger, connection.RemotePeer.ToString(), info.AgentVersion, info.Protocols.Count);
            Publish(new PeerIdentified(connection, info));
            return info;
        }
    }

    private async Task IdentifyRemoteAsync(PeerConnection connection)
    {
        try
        {
            using var timeout = new CancellationTokenSource(_options.StreamNegotiationTimeout, _options.TimeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _shutdown.Token);
            await IdentifyAsync(connection, linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            if (!_shutdown.IsCancellationRequested && !connection.IsClosed)
            {
                HostLog.IdentifyFailed(_logger, connection.RemotePeer.ToString(), ex);
                Publish(new PeerIdentifyFailed(connection, ex));
            }
        }
    }

    private Task HandleIdentifyAsync(IMuxedStream stream, PeerConnection connection, CancellationToken cancellationToken) =>
        IdentifyProtocol.WriteAsync(stream, GetLocalIdentify(connection), cancellationToken).AsTask();

    private async Task HandleIdentifyPushAsync(IMuxedStream stream, PeerConnection connection, CancellationToken cancellationToken)
    {
        var push = await IdentifyProtocol.ReadAsync(stream, cancellationToken).ConfigureAwait(false);
        push.VerifyPeer(connection.RemotePeer);
        var info = connection.UpdateRemoteInfo(push);
        Publish(new PeerIdentified(connection, info));
    }
}
