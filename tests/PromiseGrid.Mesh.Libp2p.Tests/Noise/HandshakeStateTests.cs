using PromiseGrid.Mesh.Noise;

namespace PromiseGrid.Mesh.Libp2p.Tests.Noise;

/// <summary>The cacophony Noise_XX_25519_ChaChaPoly_SHA256 vector (libp2p-wire §5.7.1), replayed exactly.</summary>
public class HandshakeStateTests
{
    private static readonly byte[] Prologue = Convert.FromHexString("4a6f686e2047616c74");
    private const string InitStatic = "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1";
    private const string InitEphemeral = "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a";
    private const string RespStatic = "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893";
    private const string RespEphemeral = "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b";
    private const string HandshakeHash = "c8e5f64e846193be2a834104c2a009868d6c9f3bd3c186299888b488b2f1f58e";

    private static readonly (string Payload, string Ciphertext)[] Messages =
    [
        ("4c756477696720766f6e204d69736573", "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79444c756477696720766f6e204d69736573"),
        ("4d757272617920526f746862617264", "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f14480884381cbad1f276e038c48378ffce2b65285e08d6b68aaa3629a5a8639392490e5b9bd5269c2f1e4f488ed8831161f19b7815528f8982ffe09be9b5c412f8a0db50f8814c7194e83f23dbd8d162c9326ad"),
        ("462e20412e20486179656b", "c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a80ae475b9df0f169ae80a89be0865b57f58c9fea0d4ec82a286427402f113e4b6ae769a1d95941d49b25030"),
        ("4361726c204d656e676572", "96763ed773f8e47bb3712f0e29b3060ffc956ffc146cee53d5e1df"),
        ("4a65616e2d426170746973746520536179", "3e40f15f6f3a46ae446b253bf8b1d9ffb6ed9b174d272328ff91a7e2e5c79c07f5"),
        ("457567656e2042f6686d20766f6e2042617765726b", "eb3f3515110702e047a6c9da4478b6ead94873c11c0f2d710ddb3f09fce024b3a58502ae3f"),
    ];

    [Fact]
    public void Cacophony_XxVector_AllMessagesAndHandshakeHashMatch()
    {
        using var initStatic = X25519KeyPair.FromPrivateKey(Convert.FromHexString(InitStatic));
        using var initEphemeral = X25519KeyPair.FromPrivateKey(Convert.FromHexString(InitEphemeral));
        using var respStatic = X25519KeyPair.FromPrivateKey(Convert.FromHexString(RespStatic));
        using var respEphemeral = X25519KeyPair.FromPrivateKey(Convert.FromHexString(RespEphemeral));
        using var initiator = new HandshakeState(true, Prologue, initStatic, initEphemeral);
        using var responder = new HandshakeState(false, Prologue, respStatic, respEphemeral);

        Assert.Equal("6bc3822a2aa7f4e6981d6538692b3cdf3e6df9eea6ed269eb41d93c22757b75a", Convert.ToHexStringLower(initStatic.PublicKey));
        Assert.Equal("31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62", Convert.ToHexStringLower(respStatic.PublicKey));

        for (var i = 0; i < HandshakeState.MessageCount; i++)
        {
            var (writer, reader) = i % 2 == 0 ? (initiator, responder) : (responder, initiator);
            var payload = Convert.FromHexString(Messages[i].Payload);
            Assert.True(writer.IsMyTurn);
            var message = new byte[writer.GetMessageLength(payload.Length)];
            var written = writer.WriteMessage(payload, message);
            Assert.Equal(message.Length, written);
            Assert.Equal(Messages[i].Ciphertext, Convert.ToHexStringLower(message));
            Assert.Equal(payload, reader.ReadMessage(message));
        }

        Assert.True(initiator.IsCompleted);
        Assert.True(responder.IsCompleted);
        Assert.Equal(HandshakeHash, Convert.ToHexStringLower(initiator.HandshakeHash));
        Assert.Equal(HandshakeHash, Convert.ToHexStringLower(responder.HandshakeHash));
        Assert.Equal(respStatic.PublicKey, initiator.RemoteStaticKey.ToArray());
        Assert.Equal(initStatic.PublicKey, responder.RemoteStaticKey.ToArray());

        var (iSend, iReceive) = initiator.Split();
        var (rSend, rReceive) = responder.Split();
        using (iSend)
        using (iReceive)
        using (rSend)
        using (rReceive)
        {
            for (var i = HandshakeState.MessageCount; i < Messages.Length; i++)
            {
                // Transport messages keep alternating: responder, initiator, responder.
                var (send, receive) = i % 2 == 0 ? (iSend, rReceive) : (rSend, iReceive);
                var payload = Convert.FromHexString(Messages[i].Payload);
                var message = new byte[payload.Length + CipherState.TagLength];
                send.EncryptWithAd([], payload, message);
                Assert.Equal(Messages[i].Ciphertext, Convert.ToHexStringLower(message));
                var decrypted = new byte[payload.Length];
                Assert.Equal(payload.Length, receive.DecryptWithAd([], message, decrypted));
                Assert.Equal(payload, decrypted);
            }
        }
    }

    [Fact]
    public void ReadMessage_TamperedMessage2_ThrowsHandshakeException()
    {
        using var s1 = X25519KeyPair.Generate();
        using var e1 = X25519KeyPair.Generate();
        using var s2 = X25519KeyPair.Generate();
        using var e2 = X25519KeyPair.Generate();
        using var initiator = new HandshakeState(true, [], s1, e1);
        using var responder = new HandshakeState(false, [], s2, e2);
        var m1 = new byte[initiator.GetMessageLength(0)];
        initiator.WriteMessage([], m1);
        responder.ReadMessage(m1);
        var m2 = new byte[responder.GetMessageLength(3)];
        responder.WriteMessage([1, 2, 3], m2);
        m2[40] ^= 0x01; // inside the encrypted static key

        Assert.Throws<HandshakeException>(() => initiator.ReadMessage(m2));
    }

    [Fact]
    public void ReadMessage_ShorterThanTokens_ThrowsHandshakeException()
    {
        using var s = X25519KeyPair.Generate();
        using var e = X25519KeyPair.Generate();
        using var responder = new HandshakeState(false, [], s, e);

        Assert.Throws<HandshakeException>(() => responder.ReadMessage(new byte[31]));
    }

    [Fact]
    public void WriteMessage_OutOfTurn_Throws()
    {
        using var s = X25519KeyPair.Generate();
        using var e = X25519KeyPair.Generate();
        using var responder = new HandshakeState(false, [], s, e);

        Assert.Throws<InvalidOperationException>(() => responder.WriteMessage([], new byte[128]));
    }
}
