using System.Text;
using PromiseGrid.Mesh.Noise;

namespace PromiseGrid.Mesh.Libp2p.Tests.Noise;

public class NoiseHkdfTests
{
    [Fact]
    public void Derive_JsLibp2pNoiseVector_MatchesThreeOutputs()
    {
        var ck = Encoding.ASCII.GetBytes("Noise_XX_25519_XChaChaPoly_SHA25");
        Assert.Equal("4e6f6973655f58585f32353531395f58436861436861506f6c795f5348413235", Convert.ToHexStringLower(ck));
        var ikm = Convert.FromHexString("a3eae50ea37a47e8a7aa0c7cd8e16528670536dcd538cebfd724fb68ce44f1910ad898860666227d4e8dd50d22a9a64d1c0a6f47ace092510161e9e442953da3");
        var o1 = new byte[32];
        var o2 = new byte[32];
        var o3 = new byte[32];

        NoiseHkdf.Derive(ck, ikm, o1, o2, o3);

        Assert.Equal("cc5659adff12714982f806e2477a8d5ddd071def4c29bb38777b7e37046f6914", Convert.ToHexStringLower(o1));
        Assert.Equal("a16ada915e551ab623f38be674bb4ef15d428ae9d80688899c9ef9b62ef208fa", Convert.ToHexStringLower(o2));
        Assert.Equal("ff67bf9727e31b06efc203907e6786667d2c7a74ac412b4d31a80ba3fd766f68", Convert.ToHexStringLower(o3));
    }

    [Fact]
    public void Derive_OutputAliasesChainingKey_SameResult()
    {
        var ck = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var ikm = new byte[] { 9, 8, 7 };
        var expected1 = new byte[32];
        var expected2 = new byte[32];
        NoiseHkdf.Derive(ck, ikm, expected1, expected2);
        var aliased = (byte[])ck.Clone();
        var second = new byte[32];

        NoiseHkdf.Derive(aliased, ikm, aliased, second);

        Assert.Equal(expected1, aliased);
        Assert.Equal(expected2, second);
    }
}
