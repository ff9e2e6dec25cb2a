using PromiseGrid.Mesh.Discovery.Bootstrap;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.Tests.Bootstrap;

public class BootstrapOptionsTests
{
    [Fact]
    public void Default_Values_MatchTheDocumentedDefaults()
    {
        var o = BootstrapOptions.Default;
        Assert.Empty(o.Peers);
        Assert.Equal(TimeSpan.FromSeconds(1), o.InitialBackoff);
        Assert.Equal(TimeSpan.FromSeconds(60), o.MaxBackoff);
        Assert.Equal(0.2, o.Jitter);
        Assert.Same(TimeProvider.System, o.TimeProvider);
        o.Validate();
    }

    [Theory]
    [InlineData("/ip4/127.0.0.1/tcp/4001")]
    [InlineData("/ip4/10.0.0.1/tcp/4001/p2p-circuit")]
    public void Validate_AddressWithoutP2p_Throws(string address)
    {
        var options = new BootstrapOptions { Peers = [Multiaddr.Parse(address)] };
        var e = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains(address, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_P2pOnlyAddress_Throws()
    {
        var options = new BootstrapOptions { Peers = [Multiaddr.Parse("/p2p/" + TestPeers.Id(1))] };
        Assert.Throws<ArgumentException>(options.Validate);
    }

    [Fact]
    public void Validate_SamePeerTwice_Throws()
    {
        var options = new BootstrapOptions
        {
            Peers = [TestPeers.Address(1), Multiaddr.Parse("/ip4/10.0.0.9/tcp/1").WithPeerId(TestPeers.Id(1))],
        };
        Assert.Throws<ArgumentException>(options.Validate);
    }

    [Fact]
    public void Constructor_BadAddress_RejectsBeforeAnyDial()
    {
        var dialer = new ScriptedDialer();
        var options = new BootstrapOptions { Peers = [TestPeers.Address(1), Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001")] };
        Assert.Throws<ArgumentException>(() => new BootstrapDialer(options, dialer));
        Assert.False(dialer.TryGetAttempt(out _));
    }

    public static TheoryData<BootstrapOptions> OutOfRange => new()
    {
        new BootstrapOptions { InitialBackoff = TimeSpan.Zero },
        new BootstrapOptions { InitialBackoff = TimeSpan.FromSeconds(10), MaxBackoff = TimeSpan.FromSeconds(5) },
        new BootstrapOptions { Jitter = 1.0 },
        new BootstrapOptions { Jitter = -0.1 },
        new BootstrapOptions { Multiplier = 0.5 },
        new BootstrapOptions { Multiplier = double.NaN },
        new BootstrapOptions { DialTimeout = TimeSpan.Zero },
        new BootstrapOptions { StableConnection = TimeSpan.FromSeconds(-1) },
    };

    [Theory]
    [MemberData(nameof(OutOfRange))]
    public void Validate_OutOfRangeValue_Throws(BootstrapOptions options) =>
        Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
}
