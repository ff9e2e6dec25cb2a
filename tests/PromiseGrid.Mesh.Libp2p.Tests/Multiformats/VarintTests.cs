using CsCheck;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Libp2p.Tests.Multiformats;

public class VarintTests
{
    [Theory]
    [InlineData(1UL, "01")]
    [InlineData(127UL, "7f")]
    [InlineData(128UL, "8001")]
    [InlineData(255UL, "ff01")]
    [InlineData(300UL, "ac02")]
    [InlineData(16384UL, "808001")]
    [InlineData(0UL, "00")]
    public void Encode_SpecExamples_MatchBytes(ulong value, string hex)
    {
        Assert.Equal(hex, Convert.ToHexString(Varint.Encode(value)).ToLowerInvariant());
        Assert.Equal(value, Varint.Read(Convert.FromHexString(hex), out var n));
        Assert.Equal(hex.Length / 2, n);
    }

    [Theory]
    [InlineData("8100")]
    [InlineData("ff8000")]
    public void Read_NonMinimal_Throws(string hex) =>
        Assert.Throws<InvalidFormatException>(() => Varint.Read(Convert.FromHexString(hex), out _));

    [Fact]
    public void Read_TenBytes_Throws() =>
        Assert.Throws<InvalidFormatException>(() => Varint.Read(Convert.FromHexString("ffffffffffffffffff01"), out _));

    [Fact]
    public void TryRead_Truncated_ReturnsFalse()
    {
        Assert.False(Varint.TryRead(Convert.FromHexString("8080"), out _, out _));
        Assert.Throws<InvalidFormatException>(() => Varint.Read(Convert.FromHexString("80"), out _));
    }

    [Fact]
    public void Write_AboveMaxValue_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Varint.Encode(ulong.MaxValue));

    [Fact]
    public void RoundTrip_RandomValues_PreserveValueAndLength() =>
        Gen.ULong[0, Varint.MaxValue].Sample(v =>
        {
            var bytes = Varint.Encode(v);
            return bytes.Length == Varint.GetLength(v) && Varint.Read(bytes, out var n) == v && n == bytes.Length;
        });
}
