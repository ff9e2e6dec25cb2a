using System.Buffers;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Node.Tests.Kernel;

public class PortTaskMessagingTests : KernelFixture
{
    [Fact]
    public async Task SendMessage_ToOwnPort_ReceivesPayloadAndTrailer()
    {
        var port = A.CreatePort();
        var send = A.MakeSend(port);
        Assert.Equal(port, send);

        await A.SendMessageAsync(Text(send, "example_payload"));
        var message = await ReceiveAsync(A, port);

        Assert.Equal("example_payload", TextOf(message));
        Assert.Equal(port, message.Destination);
        Assert.Equal(TestPeers.Local, message.Trailer.SenderNode);
        Assert.Equal(A.Id, message.Trailer.SenderTask);
        Assert.Equal(0UL, message.Trailer.Sequence);
        Assert.Equal(Time.GetUtcNow(), message.Trailer.Timestamp);
    }

    [Fact]
    public async Task ReceiveMessage_SequenceNumbers_IncreasePerPort()
    {
        var (receive, send) = Connect(B, A);
        for (var i = 0; i < 3; i++)
        {
            await A.SendMessageAsync(Text(send, i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        for (var i = 0; i < 3; i++)
        {
            var m = await ReceiveAsync(B, receive);
            Assert.Equal((ulong)i, m.Trailer.Sequence);
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), TextOf(m));
        }

        Assert.Equal(3UL, B.GetStatus(receive).Sequence);
    }

    [Fact]
    public async Task ReceiveMessage_BlockedReceiver_GetsMessageSentLater()
    {
        var (receive, send) = Connect(B, A);
        var pending = B.ReceiveMessageAsync(receive).AsTask();
        Assert.False(pending.IsCompleted);

        await A.SendMessageAsync(Text(send, "late"));

        Assert.Equal("late", TextOf(await pending.WaitAsync(TestPeers.Timeout)));
    }

    [Fact]
    public async Task SendMessage_RequestReply_ThroughSendOnceReplyPort()
    {
        var (serverPort, serverSend) = Connect(B, A);
        var replyPort = A.CreatePort();

        var request = Text(serverSend, "ping");
        request.ReplyPort = replyPort;
        request.ReplyDisposition = PortDisposition.MakeSendOnce;
        await A.SendMessageAsync(request);
        Assert.Equal(1, A.GetStatus(replyPort).SendOnceRights);

        var received = await ReceiveAsync(B, serverPort);
        Assert.Equal(PortDisposition.PortSendOnce, received.ReplyDisposition);
        Assert.Equal(PortRightTypes.SendOnce, B.GetRightTypes(received.ReplyPort));

        await B.SendMessageAsync(Text(received.ReplyPort, "pong", PortDisposition.MoveSendOnce));
        Assert.Throws<InvalidNameException>(() => B.GetRightTypes(received.ReplyPort));

        var reply = await ReceiveAsync(A, replyPort);
        Assert.Equal("pong", TextOf(reply));
        Assert.Equal(0, A.GetStatus(replyPort).SendOnceRights);
    }

    [Fact]
    public async Task SendMessage_MoveReceive_TransfersThePort()
    {
        var (inbox, inboxSend) = Connect(B, A);
        var moved = A.CreatePort();
        var message = Text(inboxSend, "take it");
        message.Ports = [new(moved, PortDisposition.MoveReceive)];

        await A.SendMessageAsync(message);
        Assert.Throws<InvalidNameException>(() => A.GetRightTypes(moved));

        var received = await ReceiveAsync(B, inbox);
        var descriptor = Assert.Single(received.Ports!);
        Assert.Equal(PortDisposition.PortReceive, descriptor.Disposition);
        Assert.Equal(PortRightTypes.Receive, B.GetRightTypes(descriptor.Name));
        Assert.True(received.Flags.HasFlag(MessageFlags.Complex));
        AssertConsistent();
    }

    [Fact]
    public async Task SendMessage_MoveSend_TakesOneUserReference()
    {
        var (inbox, inboxSend) = Connect(B, A);
        var (other, otherSend) = Connect(B, A);
        A.ModRefs(otherSend, PortRight.Send, 1);
        var message = Text(inboxSend, "x");
        message.Ports = [new(otherSend, PortDisposition.MoveSend)];

        await A.SendMessageAsync(message);

        Assert.Equal(1, A.GetRefs(otherSend, PortRight.Send));
        var received = await ReceiveAsync(B, inbox);
        Assert.Equal(other, received.Ports![0].Name);
        Assert.Equal(1, B.GetRefs(other, PortRight.Send));
        Assert.Equal(2, B.GetStatus(other).SendRights);
        AssertConsistent();
    }

    [Fact]
    public async Task SendMessage_CopySend_KeepsSendersRight()
    {
        var (inbox, inboxSend) = Connect(B, A);
        var third = Kernel.CreateTask("c");
        var (_, otherSend) = Connect(third, A);
        var message = Text(inboxSend, "x");
        message.Ports = [new(otherSend, PortDisposition.CopySend)];

        await A.SendMessageAsync(message);

        Assert.Equal(1, A.GetRefs(otherSend, PortRight.Send));
        var received = await ReceiveAsync(B, inbox);
        Assert.Equal(PortDisposition.PortSend, received.Ports![0].Disposition);
        Assert.Equal(PortRightTypes.Send, B.GetRightTypes(received.Ports[0].Name));
        AssertConsistent();
        await third.DisposeAsync();
    }

    [Fact]
    public async Task SendMessage_MakeSendAndMakeSendOnce_CountOnTheReceiveRight()
    {
        var (inbox, inboxSend) = Connect(B, A);
        var own = A.CreatePort();
        var message = Text(inboxSend, "x");
        message.Ports = [new(own, PortDisposition.MakeSend), new(own, PortDisposition.MakeSendOnce)];

        await A.SendMessageAsync(message);
        var status = A.GetStatus(own);
        Assert.Equal(1u, status.MakeSendCount);
        Assert.Equal(1, status.SendOnceRights);
        Assert.True(status.HasSendRights);

        var received = await ReceiveAsync(B, inbox);
        Assert.Equal(PortDisposition.PortSend, received.Ports![0].Disposition);
        Assert.Equal(PortDisposition.PortSendOnce, received.Ports[1].Disposition);
        Assert.NotEqual(received.Ports[0].Name, received.Ports[1].Name);
        AssertConsistent();
    }

    [Fact]
    public async Task SendMessage_MoveSendOnce_Descriptor()
    {
        var (inbox, inboxSend) = Connect(B, A);
        var own = A.CreatePort();
        var once = A.MakeSendOnce(own);
        var message = Text(inboxSend, "x");
        message.Ports = [new(once, PortDisposition.MoveSendOnce)];

        await A.SendMessageAsync(message);
        Assert.Throws<InvalidNameException>(() => A.GetRightTypes(once));

        var received = await ReceiveAsync(B, inbox);
        await B.SendMessageAsync(Text(received.Ports![0].Name, "back", PortDisposition.MoveSendOnce));
        Assert.Equal("back", TextOf(await ReceiveAsync(A, own)));
    }

    [Fact]
    public async Task SendMessage_InvalidDescriptor_LeavesSpaceUntouched()
    {
        var (_, inboxSend) = Connect(B, A);
        var own = A.CreatePort();
        var message = Text(inboxSend, "x", PortDisposition.MoveSend);
        message.Ports = [new(own, PortDisposition.MoveReceive), new(new PortName(999), PortDisposition.CopySend)];

        await Assert.ThrowsAsync<InvalidNameException>(() => A.SendMessageAsync(message).AsTask());

        Assert.Equal(PortRightTypes.Receive, A.GetRightTypes(own));
        Assert.Equal(1, A.GetRefs(inboxSend, PortRight.Send));
    }

    [Fact]
    public async Task SendMessage_WrongRight_ThrowsInvalidRight()
    {
        var (receive, send) = Connect(B, A);
        await Assert.ThrowsAsync<InvalidRightException>(() => A.SendMessageAsync(Text(send, "x", PortDisposition.MoveSendOnce)).AsTask());
        await Assert.ThrowsAsync<InvalidRightException>(() => A.SendMessageAsync(Text(send, "x", PortDisposition.MakeSend)).AsTask());
        await Assert.ThrowsAsync<InvalidNameException>(() => A.SendMessageAsync(Text(new PortName(999), "x")).AsTask());
        Assert.Equal(PortRightTypes.Receive, B.GetRightTypes(receive));
    }

    [Fact]
    public async Task SendMessage_SameNameMovedTwice_ThrowsInvalidRight()
    {
        var (_, inboxSend) = Connect(B, A);
        var own = A.CreatePort();
        var message = Text(inboxSend, "x");
        message.Ports = [new(own, PortDisposition.MoveReceive), new(own, PortDisposition.MakeSend)];

        await Assert.ThrowsAsync<InvalidRightException>(() => A.SendMessageAsync(message).AsTask());
        Assert.Equal(PortRightTypes.Receive, A.GetRightTypes(own));
    }

    [Fact]
    public async Task SendMessage_PayloadOverLimit_ThrowsMessageTooLarge()
    {
        var (_, send) = Connect(B, A);
        var message = new PortMessage { Destination = send, Payload = new byte[Kernel.Options.MaxInlinePayload + 1] };
        await Assert.ThrowsAsync<MessageTooLargeException>(() => A.SendMessageAsync(message).AsTask());
    }

    [Fact]
    public async Task SendMessage_TooManyDescriptorsOrOutOfLine_ThrowsMessageTooLarge()
    {
        var (_, send) = Connect(B, A);
        var ports = new PortMessage { Destination = send, Ports = new PortDescriptor[Kernel.Options.MaxPortDescriptors + 1] };
        var regions = new PortMessage { Destination = send, OutOfLine = new OutOfLineRegion[Kernel.Options.MaxOutOfLineRegions + 1] };
        await Assert.ThrowsAsync<MessageTooLargeException>(() => A.SendMessageAsync(ports).AsTask());
        await Assert.ThrowsAsync<MessageTooLargeException>(() => A.SendMessageAsync(regions).AsTask());
    }

    [Fact]
    public async Task SendMessage_OutOfLine_HandsOverTheSameMemory()
    {
        var (receive, send) = Connect(B, A);
        var owner = MemoryPool<byte>.Shared.Rent(1 << 20);
        owner.Memory.Span[0] = 42;
        var message = new PortMessage { Destination = send, OutOfLine = [new(owner.Memory, owner)] };

        await A.SendMessageAsync(message);
        var received = await ReceiveAsync(B, receive);

        Assert.True(received.OutOfLine![0].Data.Span == owner.Memory.Span);
        Assert.Equal(42, received.OutOfLine[0].Data.Span[0]);
        received.Dispose();
        Assert.Null(received.OutOfLine);
    }

    [Fact]
    public async Task SendMessage_ToDeadName_ThrowsPortDead()
    {
        var (receive, send) = Connect(B, A);
        B.DestroyPort(receive);

        Assert.Equal(PortRightTypes.DeadName, A.GetRightTypes(send));
        await Assert.ThrowsAsync<PortDeadException>(() => A.SendMessageAsync(Text(send, "x")).AsTask());
    }

    [Fact]
    public async Task SendMessage_RemotePortWithoutRouter_ThrowsNoRoute()
    {
        var remote = Kernel.InsertRemoteSendRight(A, new PortRef(TestPeers.Remote, PortId.NewRandom()));
        await Assert.ThrowsAsync<NoRouteException>(() => A.SendMessageAsync(Text(remote, "x")).AsTask());
        Assert.Equal(PortRightTypes.Send, A.GetRightTypes(remote));
    }

    [Fact]
    public async Task ReceiveMessage_OnSendRight_ThrowsInvalidRight()
    {
        var (_, send) = Connect(B, A);
        await Assert.ThrowsAsync<InvalidRightException>(() => A.ReceiveMessageAsync(send).AsTask());
        await Assert.ThrowsAsync<InvalidNameException>(() => A.ReceiveMessageAsync(new PortName(12345)).AsTask());
    }

    [Fact]
    public async Task SendMessage_ReceiveRightCycle_ThrowsInvalidRightAndKeepsTheRight()
    {
        var p = A.CreatePort();
        var q = A.CreatePort();
        var toP = B.ExtractRight(A, p, PortDisposition.MakeSend);
        var toQ = A.MakeSend(q);
        var first = Text(toQ, "p travels to q");
        first.Ports = [new(p, PortDisposition.MoveReceive)];
        await A.SendMessageAsync(first);
        var qReceive = A.InsertRight(B, q, PortDisposition.MoveReceive);

        // q's receive right into a message to p, whose receive right sits in q's queue: a cycle.
        var second = Text(toP, "q travels to p");
        second.Ports = [new(qReceive, PortDisposition.MoveReceive)];
        await Assert.ThrowsAsync<InvalidRightException>(() => B.SendMessageAsync(second).AsTask());

        Assert.Equal(PortRightTypes.Receive, B.GetRightTypes(qReceive));
        var received = await ReceiveAsync(B, qReceive);
        Assert.Equal(PortDisposition.PortReceive, received.Ports![0].Disposition);
        Assert.Equal(toP, received.Ports[0].Name);
    }
}
