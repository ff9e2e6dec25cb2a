using System.Security.Cryptography;
using System.Text;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Node.Mesh;

namespace PromiseGrid.Mesh.Node.Tests.Mesh;

public class ConnectionManagerTests
{
    internal static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    internal static PeerId Peer(int n) =>
        PeerId.FromBytes([0x12, 0x20, .. SHA256.HashData(Encoding.UTF8.GetBytes("peer-" + n))]);

    /// <summary>Connection n to peer n, opened <paramref name="ageSeconds"/> ago, idle for <paramref name="idleSeconds"/>.</summary>
    internal static ConnectionSnapshot Conn(int n, int streams = 0, double ageSeconds = 3600, double idleSeconds = 60, int? peer = null) =>
        new(n, Peer(peer ?? n), Now.AddSeconds(-ageSeconds), Now.AddSeconds(-idleSeconds), streams);

    private static ConnectionManager Manager(int low = 2, int high = 4, double graceSeconds = 30) =>
        new(new ConnectionManagerOptions { LowWater = low, HighWater = high, GracePeriod = TimeSpan.FromSeconds(graceSeconds) });

    private static long[] Ids(IEnumerable<ConnectionSnapshot> connections) => [.. connections.Select(c => c.ConnectionId)];

    [Fact]
    public void SelectForTrim_AtTheHighWaterMark_ClosesNothing()
    {
        var connections = Enumerable.Range(1, 4).Select(n => Conn(n)).ToArray();
        Assert.Empty(Manager().SelectForTrim(connections, Now));
    }

    [Fact]
    public void SelectForTrim_OneOverTheHighWaterMark_TrimsDownToTheLowWaterMark()
    {
        var connections = Enumerable.Range(1, 5).Select(n => Conn(n)).ToArray();
        Assert.Equal(3, Manager().SelectForTrim(connections, Now).Count);
    }

    [Fact]
    public void SelectForTrim_Defaults_Are32And64()
    {
        var manager = new ConnectionManager();
        Assert.Equal(32, manager.Options.LowWater);
        Assert.Equal(64, manager.Options.HighWater);
        Assert.Empty(manager.SelectForTrim([.. Enumerable.Range(1, 64).Select(n => Conn(n))], Now));
        Assert.Equal(33, manager.SelectForTrim([.. Enumerable.Range(1, 65).Select(n => Conn(n))], Now).Count);
    }

    [Fact]
    public void SelectForTrim_ProtectedPeer_IsNeverClosedEvenIfLowWaterIsMissed()
    {
        var manager = Manager(low: 0, high: 2);
        manager.Protect(Peer(1), "bootstrap");
        manager.Protect(Peer(2), "ports");
        var connections = new[] { Conn(1), Conn(2), Conn(3), Conn(4, peer: 1) };

        Assert.Equal([3L], Ids(manager.SelectForTrim(connections, Now)));
    }

    [Fact]
    public void Unprotect_OneOfTwoTags_KeepsThePeerProtected()
    {
        var manager = Manager();
        manager.Protect(Peer(1), "bootstrap");
        manager.Protect(Peer(1), "ports");

        Assert.True(manager.Unprotect(Peer(1), "ports"));
        Assert.True(manager.IsProtected(Peer(1)));
        Assert.False(manager.Unprotect(Peer(1), "bootstrap"));
        Assert.False(manager.IsProtected(Peer(1)));
        Assert.False(manager.Unprotect(Peer(2), "bootstrap"));
    }

    [Fact]
    public void SelectForTrim_UnprotectedAgain_BecomesACandidate()
    {
        var manager = Manager(low: 0, high: 1);
        manager.Protect(Peer(1), "ports");
        var connections = new[] { Conn(1), Conn(2) };
        Assert.Equal([2L], Ids(manager.SelectForTrim(connections, Now)));

        manager.Unprotect(Peer(1), "ports");

        Assert.Equal([1L, 2L], Ids(manager.SelectForTrim(connections, Now)).Order());
    }

    [Fact]
    public void SelectForTrim_ConnectionsInTheirGracePeriod_AreSpared()
    {
        var manager = Manager(low: 0, high: 2, graceSeconds: 30);
        var connections = new[] { Conn(1, ageSeconds: 29.9), Conn(2, ageSeconds: 30), Conn(3, ageSeconds: 1) };

        Assert.Equal([2L], Ids(manager.SelectForTrim(connections, Now)));
    }

    [Fact]
    public void SelectForTrim_FewestStreamsFirst()
    {
        var manager = Manager(low: 1, high: 3);
        var connections = new[] { Conn(1, streams: 3), Conn(2, streams: 0), Conn(3, streams: 5), Conn(4, streams: 1) };

        Assert.Equal([2L, 4L, 1L], Ids(manager.SelectForTrim(connections, Now)));
    }

    [Fact]
    public void SelectForTrim_SameStreamCount_LongestIdleFirst()
    {
        var manager = Manager(low: 2, high: 3);
        var connections = new[] { Conn(1, idleSeconds: 10), Conn(2, idleSeconds: 500), Conn(3, idleSeconds: 100), Conn(4, idleSeconds: 1) };

        Assert.Equal([2L, 3L], Ids(manager.SelectForTrim(connections, Now)));
    }

    [Fact]
    public void SelectForTrim_EqualOtherwise_OldestThenLowestIdFirst()
    {
        var manager = Manager(low: 1, high: 2);
        var connections = new[] { Conn(3, ageSeconds: 100), Conn(1, ageSeconds: 100), Conn(2, ageSeconds: 900) };

        Assert.Equal([2L, 1L], Ids(manager.SelectForTrim(connections, Now)));
    }

    [Fact]
    public void SelectForTrim_ProtectedAndNewCountTowardsTheTotal()
    {
        // 6 connections, low 3: three must go; two are protected or new, so the three others go.
        var manager = Manager(low: 3, high: 5);
        manager.Protect(Peer(1), "bootstrap");
        var connections = new[] { Conn(1), Conn(2, ageSeconds: 5), Conn(3), Conn(4), Conn(5), Conn(6, streams: 9) };

        Assert.Equal([3L, 4L, 5L], Ids(manager.SelectForTrim(connections, Now)));
    }

    public static TheoryData<ConnectionManagerOptions> OutOfRange => new()
    {
        new ConnectionManagerOptions { LowWater = -1 },
        new ConnectionManagerOptions { LowWater = 10, HighWater = 10 },
        new ConnectionManagerOptions { GracePeriod = TimeSpan.FromSeconds(-1) },
        new ConnectionManagerOptions { TrimInterval = TimeSpan.Zero },
    };

    [Theory]
    [MemberData(nameof(OutOfRange))]
    public void Constructor_OutOfRangeOptions_Throws(ConnectionManagerOptions options) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConnectionManager(options));

    [Fact]
    public void Protect_EmptyTag_Throws() =>
        Assert.Throws<ArgumentException>(() => Manager().Protect(Peer(1), ""));
}
