using PromiseGrid.Mesh.Discovery.Mdns;

namespace PromiseGrid.Mesh.Discovery.Tests.Mdns;

/// <summary>Interface selection only: nothing here opens a socket (real multicast runs in namespaces, see <see cref="MdnsNamespaceTests"/>).</summary>
public class MulticastTransportTests
{
    [Fact]
    public void ResolveInterfaces_UnknownName_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => MulticastTransport.ResolveInterfaces(["pgm-no-such-if"]));

        Assert.Contains("pgm-no-such-if", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ResolveInterfaces_ExplicitLoopback_IsAccepted()
    {
        var iface = Assert.Single(MulticastTransport.ResolveInterfaces(["lo"]));

        Assert.True(iface.IsLoopback);
        Assert.Equal("lo", iface.Name);
        Assert.True(iface.Index > 0);
    }

    [Fact]
    public void ResolveInterfaces_Default_ExcludesLoopback()
    {
        try
        {
            Assert.DoesNotContain(MulticastTransport.ResolveInterfaces([]), i => i.IsLoopback);
        }
        catch (ArgumentException)
        {
            // a machine with no multicast interface besides lo: also correct
        }
    }
}
