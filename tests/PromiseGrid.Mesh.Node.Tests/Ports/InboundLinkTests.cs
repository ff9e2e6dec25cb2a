using PromiseGrid.Mesh.Node.Ports;

namespace PromiseGrid.Mesh.Node.Tests.Ports;

/// <summary>What a server remembers of one client's requests, and how confirms prune it.</summary>
public class InboundLinkTests
{
    [Fact]
    public void Confirm_ARecentStretch_ForgetsItAndKeepsTheRest()
    {
        var link = new InboundLink(TestPeers.Local, epoch: 1);
        for (ulong seq = 1; seq <= 10; seq++)
        {
            link.Seen[seq] = ServerOutcome.Acked;
        }

        link.Confirm(4);

        Assert.Equal(4UL, link.Confirmed);
        Assert.Equal(new ulong[] { 5, 6, 7, 8, 9, 10 }, link.Seen.Keys.Order());
    }

    [Fact]
    public void Confirm_FarBeyondWhatWasSeen_ForgetsEverythingAtOrBelowIt()
    {
        var link = new InboundLink(TestPeers.Local, epoch: 1);
        link.Seen[3] = ServerOutcome.Acked;
        link.Seen[900] = ServerOutcome.Acked;

        link.Confirm(500);

        Assert.Equal(new ulong[] { 900 }, link.Seen.Keys);
    }

    [Fact]
    public void Confirm_UpToTheLargestNumber_EndsAndForgetsEverything()
    {
        // A client may send any number: counting up to ulong.MaxValue must not wrap round.
        var link = new InboundLink(TestPeers.Local, epoch: 1);
        link.Confirm(ulong.MaxValue - 3);
        for (var seq = ulong.MaxValue - 2; seq != 0; seq++)
        {
            link.Seen[seq] = ServerOutcome.Acked;
        }

        link.Confirm(ulong.MaxValue);

        Assert.Empty(link.Seen);
        Assert.Equal(ulong.MaxValue, link.Confirmed);
    }
}
