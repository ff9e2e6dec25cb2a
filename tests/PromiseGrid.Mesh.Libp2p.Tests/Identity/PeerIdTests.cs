using PromiseGrid.Mesh.Identity;

namespace PromiseGrid.Mesh.Libp2p.Tests.Identity;

public class PeerIdTests
{
    private const string Ed25519PrivateHex = "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
    private const string Ed25519PublicHex = "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
    private const string RsaPublicHex = "080012a60430820222300d06092a864886f70d01010105000382020f003082020a0282020100e1beab071d08200bde24eef00d049449b07770ff9910257b2d7d5dda242ce8f0e2f12e1af4b32d9efd2c090f66b0f29986dbb645dae9880089704a94e5066d594162ae6ee8892e6ec70701db0a6c445c04778eb3de1293aa1a23c3825b85c6620a2bc3f82f9b0c309bc0ab3aeb1873282bebd3da03c33e76c21e9beb172fd44c9e43be32e2c99827033cf8d0f0c606f4579326c930eb4e854395ad941256542c793902185153c474bed109d6ff5141ebf9cd256cf58893a37f83729f97e7cb435ec679d2e33901d27bb35aa0d7e20561da08885ef0abbf8e2fb48d6a5487047a9ecb1ad41fa7ed84f6e3e8ecd5d98b3982d2a901b4454991766da295ab78822add5612a2df83bcee814cf50973e80d7ef38111b1bd87da2ae92438a2c8cbcc70b31ee319939a3b9c761dbc13b5c086d6b64bf7ae7dacc14622375d92a8ff9af7eb962162bbddebf90acb32adb5e4e4029f1c96019949ecfbfeffd7ac1e3fbcc6b6168c34be3d5a2e5999fcbb39bba7adbca78eab09b9bc39f7fa4b93411f4cc175e70c0a083e96bfaefb04a9580b4753c1738a6a760ae1afd851a1a4bdad231cf56e9284d832483df215a46c1c21bdf0c6cfe951c18f1ee4078c79c13d63edb6e14feaeffabc90ad317e4875fe648101b0864097e998f0ca3025ef9638cd2b0caecd3770ab54a1d9c6ca959b0f5dcbc90caeefc4135baca6fd475224269bbe1b0203010001";
    private const string Secp256k1PublicHex = "08021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99";
    private const string EcdsaPublicHex = "0803125b3059301306072a8648ce3d020106082a8648ce3d03010703420004de3d300fa36ae0e8f5d530899d83abab44abf3161f162a4bc901d8e6ecda020e8b6d5f8da30525e71d6851510c098e5c47c646a597fb4dcec034e9f77c409e62";

    [Theory]
    [InlineData(Ed25519PublicHex, "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq", "bafzaajaiaejcahwr5d5ofrfbis4l5d6uwr57hu5tjodrypfm6yaq6dsc2r2pzyt6")]
    [InlineData(Secp256k1PublicHex, "16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY", "bafzaajiiaijcca3xo7uzjzcsyilaj6i54cj44qk7kqzpoao5rti2pjx6udtdbp6kte")]
    [InlineData(EcdsaPublicHex, "QmVMT29id3TUASyfZZ6k9hmNyc2nYabCo4uMSpDw4zrgDk", "bafzbeidigywdclqvl5hxfefwp5onbffcfife7pza57mmfb4tiqmtkdjw64")]
    [InlineData(RsaPublicHex, "QmaeANgBs1DTSxWSrPPtobgQuxW8XTfsS4ydbK4rCHzqxG", "bafzbeifwzcumbiyql7bhv7fe7mixg6i7aohegq75k234m63bnw6dbicmzu")]
    public void FromPublicKey_SpecKeys_MatchBothTextForms(string publicKeyHex, string base58, string cid)
    {
        var key = PeerPublicKey.Decode(Convert.FromHexString(publicKeyHex));
        var id = key.ToPeerId();
        Assert.Equal(base58, id.ToString());
        Assert.Equal(cid, id.ToCidString());
        Assert.Equal(id, PeerId.Parse(base58));
        Assert.Equal(id, PeerId.Parse(cid));
        Assert.Equal(publicKeyHex, Convert.ToHexString(key.Encode()).ToLowerInvariant());
    }

    [Fact]
    public void Parse_SpecExample_BothFormsAreTheSameId()
    {
        var a = PeerId.Parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N");
        var b = PeerId.Parse("bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe");
        Assert.Equal(a, b);
        Assert.Equal("12209dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21bf6f0b9", Convert.ToHexString(a.Bytes).ToLowerInvariant());
    }

    [Fact]
    public void IdentityKeyPair_SpecPrivateKey_DerivesSpecPublicKeyAndReEncodes()
    {
        using var pair = IdentityKeyPair.Decode(Convert.FromHexString(Ed25519PrivateHex));
        Assert.Equal(Ed25519PublicHex, Convert.ToHexString(pair.PublicKey.Encode()).ToLowerInvariant());
        Assert.Equal("12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq", pair.PeerId.ToString());
        Assert.Equal(Ed25519PrivateHex, Convert.ToHexString(pair.Encode()).ToLowerInvariant());
        Assert.True(pair.PeerId.TryGetPublicKey(out var inlined));
        Assert.Equal(pair.PublicKey, inlined);
    }

    [Fact]
    public void Sign_SpecSigningExample_MatchesSignature()
    {
        // libp2p/specs http/peer-id-auth.md "Signing Example": seed 01 x 32.
        using var pair = IdentityKeyPair.FromSeed(Enumerable.Repeat((byte)1, 32).ToArray());
        var message = Convert.FromHexString("6c69627032702d5065657249443d6368616c6c656e67652d7365727665723d455245524552455245524552455245524552455245524552455245524552455245524552455245524552453d36636c69656e742d7075626c69632d6b65793d080112208139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b39414686f73746e616d653d6578616d706c652e636f6d");
        var expected = Convert.FromBase64String("UA88qZbLUzmAxrD9KECbDCgSKAUBAvBHrOCF2X0uPLR1uUCF7qGfLPc7dw3Olo+LaFCDpk5sXN7TkLWPVvuXAA==");
        Assert.Equal(expected, pair.Sign(message));
        Assert.True(pair.PublicKey.Verify(message, expected));
        message[0] ^= 1;
        Assert.False(pair.PublicKey.Verify(message, expected));
        Assert.Equal("12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5", pair.PeerId.ToString());
    }

    [Theory]
    [InlineData("00")]
    [InlineData("1220aabb")]
    [InlineData("0024080112201ed1")]
    [InlineData("1320" + "00000000000000000000000000000000000000000000000000000000000000000000")]
    public void FromBytes_Malformed_ThrowsInvalidFormat(string hex) =>
        Assert.Throws<InvalidFormatException>(() => PeerId.FromBytes(Convert.FromHexString(hex)));

    [Theory]
    [InlineData("")]
    [InlineData("12D3KooW0000")]
    [InlineData("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi")]
    [InlineData("hello")]
    public void Parse_Malformed_ThrowsInvalidFormat(string text) =>
        Assert.Throws<InvalidFormatException>(() => PeerId.Parse(text));

    [Fact]
    public void LoadOrCreate_NewFile_IsOwnerOnlyAndReloadsSameId()
    {
        var dir = Directory.CreateTempSubdirectory("pgm-key-");
        try
        {
            var path = Path.Combine(dir.FullName, "sub", "identity.key");
            string first;
            using (var created = IdentityKeyPair.LoadOrCreate(path))
            {
                first = created.PeerId.ToString();
            }

            using var loaded = IdentityKeyPair.LoadOrCreate(path);
            Assert.Equal(first, loaded.PeerId.ToString());
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Decode_PrivateKeyWithWrongPublicHalf_Throws()
    {
        var bytes = Convert.FromHexString(Ed25519PrivateHex);
        bytes[^1] ^= 0xff;
        Assert.Throws<InvalidFormatException>(() => IdentityKeyPair.Decode(bytes));
    }
}
