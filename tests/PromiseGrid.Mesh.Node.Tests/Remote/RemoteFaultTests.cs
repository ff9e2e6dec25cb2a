using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Node.Tests.Remote;

/// <summary>Broken connections and restarted nodes in the middle of a stream of sends (in process; the process-level versions live in the integration tests).</summary>
public sealed class RemoteFaultTests : MeshNodesFixture
{
    private const int Count = 10_000;

    [Fact]
    public async Task ConnectionCutTwiceMidStream_EveryMessageAcknowledged_EnqueuedExactlyOnceInOrder()
    {
        var (a, b, server, inbox, client) = await PairAsync(qlimit: 1024);
        var send = await a.Ports.LookupAsync(client, b.PeerId, "inbox").AsTask().WaitAsync(Timeout);

        var received = new List<int>(Count);
        var ackedAtFirstCut = 0L;
        var receiving = Task.Run(async () =>
        {
            while (received.Count < Count)
            {
                var m = await server.ReceiveMessageAsync(inbox, Timeout);
                lock (received)
                {
                    received.Add(m.MessageId);
                }

                if (received.Count is 2000 or 6000)
                {
                    if (received.Count == 6000)
                    {
                        // B's receiver may get here before A noticed the first cut: cut again only once
                        // A's link is back (acknowledgements flow again), so two live streams are cut.
                        await EventuallyAsync(() => a.Ports.Counters.Acked > ackedAtFirstCut, "A's link is back after the first cut");
                    }

                    ackedAtFirstCut = a.Ports.Counters.Acked;
                    foreach (var connection in a.Host.GetConnections(b.PeerId))
                    {
                        connection.Abort(new IOException("cut by the test"));
                    }
                }
            }
        });
        var sends = new Task[Count];
        for (var i = 0; i < Count; i++)
        {
            sends[i] = client.SendMessageAsync(Text(send, "x", i), Timeout).AsTask();
        }

        await Task.WhenAll(sends).WaitAsync(Timeout * 2);
        await receiving.WaitAsync(Timeout);

        Assert.Equal(Enumerable.Range(0, Count), received);
        Assert.True(a.Ports.Counters.Reconnects >= 2, $"reconnects {a.Ports.Counters.Reconnects}");
        Assert.Empty(a.Kernel.CheckInvariants());
        Assert.Empty(b.Kernel.CheckInvariants());
    }

    [Fact]
    public async Task ReceivingNodeRestartedMidStream_AcknowledgedWereEnqueued_TheRestFailWithTypedErrors()
    {
        const int qlimit = 64;
        var identity = IdentityKeyPair.Generate();
        var (a, b, server, inbox, client) = await PairAsync(qlimit, identity);
        var listen = b.Host.ListenAddresses[0].ToString();
        var send = await a.Ports.LookupAsync(client, b.PeerId, "inbox").AsTask().WaitAsync(Timeout);

        var received = new List<int>();
        var firstHalf = new TaskCompletionSource();
        var receiving = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var m = await server.ReceiveMessageAsync(inbox, Timeout);
                    received.Add(m.MessageId);
                    if (received.Count == 3000)
                    {
                        firstHalf.TrySetResult();
                    }
                }
            }
            catch (MeshException)
            {
                // The port died with its node.
            }
            catch (ObjectDisposedException)
            {
            }
        });
        var sends = new Task[Count];
        for (var i = 0; i < Count; i++)
        {
            sends[i] = client.SendMessageAsync(Text(send, "x", i), TimeSpan.FromSeconds(15)).AsTask();
        }

        await firstHalf.Task.WaitAsync(Timeout);
        await StopNodeAsync(b);
        await receiving.WaitAsync(Timeout);
        var restarted = await StartNodeAsync(identity: identity, listen: listen);
        await Task.WhenAll(sends.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default))).WaitAsync(Timeout * 2);

        var acked = Enumerable.Range(0, Count).Where(i => sends[i].IsCompletedSuccessfully).ToHashSet();
        var failures = Enumerable.Range(0, Count).Where(i => !sends[i].IsCompletedSuccessfully).Select(i => (Id: i, Error: sends[i].Exception!.InnerException!)).ToList();
        Assert.All(failures, f => Assert.IsAssignableFrom<MeshException>(f.Error));
        Assert.Equal(Count, acked.Count + failures.Count);

        // Received: each once, in order; every acknowledged message reached the queue (those not
        // received were still queued when the node died: at most qlimit of them).
        Assert.Equal(received.Distinct().Count(), received.Count);
        Assert.True(received.SequenceEqual(received.Order()), "received out of order");
        Assert.True(acked.Except(received).Count() <= qlimit, $"{acked.Except(received).Count()} acknowledged but not received");
        var receivedButFailed = failures.Where(f => received.Contains(f.Id)).ToList();
        Assert.All(receivedButFailed, f => Assert.True(f.Error is NodeUnreachableException { MayHaveBeenDelivered: true }, $"{f.Id}: {f.Error}"));
        Assert.All(failures, f => Assert.True(f.Error is NodeUnreachableException or PortDeadException, f.Error.ToString()));

        // The restarted node is a new epoch: the old port is dead there, and the right here is a dead name.
        await Assert.ThrowsAsync<PortDeadException>(() => client.SendMessageAsync(Text(send, "after"), Timeout).AsTask());
        Assert.True(client.GetRightTypes(send).HasFlag(PortRightTypes.DeadName));
        var again = restarted.Kernel.CreateTask();
        var newInbox = again.CreatePort();
        restarted.Ports.Publish(again, newInbox, "inbox");
        var fresh = await a.Ports.LookupAsync(client, restarted.PeerId, "inbox").AsTask().WaitAsync(Timeout);
        await client.SendMessageAsync(Text(fresh, "hello again"), Timeout);
        Assert.Equal("hello again", TextOf(await ReceiveAsync(again, newInbox)));
    }
}
