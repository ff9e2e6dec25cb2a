using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Identity;

namespace PromiseGrid.Mesh.Noise;

/// <summary>
/// The libp2p Noise security upgrade (<c>/noise</c>, libp2p-wire §5): runs the XX handshake
/// (<c>Noise_XX_25519_ChaChaPoly_SHA256</c>, empty prologue) over a raw transport connection
/// whose multistream-select negotiation of <see cref="ProtocolId"/> is already done, and returns
/// the encrypted, authenticated channel. The static Noise key is fresh per handshake.
/// On any failure the transport connection is aborted and a typed error thrown; other
/// connections are unaffected.
/// <para>Transport requirement: the transport's input pipe must buffer a whole Noise frame
/// (pause threshold above <see cref="NoiseFrameCodec.MaxFrameLength"/> = 65537 bytes), since a
/// frame is only decrypted once it is complete.</para>
/// </summary>
public sealed class NoiseUpgrade
{
    /// <summary>multistream-select protocol id (libp2p-wire §5.1).</summary>
    public const string ProtocolId = "/noise";

    private readonly IdentityKeyPair _identity;
    private readonly NoiseOptions _options;
    private readonly ILogger _logger;

    /// <param name="identity">This node's identity key; it signs the Noise static keys.</param>
    /// <param name="options">Settings; <see cref="NoiseOptions.Default"/> when null.</param>
    public NoiseUpgrade(IdentityKeyPair identity, NoiseOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        _options = options ?? NoiseOptions.Default;
        _options.Validate();
        _identity = identity;
        _logger = _options.LoggerFactory.CreateLogger<NoiseUpgrade>();
    }

    /// <summary>The local peer id.</summary>
    public PeerId LocalPeer => _identity.PeerId;

    /// <summary>Runs the handshake as initiator (the dialer).</summary>
    /// <param name="connection">The transport connection; on success the channel owns it.</param>
    /// <param name="expectedRemote">The peer id the dialled address named, if any.</param>
    /// <param name="cancellationToken">Cancels the handshake (the connection is aborted).</param>
    /// <exception cref="HandshakeException">Malformed or unauthentic handshake, or EOF during it.</exception>
    /// <exception cref="PeerIdMismatchException">The remote authenticated as another peer than <paramref name="expectedRemote"/>.</exception>
    /// <exception cref="MeshTimeoutException">The handshake took longer than <see cref="NoiseOptions.HandshakeTimeout"/>.</exception>
    public ValueTask<ISecureChannel> SecureOutboundAsync(ITransportConnection connection, PeerId? expectedRemote, CancellationToken cancellationToken = default)
        => UpgradeAsync(connection, initiator: true, expectedRemote, cancellationToken);

    /// <summary>Runs the handshake as responder (the listener); the remote id is learnt from it.</summary>
    /// <param name="connection">The transport connection; on success the channel owns it.</param>
    /// <param name="cancellationToken">Cancels the handshake (the connection is aborted).</param>
    /// <exception cref="HandshakeException">Malformed or unauthentic handshake, or EOF during it.</exception>
    /// <exception cref="MeshTimeoutException">The handshake took longer than <see cref="NoiseOptions.HandshakeTimeout"/>.</exception>
    public ValueTask<ISecureChannel> SecureInboundAsync(ITransportConnection connection, CancellationToken cancellationToken = default)
        => UpgradeAsync(connection, initiator: false, expectedRemote: null, cancellationToken);

    private async ValueTask<ISecureChannel> UpgradeAsync(ITransportConnection connection, bool initiator, PeerId? expectedRemote, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var role = initiator ? "initiator" : "responder";
        using var timeout = new CancellationTokenSource(_options.HandshakeTimeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        NoiseHandshakeResult result;
        try
        {
            result = await NoiseHandshake.RunAsync(connection, _identity, initiator, expectedRemote, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            var error = new MeshTimeoutException($"the Noise handshake did not finish within {_options.HandshakeTimeout}", e);
            Fail(connection, role, error);
            throw error;
        }
        catch (Exception e)
        {
            Fail(connection, role, e);
            throw;
        }

        NoiseLog.HandshakeCompleted(_logger, role, result.RemotePeer);
        var channel = new NoiseSecureChannel(connection, _identity.PeerId, result, _options, _logger);
        channel.Start();
        return channel;
    }

    private void Fail(ITransportConnection connection, string role, Exception error)
    {
        NoiseLog.HandshakeFailed(_logger, role, connection.RemoteAddress.ToString(), error);
        connection.Abort(error);
    }
}
