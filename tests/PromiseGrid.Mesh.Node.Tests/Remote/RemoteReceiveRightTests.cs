using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Node.Tests.Remote;

/// <summary>
/// Receive rights moving between real nodes on loopback (docs/ports-protocol.md, "Receive
/// rights"): the old home forwards, the new home owns the port, order, no-senders and dead
/// names hold across the move, a refused move destroys the port, and moves chain.
/// </summary>
public sealed class RemoteReceiveRightTests : MeshNodesFixture
{
    /// <summary><paramref name="count"/> nodes, each knowing every other's address.</summary>
    private async Task<MeshNode[]> NodesAsync(int count)
    {
        var nodes = new MeshNode[count];
        for (var i = 0; i < count; i++)
        {
            nodes[i] = await StartNodeAsync();
        }

        foreach (var x in nodes)
        {
            foreach (var y in nodes)
            {
                if (x != y)
                {
                    Introduce(x, y);
                }
            }
        }

        return nodes;
    }

    /// <summary>A task on <paramref name="node"/> with a port published as <paramref name="name"/>.</summary>
    /// <summary>A task "owner" on <paramref name="node"/> holding the receive right of a new port, published as "p" unless told otherwise.</summary>
    private static (PortTask Owner, PortName Port) OwnedPort(MeshNode node, bool publish = true)
    {
        var owner = node.Kernel.CreateTask("owner");
        var port = owner.CreatePort();
        if (publish)
        {
            node.Ports.Publish(owner, port, "p");
        }

        return (owner, port);
    }

    /// <summary>A task "holder" on <paramref name="node"/> with a send right to <paramref name="owner"/>'s <paramref name="port"/>.</summary>
    private static (PortTask Holder, PortName Right) Holder(MeshNode node, PortTask owner, PortName port)
    {
        var holder = node.Kernel.CreateTask("holder");
        return (holder, holder.ExtractRight(owner, port, PortDisposition.MakeSend));
    }

    private static (PortTask Task, PortName Inbox) Inbox(MeshNode node, string name)
    {
        var task = node.Kernel.CreateTask(name);
        var inbox = task.CreatePort();
        node.Ports.Publish(task, inbox, name);
        return (task, inbox);
    }

    /// <summary>Sends the receive right <paramref name="port"/> of <paramref name="owner"/> to the port published as <paramref name="inbox"/> on <paramref name="to"/>.</summary>
    private static async Task MoveAsync(MeshNode from, PortTask owner, PortName port, MeshNode to, string inbox)
    {
        var destination = await from.Ports.LookupAsync(owner, to.PeerId, inbox).AsTask().WaitAsync(Timeout);
        var move = Text(destination, "take this port");
        move.Ports = [new PortDescriptor(port, PortDisposition.MoveReceive)];
        await owner.SendMessageAsync(move, Timeout).AsTask().WaitAsync(Timeout);
    }

    /// <summary>Receives the message that moved a receive right and returns the right's name in <paramref name="task"/>.</summary>
    private static async Task<PortName> ReceiveMovedAsync(PortTask task, PortName inbox)
    {
        var message = await ReceiveAsync(task, inbox);
        var descriptor = Assert.Single(message.Ports!);
        Assert.Equal(PortDisposition.PortReceive, descriptor.Disposition);
        Assert.Equal(PortRightTypes.Receive, task.GetRightTypes(descriptor.Name) & PortRightTypes.Receive);
        return descriptor.Name;
    }

    private static async Task AssertConsistentAsync(params MeshNode[] nodes)
    {
        foreach (var node in nodes)
        {
            // Outcomes settle asynchronously; the counts must agree once they have.
            await EventuallyAsync(() => node.Kernel.CheckInvariants().Count == 0, $"the rights accounting of {node.PeerId} is consistent: {string.Join("; ", node.Kernel.CheckInvariants())}");
        }
    }

    [Fact]
    public async Task MoveReceive_ToTaskOnB_QueuedBlockedAndLaterSendsFromAArriveInOrder()
    {
        var nodes = await NodesAsync(2);
        var (a, b) = (nodes[0], nodes[1]);
        var (server, inbox) = Inbox(b, "inbox");
        var (owner, p) = OwnedPort(a, publish: false);
        var sender = a.Kernel.CreateTask("sender");
        var toP = sender.ExtractRight(owner, p, PortDisposition.MakeSend);

        // 3 queued and awaited, then 30 more without waiting: 13 fill the queue (qlimit 16), 17 block.
        for (var i = 0; i < 3; i++)
        {
            await sender.SendMessageAsync(Text(toP, $"m{i}"), Timeout);
        }

        var sends = new List<Task>();
        for (var i = 3; i < 33; i++)
        {
            sends.Add(sender.SendMessageAsync(Text(toP, $"m{i}"), Timeout).AsTask());
        }

        Assert.Equal(16, owner.GetStatus(p).MessageCount);
        await MoveAsync(a, owner, p, b, "inbox");

        // Sent after the move: through the proxy A keeps, behind everything that was queued.
        for (var i = 33; i < 43; i++)
        {
            sends.Add(sender.SendMessageAsync(Text(toP, $"m{i}"), Timeout).AsTask());
        }

        var moved = await ReceiveMovedAsync(server, inbox);
        for (var i = 0; i < 43; i++)
        {
            var m = await ReceiveAsync(server, moved);
            Assert.Equal($"m{i}", TextOf(m));
            Assert.Equal((ulong)i, m.Trailer.Sequence);
        }

        await Task.WhenAll(sends).WaitAsync(Timeout);
        Assert.Throws<ReceiveTimeoutException>(() => server.ReceiveMessageAsync(moved, TimeSpan.Zero).GetAwaiter().GetResult());
        Assert.Equal(b.PeerId, a.Ports.GetPortRef(sender, toP).Home);
        Assert.Equal(a.Ports.GetPortRef(sender, toP).Id, b.Ports.GetPortRef(server, moved).Id);
        await AssertConsistentAsync(a, b);
    }

    [Fact]
    public async Task MoveReceive_ThirdNodeKeepsSendingToTheOldHome_EveryMessageArrivesOnceInOrderAfterTheNewHomeTookIt()
    {
        var nodes = await NodesAsync(3);
        var (a, b, c) = (nodes[0], nodes[1], nodes[2]);
        var (server, inbox) = Inbox(b, "inbox");
        var (owner, p) = OwnedPort(a);
        var client = c.Kernel.CreateTask("client");
        var toP = await c.Ports.LookupAsync(client, a.PeerId, "p").AsTask().WaitAsync(Timeout);

        await MoveAsync(a, owner, p, b, "inbox");
        var moved = await ReceiveMovedAsync(server, inbox);

        // One at a time: a send completes only once B has the message in the port's queue.
        for (var i = 0; i < 100; i++)
        {
            await client.SendMessageAsync(Text(toP, $"c{i}"), Timeout).AsTask().WaitAsync(Timeout);
            var m = await server.ReceiveMessageAsync(moved, TimeSpan.Zero);
            Assert.Equal($"c{i}", TextOf(m));
            Assert.Equal(a.PeerId, m.Trailer.SenderNode);
        }

        // All at once (more than the queue holds): once each, in order.
        var sends = new List<Task>();
        for (var i = 100; i < 200; i++)
        {
            sends.Add(client.SendMessageAsync(Text(toP, $"c{i}"), Timeout).AsTask());
        }

        for (var i = 100; i < 200; i++)
        {
            Assert.Equal($"c{i}", TextOf(await ReceiveAsync(server, moved)));
        }

        await Task.WhenAll(sends).WaitAsync(Timeout);
        Assert.Throws<ReceiveTimeoutException>(() => server.ReceiveMessageAsync(moved, TimeSpan.Zero).GetAwaiter().GetResult());
        await AssertConsistentAsync(a, b, c);
    }

    [Fact]
    public async Task MoveReceive_EveryOtherHolderReleases_NoSendersFiresAtTheNewHome()
    {
        var nodes = await NodesAsync(3);
        var (a, b, c) = (nodes[0], nodes[1], nodes[2]);
        var (server, inbox) = Inbox(b, "inbox");
        var (owner, p) = OwnedPort(a);
        var (holder, toP) = Holder(a, owner, p);
        var client = c.Kernel.CreateTask("client");
        var toPFromC = await c.Ports.LookupAsync(client, a.PeerId, "p").AsTask().WaitAsync(Timeout);

        await MoveAsync(a, owner, p, b, "inbox");
        var moved = await ReceiveMovedAsync(server, inbox);
        var notify = server.CreatePort();
        server.RequestNotification(moved, PortNotificationKind.NoSenders, notify, sync: 1);
        Assert.Equal(2u, server.GetStatus(moved).MakeSendCount);

        holder.Deallocate(toP);
        client.Deallocate(toPFromC);

        var n = await ReceiveAsync(server, notify);
        Assert.Equal(PortNotification.NoSenders, n.MessageId);
        Assert.Equal(2u, PortNotification.ReadValue(n));
        Assert.False(server.GetStatus(moved).HasSendRights);
        await AssertConsistentAsync(a, b, c);
        await EventuallyAsync(() => a.Kernel.LivePortCount == 0, "A forgets the port that moved away");
    }

    [Fact]
    public async Task MoveReceive_NewHomeDestroysThePort_DeadNamesAndNotificationsOnTheOldHomeAndItsHolders()
    {
        var nodes = await NodesAsync(3);
        var (a, b, c) = (nodes[0], nodes[1], nodes[2]);
        var (server, inbox) = Inbox(b, "inbox");
        var (owner, p) = OwnedPort(a);
        var (holder, toP) = Holder(a, owner, p);
        var holderNotify = holder.CreatePort();
        holder.RequestNotification(toP, PortNotificationKind.DeadName, holderNotify);
        var client = c.Kernel.CreateTask("client");
        var toPFromC = await c.Ports.LookupAsync(client, a.PeerId, "p").AsTask().WaitAsync(Timeout);
        var clientNotify = client.CreatePort();
        client.RequestNotification(toPFromC, PortNotificationKind.DeadName, clientNotify);

        await MoveAsync(a, owner, p, b, "inbox");
        var moved = await ReceiveMovedAsync(server, inbox);
        server.DestroyPort(moved);

        var atA = await ReceiveAsync(holder, holderNotify);
        Assert.Equal((PortNotification.DeadName, toP.Value), (atA.MessageId, PortNotification.ReadValue(atA)));
        var atC = await ReceiveAsync(client, clientNotify);
        Assert.Equal((PortNotification.DeadName, toPFromC.Value), (atC.MessageId, PortNotification.ReadValue(atC)));
        Assert.Equal(PortRightTypes.DeadName, holder.GetRightTypes(toP));
        Assert.Equal(PortRightTypes.DeadName, client.GetRightTypes(toPFromC));
        await Assert.ThrowsAsync<PortDeadException>(() => holder.SendMessageAsync(Text(toP, "too late"), Timeout).AsTask());
        await AssertConsistentAsync(a, b, c);
    }

    [Fact]
    public async Task MoveReceive_TheMoveIsRefused_ThePortIsDestroyedAndItsHoldersGetDeadNames()
    {
        var nodes = await NodesAsync(3);
        var (a, b, c) = (nodes[0], nodes[1], nodes[2]);
        var (server, inbox) = Inbox(b, "inbox");
        var (owner, p) = OwnedPort(a);
        var (holder, toP) = Holder(a, owner, p);
        var holderNotify = holder.CreatePort();
        holder.RequestNotification(toP, PortNotificationKind.DeadName, holderNotify);
        await holder.SendMessageAsync(Text(toP, "queued before the move"), Timeout);
        var client = c.Kernel.CreateTask("client");
        var toPFromC = await c.Ports.LookupAsync(client, a.PeerId, "p").AsTask().WaitAsync(Timeout);
        var clientNotify = client.CreatePort();
        client.RequestNotification(toPFromC, PortNotificationKind.DeadName, clientNotify);
        // A right B never granted, so B does not tell A when the port dies: A learns it only from the refusal.
        var toInbox = a.Kernel.InsertRemoteSendRight(owner, b.Ports.GetPortRef(server, inbox));
        server.DestroyPort(inbox);

        // The destination died: B refuses the message, and the receive right it carried is released the Mach way.
        var move = Text(toInbox, "take this port");
        move.Ports = [new PortDescriptor(p, PortDisposition.MoveReceive)];
        await Assert.ThrowsAsync<PortDeadException>(() => owner.SendMessageAsync(move, Timeout).AsTask().WaitAsync(Timeout));

        Assert.Equal(PortNotification.DeadName, (await ReceiveAsync(holder, holderNotify)).MessageId);
        Assert.Equal(PortNotification.DeadName, (await ReceiveAsync(client, clientNotify)).MessageId);
        Assert.Equal(PortRightTypes.DeadName, holder.GetRightTypes(toP));
        Assert.Throws<InvalidNameException>(() => owner.GetRightTypes(p));
        await AssertConsistentAsync(a, b, c);
        Assert.Equal(1, a.Kernel.LivePortCount);
    }

    [Fact]
    public async Task MoveReceive_OnAgainFromBToD_ASenderOnAReachesD()
    {
        var nodes = await NodesAsync(3);
        var (a, b, d) = (nodes[0], nodes[1], nodes[2]);
        var (server, inbox) = Inbox(b, "inbox");
        var (last, lastInbox) = Inbox(d, "d-inbox");
        var (owner, p) = OwnedPort(a, publish: false);
        var sender = a.Kernel.CreateTask("sender");
        var toP = sender.ExtractRight(owner, p, PortDisposition.MakeSend);

        await MoveAsync(a, owner, p, b, "inbox");
        var atB = await ReceiveMovedAsync(server, inbox);
        await sender.SendMessageAsync(Text(toP, "to B"), Timeout);
        await MoveAsync(b, server, atB, d, "d-inbox");
        var atD = await ReceiveMovedAsync(last, lastInbox);

        // A -> B -> D: A forwards to B, which forwards to D.
        await sender.SendMessageAsync(Text(toP, "to D"), Timeout).AsTask().WaitAsync(Timeout);
        Assert.Equal("to B", TextOf(await ReceiveAsync(last, atD)));
        Assert.Equal("to D", TextOf(await ReceiveAsync(last, atD)));

        // And the chain unwinds: once A lets go, no-senders fires at D.
        var notify = last.CreatePort();
        last.RequestNotification(atD, PortNotificationKind.NoSenders, notify, sync: 1);
        sender.Deallocate(toP);
        Assert.Equal(PortNotification.NoSenders, (await ReceiveAsync(last, notify)).MessageId);
        await AssertConsistentAsync(a, b, d);
    }

    [Fact]
    public async Task MoveReceive_IntoAMessageToItsOwnOldReference_IsRefusedAndTheRightStays()
    {
        var nodes = await NodesAsync(2);
        var (a, b) = (nodes[0], nodes[1]);
        var (server, inbox) = Inbox(b, "inbox");
        var (owner, p) = OwnedPort(a, publish: false);
        var keep = owner.MakeSend(p);
        await MoveAsync(a, owner, p, b, "inbox");
        var moved = await ReceiveMovedAsync(server, inbox);

        // B's task gets a right to the port's old reference at A, and tries to send the port to itself through it.
        var id = b.Ports.GetPortRef(server, moved).Id;
        var oldReference = b.Kernel.InsertRemoteSendRight(server, new PortRef(a.PeerId, id));
        var cycle = Text(oldReference, "a port travelling to itself");
        cycle.Ports = [new PortDescriptor(moved, PortDisposition.MoveReceive)];
        await Assert.ThrowsAsync<InvalidRightException>(() => server.SendMessageAsync(cycle, Timeout).AsTask());

        Assert.Equal(PortRightTypes.Receive, server.GetRightTypes(moved) & PortRightTypes.Receive);
        await owner.SendMessageAsync(Text(keep, "still works"), Timeout);
        Assert.Equal("still works", TextOf(await ReceiveAsync(server, moved)));
    }

    [Fact]
    public async Task MoveReceive_AsTheReplyPort_TheServerReceivesItAndItsQueueFollows()
    {
        var nodes = await NodesAsync(2);
        var (a, b) = (nodes[0], nodes[1]);
        var (server, inbox) = Inbox(b, "inbox");
        var (owner, p) = OwnedPort(a, publish: false);
        var keep = owner.MakeSend(p);
        await owner.SendMessageAsync(Text(keep, "queued"), Timeout);
        var toInbox = await a.Ports.LookupAsync(owner, b.PeerId, "inbox").AsTask().WaitAsync(Timeout);

        var request = Text(toInbox, "here is my port");
        request.ReplyPort = p;
        request.ReplyDisposition = PortDisposition.MoveReceive;
        await owner.SendMessageAsync(request, Timeout);

        var arrived = await ReceiveAsync(server, inbox);
        Assert.Equal(PortDisposition.PortReceive, arrived.ReplyDisposition);
        Assert.Equal("queued", TextOf(await ReceiveAsync(server, arrived.ReplyPort)));
        await owner.SendMessageAsync(Text(keep, "after"), Timeout);
        Assert.Equal("after", TextOf(await ReceiveAsync(server, arrived.ReplyPort)));
        await AssertConsistentAsync(a, b);
    }

    [Fact]
    public async Task MoveReceive_TheMessageTimesOutInAFullQueueAtTheNewHome_ThePortIsDestroyed()
    {
        var nodes = await NodesAsync(2);
        var (a, b) = (nodes[0], nodes[1]);
        var (server, inbox) = Inbox(b, "inbox");
        server.SetQueueLimit(inbox, 1);
        var (owner, p) = OwnedPort(a, publish: false);
        var (holder, toP) = Holder(a, owner, p);
        var holderNotify = holder.CreatePort();
        holder.RequestNotification(toP, PortNotificationKind.DeadName, holderNotify);
        var toInbox = await a.Ports.LookupAsync(owner, b.PeerId, "inbox").AsTask().WaitAsync(Timeout);
        await owner.SendMessageAsync(Text(toInbox, "fills the queue"), Timeout);

        // B takes the message (and with it the port) into its queue of blocked senders; it never gets in.
        var move = Text(toInbox, "take this port");
        move.Ports = [new PortDescriptor(p, PortDisposition.MoveReceive)];
        var moving = owner.SendMessageAsync(move, TimeSpan.FromSeconds(1)).AsTask();
        await holder.SendMessageAsync(Text(toP, "sent while the port waits at B"), Timeout).AsTask().WaitAsync(Timeout);
        await Assert.ThrowsAsync<SendTimeoutException>(() => moving.WaitAsync(Timeout));

        Assert.Equal(PortNotification.DeadName, (await ReceiveAsync(holder, holderNotify)).MessageId);
        Assert.Equal(PortRightTypes.DeadName, holder.GetRightTypes(toP));
        Assert.Equal("fills the queue", TextOf(await ReceiveAsync(server, inbox)));
        Assert.Throws<ReceiveTimeoutException>(() => server.ReceiveMessageAsync(inbox, TimeSpan.Zero).GetAwaiter().GetResult());
        await AssertConsistentAsync(a, b);
        Assert.Equal(1, b.Kernel.LivePortCount);
    }

    [Fact]
    public async Task MoveReceive_BackToTheNodeItCameFrom_TheForwarderBecomesThePortAgainAndTheCountsSettle()
    {
        var nodes = await NodesAsync(3);
        var (a, b, c) = (nodes[0], nodes[1], nodes[2]);
        var (server, inbox) = Inbox(b, "inbox");
        var (back, backInbox) = Inbox(a, "a-inbox");
        var (owner, p) = OwnedPort(a);
        var (holder, toP) = Holder(a, owner, p);
        var once = holder.ExtractRight(owner, p, PortDisposition.MakeSendOnce);
        var client = c.Kernel.CreateTask("client");
        var toPFromC = await c.Ports.LookupAsync(client, a.PeerId, "p").AsTask().WaitAsync(Timeout);

        await MoveAsync(a, owner, p, b, "inbox");
        var atB = await ReceiveMovedAsync(server, inbox);
        await holder.SendMessageAsync(Text(toP, "while at B"), Timeout);
        await MoveAsync(b, server, atB, a, "a-inbox");
        var home = await ReceiveMovedAsync(back, backInbox);

        // The names A's tasks held all along denote the local port again; C's right to (A, id) too.
        Assert.Equal("while at B", TextOf(await ReceiveAsync(back, home)));
        await holder.SendMessageAsync(Text(toP, "at home"), Timeout);
        await client.SendMessageAsync(Text(toPFromC, "from C"), Timeout);
        var reply = Text(once, "through the send-once right");
        reply.DestinationDisposition = PortDisposition.MoveSendOnce;
        await holder.SendMessageAsync(reply, Timeout);
        Assert.Equal("at home", TextOf(await ReceiveAsync(back, home)));
        Assert.Equal("from C", TextOf(await ReceiveAsync(back, home)));
        Assert.Equal("through the send-once right", TextOf(await ReceiveAsync(back, home)));
        Assert.Equal(a.PeerId, a.Ports.GetPortRef(holder, toP).Home);

        // B's forwarder gives its holding back, the send-once right counted twice is absorbed (no
        // notification), and no-senders fires at A once A's and C's tasks let go.
        await EventuallyAsync(() => b.Kernel.LivePortCount == 1, "B forgets the forwarder");
        await EventuallyAsync(() => back.GetStatus(home).SendOnceRights == 0, "the send-once count settles");
        var notify = back.CreatePort();
        back.RequestNotification(home, PortNotificationKind.NoSenders, notify, sync: 1);
        holder.Deallocate(toP);
        client.Deallocate(toPFromC);
        Assert.Equal(PortNotification.NoSenders, (await ReceiveAsync(back, notify)).MessageId);
        Assert.Throws<ReceiveTimeoutException>(() => back.ReceiveMessageAsync(home, TimeSpan.Zero).GetAwaiter().GetResult());
        await AssertConsistentAsync(a, b, c);
    }

    [Fact]
    public async Task MoveReceive_RoundTheChainAToBToDAndBackToA_EveryForwarderUnwinds()
    {
        var nodes = await NodesAsync(3);
        var (a, b, d) = (nodes[0], nodes[1], nodes[2]);
        var (server, inbox) = Inbox(b, "inbox");
        var (last, lastInbox) = Inbox(d, "d-inbox");
        var (back, backInbox) = Inbox(a, "a-inbox");
        var (owner, p) = OwnedPort(a, publish: false);
        var (holder, toP) = Holder(a, owner, p);
        var once = holder.ExtractRight(owner, p, PortDisposition.MakeSendOnce);

        await MoveAsync(a, owner, p, b, "inbox");
        await MoveAsync(b, server, await ReceiveMovedAsync(server, inbox), d, "d-inbox");
        await holder.SendMessageAsync(Text(toP, "through A and B to D"), Timeout);
        await MoveAsync(d, last, await ReceiveMovedAsync(last, lastInbox), a, "a-inbox");
        var home = await ReceiveMovedAsync(back, backInbox);

        Assert.Equal("through A and B to D", TextOf(await ReceiveAsync(back, home)));
        var reply = Text(once, "at home");
        reply.DestinationDisposition = PortDisposition.MoveSendOnce;
        await holder.SendMessageAsync(reply, Timeout);
        Assert.Equal("at home", TextOf(await ReceiveAsync(back, home)));

        // Only the holder's send right is left once the chain has unwound.
        await EventuallyAsync(() => b.Kernel.LivePortCount == 1 && d.Kernel.LivePortCount == 1, "B and D forget their forwarders");
        await EventuallyAsync(() => back.GetStatus(home) is { SendRights: 1, SendOnceRights: 0 }, "the counts settle to the holder's send right");
        Assert.Throws<ReceiveTimeoutException>(() => back.ReceiveMessageAsync(home, TimeSpan.Zero).GetAwaiter().GetResult());
        await AssertConsistentAsync(a, b, d);
    }

    [Fact]
    public async Task MoveReceive_ToANodeThatAlreadyHoldsARightToItAndBack_EveryRightKeepsWorkingAndDiesWithThePort()
    {
        var nodes = await NodesAsync(2);
        var (a, b) = (nodes[0], nodes[1]);
        var (server, inbox) = Inbox(b, "inbox");
        var (receiver, receiverInbox) = Inbox(a, "a-inbox");
        var p = server.CreatePort();
        b.Ports.Publish(server, p, "p");
        var client = a.Kernel.CreateTask("client");
        var toP = await a.Ports.LookupAsync(client, b.PeerId, "p").AsTask().WaitAsync(Timeout);
        var clientNotify = client.CreatePort();
        client.RequestNotification(toP, PortNotificationKind.DeadName, clientNotify);

        // B -> A: A's right to (B, id) now goes through B's forwarder back to A.
        await MoveAsync(b, server, p, a, "a-inbox");
        var atA = await ReceiveMovedAsync(receiver, receiverInbox);
        await client.SendMessageAsync(Text(toP, "round the forwarder"), Timeout);
        Assert.Equal("round the forwarder", TextOf(await ReceiveAsync(receiver, atA)));

        // A -> B: B's forwarder becomes the port again; A's rights (the old one, and one made
        // while the port was at A, now a second proxy of (B, id)) reach it directly.
        var own = receiver.MakeSend(atA);
        await MoveAsync(a, receiver, atA, b, "inbox");
        var atB = await ReceiveMovedAsync(server, inbox);
        await client.SendMessageAsync(Text(toP, "straight to B"), Timeout);
        await receiver.SendMessageAsync(Text(own, "from the right made at A"), Timeout);
        Assert.Equal("straight to B", TextOf(await ReceiveAsync(server, atB)));
        Assert.Equal("from the right made at A", TextOf(await ReceiveAsync(server, atB)));
        await AssertConsistentAsync(a, b);

        server.DestroyPort(atB);
        Assert.Equal(PortNotification.DeadName, (await ReceiveAsync(client, clientNotify)).MessageId);
        Assert.Equal(PortRightTypes.DeadName, client.GetRightTypes(toP));
        await EventuallyAsync(() => receiver.GetRightTypes(own) == PortRightTypes.DeadName, "the right made at A is a dead name");
        await EventuallyAsync(() => a.Kernel.LivePortCount == 2, "A forgets the port that moved away");
        await AssertConsistentAsync(a, b);
    }

    [Fact]
    public async Task MoveReceive_HoppingBetweenThreeNodesWhileEachSends_EveryMessageArrivesOnceInEachSendersOrder()
    {
        // Nobody receives until every send is done, so all of them must fit in the queue (1024).
        const int PerSender = 200;
        var nodes = await NodesAsync(3);
        var inboxes = nodes.Select((node, i) => Inbox(node, $"inbox-{i}")).ToArray();
        var owner = nodes[0].Kernel.CreateTask("owner");
        var p = owner.CreatePort();
        owner.SetQueueLimit(p, 1024);
        nodes[0].Ports.Publish(owner, p, "p");
        var senders = new List<(PortTask Task, PortName Right, string Name)>();
        for (var i = 0; i < nodes.Length; i++)
        {
            var task = nodes[i].Kernel.CreateTask($"sender-{i}");
            var right = i == 0 ? task.ExtractRight(owner, p, PortDisposition.MakeSend) : await nodes[i].Ports.LookupAsync(task, nodes[0].PeerId, "p").AsTask().WaitAsync(Timeout);
            senders.Add((task, right, $"s{i}"));
        }

        var sending = senders.Select(s => Task.Run(async () =>
        {
            for (var n = 0; n < PerSender; n++)
            {
                await s.Task.SendMessageAsync(Text(s.Right, $"{s.Name}:{n}"), Timeout).AsTask().WaitAsync(Timeout);
            }
        })).ToList();

        // The receive right goes round while the three senders send: A -> B -> C -> A -> C -> B -> A.
        var (holderNode, holder, name) = (0, owner, p);
        foreach (var next in new[] { 1, 2, 0, 2, 1, 0 })
        {
            await MoveAsync(nodes[holderNode], holder, name, nodes[next], $"inbox-{next}");
            (holderNode, holder) = (next, inboxes[next].Task);
            name = await ReceiveMovedAsync(holder, inboxes[next].Inbox);
        }

        await Task.WhenAll(sending).WaitAsync(Timeout);
        var expected = senders.ToDictionary(s => s.Name, _ => 0);
        for (var i = 0; i < senders.Count * PerSender; i++)
        {
            var parts = TextOf(await ReceiveAsync(holder, name)).Split(':');
            Assert.Equal(expected[parts[0]]++, int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.Throws<ReceiveTimeoutException>(() => holder.ReceiveMessageAsync(name, TimeSpan.Zero).GetAwaiter().GetResult());
        var notify = holder.CreatePort();
        holder.RequestNotification(name, PortNotificationKind.NoSenders, notify, sync: 1);
        foreach (var (task, right, _) in senders)
        {
            task.Deallocate(right);
        }

        Assert.Equal(PortNotification.NoSenders, (await ReceiveAsync(holder, notify)).MessageId);
        await EventuallyAsync(() => nodes[1].Kernel.LivePortCount == 1 && nodes[2].Kernel.LivePortCount == 1, "B and C forget their forwarders");
        await AssertConsistentAsync(nodes);
    }

    [Fact]
    public async Task MoveReceive_APeerThatHeldNoRightToTheOldReference_IsRefusedByTheForwarder()
    {
        var nodes = await NodesAsync(3);
        var (a, b, c) = (nodes[0], nodes[1], nodes[2]);
        var (server, inbox) = Inbox(b, "inbox");
        var (owner, p) = OwnedPort(a, publish: false);
        var keep = owner.MakeSend(p);
        var id = a.Ports.GetPortRef(owner, p).Id;
        await MoveAsync(a, owner, p, b, "inbox");
        var moved = await ReceiveMovedAsync(server, inbox);

        // C knows the old reference but was never given a right: A checks its holder table before forwarding.
        var stranger = c.Kernel.CreateTask("stranger");
        var forged = c.Kernel.InsertRemoteSendRight(stranger, new PortRef(a.PeerId, id));
        await Assert.ThrowsAsync<NoRightException>(() => stranger.SendMessageAsync(Text(forged, "let me in"), Timeout).AsTask());

        await owner.SendMessageAsync(Text(keep, "holder"), Timeout);
        Assert.Equal("holder", TextOf(await ReceiveAsync(server, moved)));
        Assert.Throws<ReceiveTimeoutException>(() => server.ReceiveMessageAsync(moved, TimeSpan.Zero).GetAwaiter().GetResult());
    }

    [Fact]
    public async Task MoveReceive_IntoAPortWhoseOwnReceiveRightTravelsTowardsIt_IsRefusedAcrossNodesToo()
    {
        var nodes = await NodesAsync(2);
        var (a, b) = (nodes[0], nodes[1]);
        var qOwner = a.Kernel.CreateTask("q-owner");
        var q = qOwner.CreatePort();
        a.Ports.Publish(qOwner, q, "q");
        var pOwner = b.Kernel.CreateTask("p-owner");
        var p = pOwner.CreatePort();
        b.Ports.Publish(pOwner, p, "p");
        var toQ = await b.Ports.LookupAsync(pOwner, a.PeerId, "q").AsTask().WaitAsync(Timeout);

        // Q's receive right goes into P's queue at B; then B's task tries to send P's receive
        // right to Q through the proxy of Q's old reference at A, which would bring it back to Q.
        await MoveAsync(a, qOwner, q, b, "p");
        var cycle = Text(toQ, "p into q, q into p");
        cycle.Ports = [new PortDescriptor(p, PortDisposition.MoveReceive)];
        await Assert.ThrowsAsync<InvalidRightException>(() => pOwner.SendMessageAsync(cycle, Timeout).AsTask());

        Assert.Equal(PortRightTypes.Receive, pOwner.GetRightTypes(p) & PortRightTypes.Receive);
        var arrived = await ReceiveAsync(pOwner, p);
        var qHere = Assert.Single(arrived.Ports!).Name;
        await pOwner.SendMessageAsync(Text(toQ, "q still works"), Timeout);
        Assert.Equal("q still works", TextOf(await ReceiveAsync(pOwner, qHere)));
        await AssertConsistentAsync(a, b);
    }

    [Fact]
    public async Task MoveReceive_NoSendersAndPortDestroyedRequestsTravelWithThePort_AndFireAtTheirNotifyPorts()
    {
        var nodes = await NodesAsync(2);
        var (a, b) = (nodes[0], nodes[1]);
        var (server, inbox) = Inbox(b, "inbox");
        var (owner, p) = OwnedPort(a, publish: false);
        var noSenders = owner.CreatePort();
        var portDestroyed = owner.CreatePort();
        var (holder, toP) = Holder(a, owner, p);
        owner.RequestNotification(p, PortNotificationKind.NoSenders, noSenders, sync: 1);
        owner.RequestNotification(p, PortNotificationKind.PortDestroyed, portDestroyed);

        await MoveAsync(a, owner, p, b, "inbox");
        var moved = await ReceiveMovedAsync(server, inbox);
        var status = server.GetStatus(moved);
        Assert.True(status.HasNoSendersRequest && status.HasPortDestroyedRequest);

        // No-senders fires at B and reaches the notify port on A.
        holder.Deallocate(toP);
        var n = await ReceiveAsync(owner, noSenders);
        Assert.Equal((PortNotification.NoSenders, 1u), (n.MessageId, PortNotification.ReadValue(n)));

        // Destroying the port at B hands its receive right back to A through the port-destroyed request.
        server.DestroyPort(moved);
        var rescued = await ReceiveAsync(owner, portDestroyed);
        Assert.Equal(PortNotification.PortDestroyed, rescued.MessageId);
        var back = Assert.Single(rescued.Ports!);
        Assert.Equal(PortDisposition.PortReceive, back.Disposition);
        var again = owner.MakeSend(back.Name);
        await owner.SendMessageAsync(Text(again, "alive at A"), Timeout);
        Assert.Equal("alive at A", TextOf(await ReceiveAsync(owner, back.Name)));
        Assert.Equal(1, b.Kernel.LivePortCount);
        await AssertConsistentAsync(a, b);
    }

    [Fact]
    public async Task MoveReceive_ThereAndBack_TheNoSendersRequestComesHomeToo()
    {
        var nodes = await NodesAsync(2);
        var (a, b) = (nodes[0], nodes[1]);
        var (server, inbox) = Inbox(b, "inbox");
        var (back, backInbox) = Inbox(a, "a-inbox");
        var (owner, p) = OwnedPort(a, publish: false);
        var noSenders = owner.CreatePort();
        var (holder, toP) = Holder(a, owner, p);
        owner.RequestNotification(p, PortNotificationKind.NoSenders, noSenders, sync: 1);

        await MoveAsync(a, owner, p, b, "inbox");
        await MoveAsync(b, server, await ReceiveMovedAsync(server, inbox), a, "a-inbox");
        var home = await ReceiveMovedAsync(back, backInbox);
        Assert.True(back.GetStatus(home).HasNoSendersRequest);

        holder.Deallocate(toP);
        Assert.Equal(PortNotification.NoSenders, (await ReceiveAsync(owner, noSenders)).MessageId);
        await EventuallyAsync(() => b.Kernel.LivePortCount == 1, "B forgets the forwarder");
        await AssertConsistentAsync(a, b);
    }
}
