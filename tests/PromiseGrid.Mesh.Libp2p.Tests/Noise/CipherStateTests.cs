using System.Security.Cryptography;
using PromiseGrid.Mesh.Noise;

namespace PromiseGrid.Mesh.Libp2p.Tests.Noise;

public class CipherStateTests
{
    private static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

    [Fact]
    public void EncryptWithAd_NonceIsFourZeroBytesThenLittleEndianCounter()
    {
        using var state = new CipherState(Key) { Nonce = 0x0102030405060708 };
        byte[] plaintext = [10, 20, 30];
        var message = new byte[plaintext.Length + 16];

        state.EncryptWithAd([0xaa], plaintext, message);

        using var reference = new ChaCha20Poly1305(Key);
        byte[] nonce = [0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1];
        var expected = new byte[plaintext.Length];
        var tag = new byte[16];
        reference.Encrypt(nonce, plaintext, expected, tag, new byte[] { 0xaa });
        Assert.Equal(expected.Concat(tag).ToArray(), message);
        Assert.Equal(0x0102030405060709UL, state.Nonce);
    }

    [Fact]
    public void EncryptWithAd_NoKey_PassesPlaintextThrough()
    {
        using var state = new CipherState();
        var output = new byte[3];

        Assert.Equal(3, state.EncryptWithAd([], [1, 2, 3], output));
        Assert.Equal(new byte[] { 1, 2, 3 }, output);
    }

    [Fact]
    public void Encrypt_PastNonceLimit_ThrowsLimitExceeded()
    {
        using var state = new CipherState(Key) { Nonce = ulong.MaxValue - 1 };
        var buffer = new byte[16];

        state.Encrypt([], [], buffer); // the last usable nonce, 2^64-2
        Assert.Equal(ulong.MaxValue, state.Nonce);
        Assert.Throws<LimitExceededException>(() => state.Encrypt([], [], buffer));
    }

    [Fact]
    public void TryDecrypt_PastNonceLimit_ThrowsLimitExceeded()
    {
        using var state = new CipherState(Key) { Nonce = ulong.MaxValue };

        Assert.Throws<LimitExceededException>(() => state.TryDecrypt([], [], new byte[16], []));
    }

    [Fact]
    public void DecryptWithAd_Tampered_ReturnsMinusOneAndKeepsNonce()
    {
        using var sender = new CipherState(Key);
        using var receiver = new CipherState(Key);
        var message = new byte[5 + 16];
        sender.EncryptWithAd([], [1, 2, 3, 4, 5], message);
        message[2] ^= 0x80;

        Assert.Equal(-1, receiver.DecryptWithAd([], message, new byte[5]));
        Assert.Equal(0UL, receiver.Nonce);

        message[2] ^= 0x80;
        var plaintext = new byte[5];
        Assert.Equal(5, receiver.DecryptWithAd([], message, plaintext));
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, plaintext);
        Assert.Equal(1UL, receiver.Nonce);
    }

    [Fact]
    public void Encrypt_InPlace_RoundTrips()
    {
        using var sender = new CipherState(Key);
        using var receiver = new CipherState(Key);
        var data = Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray();
        var buffer = (byte[])data.Clone();
        var tag = new byte[16];

        sender.Encrypt(buffer, buffer, tag);
        Assert.NotEqual(data, buffer);
        Assert.True(receiver.TryDecrypt([], buffer, tag, buffer));

        Assert.Equal(data, buffer);
    }
}
