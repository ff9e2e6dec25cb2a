using Microsoft.Extensions.Time.Testing;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Noise;

namespace PromiseGrid.Mesh.Libp2p.Tests.Noise;

/// <summary>The handshake driven through <see cref="NoiseUpgrade"/>, in memory, good and bad.</summary>
public class NoiseUpgradeTests
{
    private static readonly TimeSpan Timeout = NoiseTestKit.Timeout;

    [Fact]
    public async Task SecureBothRoles_InMemory_EachSideLearnsTheOther()
    {
        await using var kit = new NoiseTestKit();

        var (dialer, listener) = await kit.HandshakeAsync();

        Assert.Equal(kit.DialerIdentity.PeerId, dialer.LocalPeer);
        Assert.Equal(kit.ListenerIdentity.PeerId, dialer.RemotePeer);
        Assert.Equal(kit.ListenerIdentity.PublicKey, dialer.RemotePublicKey);
        Assert.Equal(kit.ListenerIdentity.PeerId, listener.LocalPeer);
        Assert.Equal(kit.DialerIdentity.PeerId, listener.RemotePeer);
        Assert.Equal(kit.DialerIdentity.PublicKey, listener.RemotePublicKey);
        Assert.Same(kit.Dialer, dialer.Transport);
        Assert.Same(kit.Listener, listener.Transport);
    }

    [Fact]
    public async Task SecureOutbound_NoExpectedPeer_Succeeds()
    {
        await using var kit = new NoiseTestKit();
        var inbound = kit.ListenerUpgrade.SecureInboundAsync(kit.Listener).AsTask();

        await using var dialer = await kit.DialerUpgrade.SecureOutboundAsync(kit.Dialer, null).AsTask().WaitAsync(Timeout);
        await using var listener = await inbound.WaitAsync(Timeout);

        Assert.Equal(kit.ListenerIdentity.PeerId, dialer.RemotePeer);
    }

    [Fact]
    public async Task SecureOutbound_ExpectedPeerDiffers_ThrowsPeerIdMismatchAndAbortsOnlyThatConnection()
    {
        await using var kit = new NoiseTestKit();
        using var other = IdentityKeyPair.Generate();
        var inbound = kit.ListenerUpgrade.SecureInboundAsync(kit.Listener).AsTask();

        var error = await Assert.ThrowsAsync<PeerIdMismatchException>(
            () => kit.DialerUpgrade.SecureOutboundAsync(kit.Dialer, other.PeerId).AsTask().WaitAsync(Timeout));

        Assert.Equal(other.PeerId.ToString(), error.Expected);
        Assert.Equal(kit.ListenerIdentity.PeerId.ToString(), error.Actual);
        Assert.Same(error, await kit.Dialer.Aborted.WaitAsync(Timeout));
        await Assert.ThrowsAnyAsync<MeshException>(() => inbound.WaitAsync(Timeout));
    }

    [Fact]
    public async Task SecureInbound_SignatureByWrongKey_ThrowsHandshakeException()
    {
        await using var kit = new NoiseTestKit();
        using var impostor = IdentityKeyPair.Generate();
        using var raw = new RawNoisePeer(kit.Dialer, initiator: true, kit.DialerIdentity);
        var inbound = kit.ListenerUpgrade.SecureInboundAsync(kit.Listener).AsTask();

        raw.WriteHandshake([]);
        await raw.FlushAsync();
        await raw.ReadHandshakeAsync().WaitAsync(Timeout);
        raw.WriteHandshake(raw.PayloadSignedBy(impostor));
        await raw.FlushAsync();

        var error = await Assert.ThrowsAsync<HandshakeException>(() => inbound.WaitAsync(Timeout));
        Assert.Contains("signature", error.Message, StringComparison.Ordinal);
        Assert.IsType<HandshakeException>(await kit.Listener.Aborted.WaitAsync(Timeout));
    }

    [Fact]
    public async Task SecureOutbound_ResponderSignatureByWrongKey_ThrowsHandshakeException()
    {
        await using var kit = new NoiseTestKit();
        using var impostor = IdentityKeyPair.Generate();
        using var raw = new RawNoisePeer(kit.Listener, initiator: false, kit.ListenerIdentity);
        var outbound = kit.DialerUpgrade.SecureOutboundAsync(kit.Dialer, kit.ListenerIdentity.PeerId).AsTask();

        await raw.ReadHandshakeAsync().WaitAsync(Timeout);
        raw.WriteHandshake(raw.PayloadSignedBy(impostor));
        await raw.FlushAsync();

        await Assert.ThrowsAsync<HandshakeException>(() => outbound.WaitAsync(Timeout));
    }

    [Fact]
    public async Task SecureOutbound_MalformedPayloadProtobuf_ThrowsHandshakeException()
    {
        await using var kit = new NoiseTestKit();
        using var raw = new RawNoisePeer(kit.Listener, initiator: false, kit.ListenerIdentity);
        var outbound = kit.DialerUpgrade.SecureOutboundAsync(kit.Dialer, null).AsTask();

        await raw.ReadHandshakeAsync().WaitAsync(Timeout);
        raw.WriteHandshake([0x0a, 0x7f, 0x01]); // identity_key claims 127 bytes, has 1
        await raw.FlushAsync();

        var error = await Assert.ThrowsAsync<HandshakeException>(() => outbound.WaitAsync(Timeout));
        Assert.IsType<InvalidFormatException>(error.InnerException);
    }

    [Fact]
    public async Task SecureOutbound_ResponderSendsExtensions_IgnoresThem()
    {
        await using var kit = new NoiseTestKit();
        using var raw = new RawNoisePeer(kit.Listener, initiator: false, kit.ListenerIdentity);
        var outbound = kit.DialerUpgrade.SecureOutboundAsync(kit.Dialer, kit.ListenerIdentity.PeerId).AsTask();

        Assert.Empty(await raw.ReadHandshakeAsync().WaitAsync(Timeout));
        var payload = NoisePayloadCodec.Decode(raw.ValidPayload());
        raw.WriteHandshake(NoisePayloadCodec.Encode(payload.IdentityKey, payload.IdentitySignature, ["/yamux/1.0.0", "/mplex/6.7.0"]));
        await raw.FlushAsync();
        var initiatorPayload = NoisePayloadCodec.Decode(await raw.ReadHandshakeAsync().WaitAsync(Timeout));

        await using var channel = await outbound.WaitAsync(Timeout);
        Assert.Equal(kit.ListenerIdentity.PeerId, channel.RemotePeer);
        Assert.Empty(initiatorPayload.StreamMuxers); // we never send stream_muxers
        Assert.Equal(kit.DialerIdentity.PublicKey.Encode().ToArray(), initiatorPayload.IdentityKey);
    }

    [Fact]
    public async Task SecureInbound_Message1CarriesPayload_Ignored()
    {
        await using var kit = new NoiseTestKit();
        using var raw = new RawNoisePeer(kit.Dialer, initiator: true, kit.DialerIdentity);
        var inbound = kit.ListenerUpgrade.SecureInboundAsync(kit.Listener).AsTask();

        raw.WriteHandshake([1, 2, 3]);
        await raw.FlushAsync();
        await raw.ReadHandshakeAsync().WaitAsync(Timeout);
        raw.WriteHandshake(raw.ValidPayload());
        await raw.FlushAsync();

        await using var channel = await inbound.WaitAsync(Timeout);
        Assert.Equal(kit.DialerIdentity.PeerId, channel.RemotePeer);
    }

    [Fact]
    public async Task SecureInbound_DataPipelinedRightAfterMessage3_IsNotLost()
    {
        await using var kit = new NoiseTestKit();
        using var raw = new RawNoisePeer(kit.Dialer, initiator: true, kit.DialerIdentity);
        var inbound = kit.ListenerUpgrade.SecureInboundAsync(kit.Listener).AsTask();
        raw.WriteHandshake([]);
        await raw.FlushAsync();
        await raw.ReadHandshakeAsync().WaitAsync(Timeout);

        // Message 3 and two transport frames leave in one write, before the responder reads message 3.
        raw.WriteHandshake(raw.ValidPayload());
        raw.WriteFrame(raw.EncryptFrame("/multistream/1.0.0\n"u8));
        raw.WriteFrame(raw.EncryptFrame("/yamux/1.0.0\n"u8));
        await raw.FlushAsync();

        await using var channel = await inbound.WaitAsync(Timeout);
        var received = await NoiseTestKit.ReadExactlyAsync(channel.Input, 32);
        Assert.Equal("/multistream/1.0.0\n/yamux/1.0.0\n"u8.ToArray(), received);
    }

    [Fact]
    public async Task SecureInbound_TruncatedMessage1ThenEof_ThrowsHandshakeException()
    {
        await using var kit = new NoiseTestKit();
        using var raw = new RawNoisePeer(kit.Dialer, initiator: true, kit.DialerIdentity);
        var inbound = kit.ListenerUpgrade.SecureInboundAsync(kit.Listener).AsTask();

        raw.WriteRaw([0x00, 0x20, 1, 2, 3, 4, 5]); // claims 32 bytes, carries 5
        await raw.FlushAsync();
        await kit.Dialer.Output.CompleteAsync();

        var error = await Assert.ThrowsAsync<HandshakeException>(() => inbound.WaitAsync(Timeout));
        Assert.IsType<ConnectionClosedException>(error.InnerException);
    }

    [Fact]
    public async Task SecureInbound_LowOrderEphemeralKey_ThrowsHandshakeException()
    {
        await using var kit = new NoiseTestKit();
        using var raw = new RawNoisePeer(kit.Dialer, initiator: true, kit.DialerIdentity);
        var inbound = kit.ListenerUpgrade.SecureInboundAsync(kit.Listener).AsTask();

        raw.WriteFrame(new byte[32]); // the all-zero point: every DH with it is zero
        await raw.FlushAsync();

        await Assert.ThrowsAsync<HandshakeException>(() => inbound.WaitAsync(Timeout));
    }

    [Fact]
    public async Task SecureOutbound_Message2TooShort_ThrowsHandshakeException()
    {
        await using var kit = new NoiseTestKit();
        using var raw = new RawNoisePeer(kit.Listener, initiator: false, kit.ListenerIdentity);
        var outbound = kit.DialerUpgrade.SecureOutboundAsync(kit.Dialer, null).AsTask();

        await raw.ReadHandshakeAsync().WaitAsync(Timeout);
        raw.WriteFrame(new byte[40]);
        await raw.FlushAsync();

        await Assert.ThrowsAsync<HandshakeException>(() => outbound.WaitAsync(Timeout));
    }

    [Fact]
    public async Task SecureOutbound_RemoteSilent_TimesOutWithMeshTimeoutException()
    {
        var time = new FakeTimeProvider();
        await using var kit = new NoiseTestKit(options: new NoiseOptions { TimeProvider = time, HandshakeTimeout = TimeSpan.FromSeconds(10) });
        var outbound = kit.DialerUpgrade.SecureOutboundAsync(kit.Dialer, null).AsTask();
        Assert.False(outbound.IsCompleted);

        time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(outbound.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));

        await Assert.ThrowsAsync<MeshTimeoutException>(() => outbound.WaitAsync(Timeout));
        Assert.IsType<MeshTimeoutException>(await kit.Dialer.Aborted.WaitAsync(Timeout));
    }

    [Fact]
    public async Task SecureInbound_CallerCancels_ThrowsOperationCanceledAndAborts()
    {
        await using var kit = new NoiseTestKit();
        using var cts = new CancellationTokenSource();
        var inbound = kit.ListenerUpgrade.SecureInboundAsync(kit.Listener, cts.Token).AsTask();

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => inbound.WaitAsync(Timeout));
        await kit.Listener.Aborted.WaitAsync(Timeout);
    }

    [Fact]
    public void Constructor_InvalidOptions_Throws()
    {
        using var identity = IdentityKeyPair.Generate();

        Assert.Throws<ArgumentOutOfRangeException>(() => new NoiseUpgrade(identity, new NoiseOptions { HandshakeTimeout = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NoiseUpgrade(identity, new NoiseOptions { MaxBufferedBytes = 1000 }));
        Assert.Equal("/noise", NoiseUpgrade.ProtocolId);
        Assert.Equal(TimeSpan.FromSeconds(10), NoiseOptions.Default.HandshakeTimeout);
    }
}
