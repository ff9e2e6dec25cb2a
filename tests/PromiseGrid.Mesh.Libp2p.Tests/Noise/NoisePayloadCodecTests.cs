using System.Text;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Noise;

namespace PromiseGrid.Mesh.Libp2p.Tests.Noise;

/// <summary>The libp2p-wire §5.6 payload example and the payload decoder's tolerance and strictness.</summary>
public class NoisePayloadCodecTests
{
    private const string SpecPrivateKey = "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
    private const string StaticPublicKey = "6bc3822a2aa7f4e6981d6538692b3cdf3e6df9eea6ed269eb41d93c22757b75a";
    private const string Signature = "e292a4b36dcd264cb7933551567462bf4b6bdc79bcc37af23ea723110cf8cfde08000f9e95441ba4fd4b82844305554004fc4be681ce33c277510b6332588c09";
    private const string PayloadPrefix = "0a24080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e1240";
    private const string YamuxExtension = "220e120c2f79616d75782f312e302e30";

    [Fact]
    public void Encode_SpecExample_MatchesSignatureAndBytes()
    {
        using var identity = IdentityKeyPair.Decode(Convert.FromHexString(SpecPrivateKey));
        var signedMessage = NoisePayloadCodec.GetSignedMessage(Convert.FromHexString(StaticPublicKey));
        Assert.Equal(56, signedMessage.Length);
        Assert.Equal("noise-libp2p-static-key:", Encoding.ASCII.GetString(signedMessage, 0, 24));

        var signature = identity.Sign(signedMessage);
        var payload = NoisePayloadCodec.Encode(identity.PublicKey.Encode(), signature);

        Assert.Equal(Signature, Convert.ToHexStringLower(signature));
        Assert.Equal(104, payload.Length);
        Assert.Equal(PayloadPrefix + Signature, Convert.ToHexStringLower(payload));
    }

    [Fact]
    public void Encode_WithStreamMuxers_AppendsExtension()
    {
        var payload = NoisePayloadCodec.Encode(Convert.FromHexString(PayloadPrefix[4..^4]), Convert.FromHexString(Signature), ["/yamux/1.0.0"]);

        Assert.Equal(120, payload.Length);
        Assert.Equal(PayloadPrefix + Signature + YamuxExtension, Convert.ToHexStringLower(payload));
    }

    [Fact]
    public void Decode_SpecExampleWithExtension_ReadsAllFields()
    {
        var decoded = NoisePayloadCodec.Decode(Convert.FromHexString(PayloadPrefix + Signature + YamuxExtension));

        Assert.Equal(PayloadPrefix[4..^4], Convert.ToHexStringLower(decoded.IdentityKey));
        Assert.Equal(Signature, Convert.ToHexStringLower(decoded.IdentitySignature));
        Assert.Equal(["/yamux/1.0.0"], decoded.StreamMuxers);
        var key = PeerPublicKey.Decode(decoded.IdentityKey);
        Assert.True(key.Verify(NoisePayloadCodec.GetSignedMessage(Convert.FromHexString(StaticPublicKey)), decoded.IdentitySignature));
    }

    [Fact]
    public void Decode_UnknownFieldsAndExtensions_Ignored()
    {
        // Field 3 (obsolete libp2p_data), an unknown varint field 9, and an experimental extension 1025.
        var hex = PayloadPrefix + Signature + "1a03010203" + "4801" + "2206" + "8a4003aabbcc";

        var decoded = NoisePayloadCodec.Decode(Convert.FromHexString(hex));

        Assert.Equal(Signature, Convert.ToHexStringLower(decoded.IdentitySignature));
        Assert.Empty(decoded.StreamMuxers);
    }

    [Fact]
    public void Decode_LongerThanAHandshakeMessage_ThrowsInvalidFormat()
    {
        Assert.Throws<InvalidFormatException>(() => NoisePayloadCodec.Decode(new byte[NoisePayloadCodec.MaxPayloadLength + 1]));
    }

    [Theory]
    [InlineData("ffff")] // truncated varint tag
    [InlineData("0a05aabb")] // length runs past the end
    [InlineData("0a0100")] // identity_key only, no signature
    [InlineData("08011240")] // identity_key with the varint wire type
    public void Decode_Malformed_ThrowsInvalidFormat(string hex)
    {
        Assert.Throws<InvalidFormatException>(() => NoisePayloadCodec.Decode(Convert.FromHexString(hex)));
    }
}
