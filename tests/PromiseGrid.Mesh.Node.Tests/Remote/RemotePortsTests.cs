using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Node.Tests.Remote;

/// <summary>Sends between two nodes: acknowledgement, order, request/reply, typed refusals.</summary>
public sealed class RemotePortsTests : MeshNodesFixture
{
    [Fact]
    public async Task Send_ToAPublishedPortOnAnotherNode_ArrivesWithTheSenderInTheTrailer()
    {
        var (a, b, server, inbox, client) = await PairAsync();

        var send = await a.Ports.LookupAsync(client, b.Ports.GetPortRef(server, inbox)).AsTask().WaitAsync(Timeout);
        await client.SendMessageAsync(Text(send, "Hello, Node B!", 7)).AsTask().WaitAsync(Timeout);

        // Acknowledged means enqueued: the message is there without waiting.
        var received = await server.ReceiveMessageAsync(inbox, TimeSpan.Zero);
        Assert.Equal("Hello, Node B!", TextOf(received));
        Assert.Equal(7, received.MessageId);
        Assert.Equal(a.PeerId, received.Trailer.SenderNode);
        Assert.Equal(client.Id, received.Trailer.SenderTask);
    }

    [Fact]
    public async Task ManySendsInFlight_AllAcknowledged_EnqueuedOnceInSendOrder()
    {
        var (a, b, server, inbox, client) = await PairAsync(qlimit: 4096);
        var send = await a.Ports.LookupAsync(client, b.PeerId, "inbox").AsTask().WaitAsync(Timeout);
        const int count = 3000;

        var sends = new List<Task>(count);
        for (var i = 0; i < count; i++)
        {
            sends.Add(client.SendMessageAsync(Text(send, "m", i)).AsTask());
        }

        var receiving = Task.Run(async () =>
        {
            var ids = new List<int>(count);
            while (ids.Count < count)
            {
                ids.Add((await server.ReceiveMessageAsync(inbox, Timeout)).MessageId);
            }

            return ids;
        });
        await Task.WhenAll(sends).WaitAsync(Timeout);
        var ids = await receiving.WaitAsync(Timeout);

        Assert.Equal(Enumerable.Range(0, count), ids);
        Assert.Equal(count + 1, a.Ports.Counters.Acked); // the lookup too
        Assert.Empty(b.Kernel.CheckInvariants());
        Assert.Empty(a.Kernel.CheckInvariants());
    }

    [Fact]
    public async Task SendsInRounds_PooledRequestsReused_EveryMessageOnceInOrder()
    {
        var (a, b, server, inbox, client) = await PairAsync(qlimit: 4096);
        var send = await a.Ports.LookupAsync(client, b.PeerId, "inbox").AsTask().WaitAsync(Timeout);
        const int rounds = 4;
        const int each = 500;

        for (var round = 0; round < rounds; round++)
        {
            var sends = new List<Task>(each);
            for (var i = 0; i < each; i++)
            {
                sends.Add(client.SendMessageAsync(Text(send, $"m{round}", (round * each) + i), Timeout).AsTask());
            }

            await Task.WhenAll(sends).WaitAsync(Timeout);

            // Every request of the round goes back to the pool (once the link has settled it too).
            var pool = a.Ports.Requests;
            await EventuallyAsync(() => pool.Count == pool.Created, "every request is back in the pool");
        }

        // Never more requests than were in flight at once: the later rounds took them again.
        Assert.InRange(a.Ports.Requests.Created, 1, each);
        for (var id = 0; id < rounds * each; id++)
        {
            var m = await ReceiveAsync(server, inbox);
            Assert.Equal(id, m.MessageId);
            Assert.Equal($"m{id / each}", TextOf(m));
        }

        await Assert.ThrowsAsync<ReceiveTimeoutException>(() => server.ReceiveMessageAsync(inbox, TimeSpan.Zero).AsTask());
        Assert.Empty(b.Kernel.CheckInvariants());
        Assert.Empty(a.Kernel.CheckInvariants());
    }

    [Fact]
    public async Task SendsToAFullPort_WaitAtItsHome_AcknowledgedWhenEnqueuedInOrder_ThenATimeoutIsTyped()
    {
        var (a, b, server, inbox, client) = await PairAsync(qlimit: 2);
        var send = await a.Ports.LookupAsync(client, b.PeerId, "inbox").AsTask().WaitAsync(Timeout);
        const int count = 300;

        // Twice, so the waits of the second round reuse those of the first.
        for (var round = 0; round < 2; round++)
        {
            var sends = Enumerable.Range(0, count).Select(i => client.SendMessageAsync(Text(send, "m", i), Timeout).AsTask()).ToList();
            await Task.WhenAll(sends.Take(2)).WaitAsync(Timeout);

            // The rest wait at the home for room: none can be acknowledged before the queue moves.
            Assert.DoesNotContain(sends.Skip(2), t => t.IsCompleted);
            for (var i = 0; i < count; i++)
            {
                Assert.Equal(i, (await ReceiveAsync(server, inbox)).MessageId);
            }

            await Task.WhenAll(sends).WaitAsync(Timeout);
        }

        await client.SendMessageAsync(Text(send, "fill", 1)).AsTask().WaitAsync(Timeout);
        await client.SendMessageAsync(Text(send, "fill", 2)).AsTask().WaitAsync(Timeout);
        await Assert.ThrowsAsync<SendTimeoutException>(() => client.SendMessageAsync(Text(send, "late", 3), TimeSpan.FromMilliseconds(200)).AsTask().WaitAsync(Timeout));
        Assert.Equal(1, (await ReceiveAsync(server, inbox)).MessageId);
        Assert.Equal(2, (await ReceiveAsync(server, inbox)).MessageId);
        await Assert.ThrowsAsync<ReceiveTimeoutException>(() => server.ReceiveMessageAsync(inbox, TimeSpan.Zero).AsTask());
        Assert.Empty(b.Kernel.CheckInvariants());
        Assert.Empty(a.Kernel.CheckInvariants());
    }

    [Fact]
    public async Task ConcurrentSendersOnManyThreads_NoStreamIsCorrupted_EachSendersOrderHolds()
    {
        var (a, b, server, inbox, _) = await PairAsync(qlimit: 1024);
        const int senders = 4;
        const int each = 20_000;
        var receiving = Task.Run(async () =>
        {
            var got = new List<(ulong Task, int Id)>(senders * each);
            while (got.Count < senders * each)
            {
                var m = await server.ReceiveMessageAsync(inbox, Timeout);
                got.Add((m.Trailer.SenderTask, m.MessageId));
            }

            return got;
        });

        // Each sender on its own thread, all on one link: inline writers and the writer loop race for the stream.
        var sending = Enumerable.Range(0, senders).Select(_ => Task.Run(async () =>
        {
            var task = a.Kernel.CreateTask();
            var send = await a.Ports.LookupAsync(task, b.PeerId, "inbox");
            var window = new Queue<Task>();
            for (var i = 0; i < each; i++)
            {
                window.Enqueue(task.SendMessageAsync(Text(send, "c", i)).AsTask());
                if (window.Count >= 2048)
                {
                    await window.Dequeue();
                }
            }

            await Task.WhenAll(window);
        })).ToArray();
        await Task.WhenAll(sending).WaitAsync(Timeout);
        var got = await receiving.WaitAsync(Timeout);

        Assert.Equal(0, a.Ports.Counters.Reconnects);
        Assert.Equal(0, a.Ports.Counters.Resent);
        foreach (var perSender in got.GroupBy(g => g.Task))
        {
            Assert.Equal(Enumerable.Range(0, each), perSender.Select(g => g.Id));
        }

        Assert.Equal(senders, got.Select(g => g.Task).Distinct().Count());
    }

    [Fact]
    public async Task RequestReply_ThroughASendOnceReplyPort_ReplyComesBack()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        Introduce(a, b);
        var server = b.Kernel.CreateTask();
        var service = server.CreatePort();
        b.Ports.Publish(server, service, "echo");
        var serving = Task.Run(async () =>
        {
            var request = await server.ReceiveMessageAsync(service, Timeout);
            Assert.Equal(PortDisposition.PortSendOnce, request.ReplyDisposition);
            await server.SendMessageAsync(new PortMessage
            {
                Destination = request.ReplyPort,
                DestinationDisposition = PortDisposition.MoveSendOnce,
                Payload = request.Payload,
                MessageId = request.MessageId + 1,
            }, Timeout);
        });
        var client = a.Kernel.CreateTask();
        var send = await a.Ports.LookupAsync(client, b.PeerId, "echo").AsTask().WaitAsync(Timeout);
        var reply = client.CreatePort();
        var message = Text(send, "ping", 41);
        message.ReplyPort = reply;
        message.ReplyDisposition = PortDisposition.MakeSendOnce;

        await client.SendMessageAsync(message, Timeout);
        var answer = await ReceiveAsync(client, reply);
        await serving.WaitAsync(Timeout);

        Assert.Equal("ping", TextOf(answer));
        Assert.Equal(42, answer.MessageId);
        Assert.Equal(b.PeerId, answer.Trailer.SenderNode);
        Assert.Equal(0, client.GetStatus(reply).SendOnceRights);
        Assert.Empty(a.Kernel.CheckInvariants());
        Assert.Empty(b.Kernel.CheckInvariants());
    }

    [Fact]
    public async Task Lookup_OfAnUnpublishedPort_IsRefusedWithNoRight()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        Introduce(a, b);
        var server = b.Kernel.CreateTask();
        var hidden = server.CreatePort();
        var client = a.Kernel.CreateTask();

        await Assert.ThrowsAsync<NoRightException>(() => a.Ports.LookupAsync(client, b.Ports.GetPortRef(server, hidden)).AsTask().WaitAsync(Timeout));
        await Assert.ThrowsAsync<PortDeadException>(() => a.Ports.LookupAsync(client, new PortRef(b.PeerId, PortId.NewRandom())).AsTask().WaitAsync(Timeout));
        await Assert.ThrowsAsync<PortDeadException>(() => a.Ports.LookupAsync(client, b.PeerId, "nothing").AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task Send_ToAPortThatDied_FailsWithPortDeadAndTheRightBecomesADeadName()
    {
        var (a, b, server, inbox, client) = await PairAsync();
        var send = await a.Ports.LookupAsync(client, b.PeerId, "inbox").AsTask().WaitAsync(Timeout);
        await client.SendMessageAsync(Text(send, "first"), Timeout);

        server.DestroyPort(inbox);

        // The home tells the holder; a send after that fails at once, and the name is a dead name.
        await EventuallyAsync(() => client.GetRightTypes(send).HasFlag(PortRightTypes.DeadName), "the send right became a dead name");
        await Assert.ThrowsAsync<PortDeadException>(() => client.SendMessageAsync(Text(send, "second"), Timeout).AsTask());
    }

    [Fact]
    public async Task Send_WithoutAnyRight_IsRefusedByTheHome()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        Introduce(a, b);
        var server = b.Kernel.CreateTask();
        var inbox = server.CreatePort();
        var client = a.Kernel.CreateTask();

        // A reference alone (here forged into the kernel) is not a capability.
        var forged = a.Kernel.InsertRemoteSendRight(client, b.Ports.GetPortRef(server, inbox));
        await Assert.ThrowsAsync<NoRightException>(() => client.SendMessageAsync(Text(forged, "let me in"), Timeout).AsTask());
        Assert.Throws<ReceiveTimeoutException>(() => server.ReceiveMessageAsync(inbox, TimeSpan.Zero).GetAwaiter().GetResult());
    }
}
