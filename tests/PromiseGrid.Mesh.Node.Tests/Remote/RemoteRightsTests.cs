using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Node.Tests.Remote;

/// <summary>Rights across three nodes: third-party transfer, refusal, no-senders, dead names, send-once.</summary>
public sealed class RemoteRightsTests : MeshNodesFixture
{
    /// <summary>Three connected nodes; C publishes "svc" with a receive right in task <c>Server</c>.</summary>
    private async Task<(MeshNode A, MeshNode B, MeshNode C, PortTask Server, PortName Service)> ThreeNodesAsync()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        var c = await StartNodeAsync();
        foreach (var (x, y) in new[] { (a, b), (a, c), (b, a), (b, c), (c, a), (c, b) })
        {
            Introduce(x, y);
        }

        var server = c.Kernel.CreateTask("server");
        var service = server.CreatePort();
        c.Ports.Publish(server, service, "svc");
        return (a, b, c, server, service);
    }

    /// <summary>A task on <paramref name="node"/> with a published inbox.</summary>
    private static (PortTask Task, PortName Inbox) Inbox(MeshNode node, string name)
    {
        var task = node.Kernel.CreateTask(name);
        var inbox = task.CreatePort();
        node.Ports.Publish(task, inbox, name);
        return (task, inbox);
    }

    [Fact]
    public async Task ThirdPartyTransfer_AGivesBASendRightToCsPort_BCanUseItAtOnce()
    {
        var (a, b, c, server, service) = await ThreeNodesAsync();
        var (bTask, bInbox) = Inbox(b, "b-inbox");
        var aTask = a.Kernel.CreateTask();
        var toService = await a.Ports.LookupAsync(aTask, c.PeerId, "svc").AsTask().WaitAsync(Timeout);
        var toB = await a.Ports.LookupAsync(aTask, b.PeerId, "b-inbox").AsTask().WaitAsync(Timeout);

        var gift = Text(toB, "here is a right to C's service");
        gift.Ports = [new PortDescriptor(toService, PortDisposition.CopySend)];
        await aTask.SendMessageAsync(gift, Timeout);

        var received = await ReceiveAsync(bTask, bInbox);
        var descriptor = Assert.Single(received.Ports!);
        Assert.Equal(PortDisposition.PortSend, descriptor.Disposition);

        // B never looked C's port up: C knew of B's right before B could use it.
        await bTask.SendMessageAsync(Text(descriptor.Name, "from B"), Timeout);
        var atC = await ReceiveAsync(server, service);
        Assert.Equal("from B", TextOf(atC));
        Assert.Equal(b.PeerId, atC.Trailer.SenderNode);
        foreach (var node in new[] { a, b, c })
        {
            Assert.Empty(node.Kernel.CheckInvariants());
        }
    }

    [Fact]
    public async Task ThirdPartyTransfer_MessageRefused_TheGrantIsWithdrawnAndNoSendersStillFires()
    {
        var (a, b, c, server, service) = await ThreeNodesAsync();
        var notify = server.CreatePort();
        server.RequestNotification(service, PortNotificationKind.NoSenders, notify, sync: 1);
        var (bTask, bInbox) = Inbox(b, "b-inbox");
        var aTask = a.Kernel.CreateTask();
        var toService = await a.Ports.LookupAsync(aTask, c.PeerId, "svc").AsTask().WaitAsync(Timeout);
        var toB = await a.Ports.LookupAsync(aTask, b.PeerId, "b-inbox").AsTask().WaitAsync(Timeout);
        bTask.DestroyPort(bInbox);

        // C grants B the right first, then B refuses the message (no such port): the grant must be undone.
        var gift = Text(toB, "never arrives");
        gift.Ports = [new PortDescriptor(toService, PortDisposition.CopySend)];
        await Assert.ThrowsAsync<PortDeadException>(() => aTask.SendMessageAsync(gift, Timeout).AsTask());

        aTask.Deallocate(toService);
        var n = await ReceiveAsync(server, notify);
        Assert.Equal(PortNotification.NoSenders, n.MessageId);
        foreach (var node in new[] { a, b, c })
        {
            Assert.Empty(node.Kernel.CheckInvariants());
        }
    }

    [Fact]
    public async Task ThirdPartyTransfer_ThirdNodeGone_SendFailsTypedWithinItsTimeout()
    {
        var (a, b, c, _, _) = await ThreeNodesAsync();
        var (bTask, bInbox) = Inbox(b, "b-inbox");
        var aTask = a.Kernel.CreateTask();
        var toService = await a.Ports.LookupAsync(aTask, c.PeerId, "svc").AsTask().WaitAsync(Timeout);
        var toB = await a.Ports.LookupAsync(aTask, b.PeerId, "b-inbox").AsTask().WaitAsync(Timeout);
        await StopNodeAsync(c);

        // The grant cannot reach C, so the message cannot go: the caller hears so by its deadline.
        var gift = Text(toB, "a right to a port on a node that is gone");
        gift.Ports = [new PortDescriptor(toService, PortDisposition.CopySend)];
        var error = await Assert.ThrowsAnyAsync<MeshException>(() => aTask.SendMessageAsync(gift, TimeSpan.FromSeconds(2)).AsTask().WaitAsync(Timeout));
        Assert.True(error is NodeUnreachableException { MayHaveBeenDelivered: false } or SendTimeoutException, error.ToString());
        Assert.Throws<ReceiveTimeoutException>(() => bTask.ReceiveMessageAsync(bInbox, TimeSpan.Zero).GetAwaiter().GetResult());

        // The link to B is fine: the next message goes through.
        await aTask.SendMessageAsync(Text(toB, "plain"), Timeout);
        Assert.Equal("plain", TextOf(await ReceiveAsync(bTask, bInbox)));
    }

    [Fact]
    public async Task UnauthorisedPeer_ThatOnlyKnowsTheReference_IsRefused()
    {
        var (a, b, c, server, service) = await ThreeNodesAsync();
        var aTask = a.Kernel.CreateTask();
        var toService = await a.Ports.LookupAsync(aTask, c.PeerId, "svc").AsTask().WaitAsync(Timeout);
        c.Ports.Unpublish("svc");

        // B learns the reference (printed, gossiped...) but was never given a right.
        var reference = a.Ports.GetPortRef(aTask, toService);
        var bTask = b.Kernel.CreateTask();
        var forged = b.Kernel.InsertRemoteSendRight(bTask, reference);

        await Assert.ThrowsAsync<NoRightException>(() => bTask.SendMessageAsync(Text(forged, "sneaky"), Timeout).AsTask());
        await Assert.ThrowsAsync<NoRightException>(() => b.Ports.LookupAsync(bTask, reference).AsTask().WaitAsync(Timeout));
        await aTask.SendMessageAsync(Text(toService, "legit"), Timeout);
        Assert.Equal("legit", TextOf(await ReceiveAsync(server, service)));
    }

    [Fact]
    public async Task NoSenders_FiresAtTheHomeWhenTheLastRemoteHolderReleases()
    {
        var (a, b, c, server, service) = await ThreeNodesAsync();
        var notify = server.CreatePort();
        server.RequestNotification(service, PortNotificationKind.NoSenders, notify, sync: 1);
        var aTask = a.Kernel.CreateTask();
        var bTask = b.Kernel.CreateTask();
        var fromA = await a.Ports.LookupAsync(aTask, c.PeerId, "svc").AsTask().WaitAsync(Timeout);
        var fromB = await b.Ports.LookupAsync(bTask, c.PeerId, "svc").AsTask().WaitAsync(Timeout);
        await aTask.SendMessageAsync(Text(fromA, "a"), Timeout);
        await ReceiveAsync(server, service);

        aTask.Deallocate(fromA);
        await EventuallyAsync(() => a.Ports.Counters.Acked >= 3, "A's lookup, send and release were acknowledged");
        Assert.Throws<ReceiveTimeoutException>(() => server.ReceiveMessageAsync(notify, TimeSpan.Zero).GetAwaiter().GetResult());

        bTask.Deallocate(fromB);
        var n = await ReceiveAsync(server, notify);
        Assert.Equal(PortNotification.NoSenders, n.MessageId);
        Assert.Equal(2u, PortNotification.ReadValue(n)); // two send rights were made, one per lookup
        Assert.Empty(c.Kernel.CheckInvariants());
    }

    [Fact]
    public async Task DeadName_EveryHolderNodeIsToldWhenThePortDies()
    {
        var (a, b, c, server, service) = await ThreeNodesAsync();
        var holders = new List<(PortTask Task, PortName Send, PortName Notify)>();
        foreach (var node in new[] { a, b })
        {
            var task = node.Kernel.CreateTask();
            var send = await node.Ports.LookupAsync(task, c.PeerId, "svc").AsTask().WaitAsync(Timeout);
            var notify = task.CreatePort();
            task.RequestNotification(send, PortNotificationKind.DeadName, notify);
            holders.Add((task, send, notify));
        }

        server.DestroyPort(service);

        foreach (var (task, send, notify) in holders)
        {
            var n = await ReceiveAsync(task, notify);
            Assert.Equal(PortNotification.DeadName, n.MessageId);
            Assert.Equal(send.Value, PortNotification.ReadValue(n));
            Assert.True(task.GetRightTypes(send).HasFlag(PortRightTypes.DeadName));
            await Assert.ThrowsAsync<PortDeadException>(() => task.SendMessageAsync(Text(send, "too late"), Timeout).AsTask());
        }
    }

    [Fact]
    public async Task SendOnceReply_PassedToAThirdNode_IsUsedExactlyOnce()
    {
        // A asks C's service, with a reply port on A; C hands the reply right on to B, who answers A.
        var (a, b, c, server, service) = await ThreeNodesAsync();
        var (bTask, bInbox) = Inbox(b, "b-inbox");
        var toB = await c.Ports.LookupAsync(server, b.PeerId, "b-inbox").AsTask().WaitAsync(Timeout);
        var aTask = a.Kernel.CreateTask();
        var toService = await a.Ports.LookupAsync(aTask, c.PeerId, "svc").AsTask().WaitAsync(Timeout);
        var reply = aTask.CreatePort();
        var request = Text(toService, "question");
        request.ReplyPort = reply;
        request.ReplyDisposition = PortDisposition.MakeSendOnce;
        await aTask.SendMessageAsync(request, Timeout);

        var atC = await ReceiveAsync(server, service);
        var forward = Text(toB, "please answer");
        forward.Ports = [new PortDescriptor(atC.ReplyPort, PortDisposition.MoveSendOnce)];
        await server.SendMessageAsync(forward, Timeout);

        var atB = await ReceiveAsync(bTask, bInbox);
        var replyRight = Assert.Single(atB.Ports!).Name;
        await bTask.SendMessageAsync(new PortMessage { Destination = replyRight, DestinationDisposition = PortDisposition.MoveSendOnce, Payload = "answer"u8.ToArray() }, Timeout);

        var answer = await ReceiveAsync(aTask, reply);
        Assert.Equal("answer", TextOf(answer));
        Assert.Equal(b.PeerId, answer.Trailer.SenderNode);
        Assert.Equal(0, aTask.GetStatus(reply).SendOnceRights);
        foreach (var node in new[] { a, b, c })
        {
            Assert.Empty(node.Kernel.CheckInvariants());
        }
    }

    [Fact]
    public async Task SendOnceRight_DestroyedUnusedOnAnotherNode_GivesTheHomeASendOnceNotification()
    {
        var (a, _, c, server, _) = await ThreeNodesAsync();
        var (aTask2, aInbox) = Inbox(a, "a-inbox");
        var toA = await c.Ports.LookupAsync(server, a.PeerId, "a-inbox").AsTask().WaitAsync(Timeout);

        // C sends A a send-once right to a fresh port of C's; A drops it unused.
        var replyPort = server.CreatePort();
        var gift = Text(toA, "a send-once right");
        gift.Ports = [new PortDescriptor(replyPort, PortDisposition.MakeSendOnce)];
        await server.SendMessageAsync(gift, Timeout);
        var atA = await ReceiveAsync(aTask2, aInbox);
        aTask2.Deallocate(Assert.Single(atA.Ports!).Name);

        var n = await ReceiveAsync(server, replyPort);
        Assert.Equal(PortNotification.SendOnce, n.MessageId);
        Assert.Equal(0, server.GetStatus(replyPort).SendOnceRights);
        Assert.Empty(c.Kernel.CheckInvariants());
    }

    [Fact]
    public async Task HolderLease_ANodeGoneForGood_CountsAsReleased()
    {
        var c = await StartNodeAsync(ports: RemotePortOptionsWithLease(TimeSpan.FromSeconds(1)));
        var a = await StartNodeAsync();
        Introduce(a, c);
        var server = c.Kernel.CreateTask();
        var service = server.CreatePort();
        c.Ports.Publish(server, service, "svc");
        var notify = server.CreatePort();
        server.RequestNotification(service, PortNotificationKind.NoSenders, notify, sync: 1);
        var aTask = a.Kernel.CreateTask();
        await a.Ports.LookupAsync(aTask, c.PeerId, "svc").AsTask().WaitAsync(Timeout);

        // A disappears without releasing anything (as if its machine died).
        await StopNodeAsync(a);

        var n = await ReceiveAsync(server, notify);
        Assert.Equal(PortNotification.NoSenders, n.MessageId);
    }

    private static PromiseGrid.Mesh.Node.Ports.RemotePortOptions RemotePortOptionsWithLease(TimeSpan lease) => PromiseGrid.Mesh.Node.Ports.RemotePortOptions.Default with { HolderLease = lease };
}
