using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Node.Tests.Kernel;

/// <summary><see cref="PortTask.SendReceiveAsync"/>: a send and then a receive in one call, as Mach's combined mach_msg.</summary>
public class PortTaskSendReceiveTests : KernelFixture
{
    [Fact]
    public async Task SendReceive_ClientAndServerLoop_EachCallGetsItsReply()
    {
        var (serverPort, serverSend) = Connect(B, A);
        var replyPort = A.CreatePort();
        var server = Task.Run(async () =>
        {
            var request = await B.ReceiveMessageAsync(serverPort);
            for (var i = 1; i < 3; i++)
            {
                request = await B.SendReceiveAsync(Text(request.ReplyPort, "re:" + TextOf(request), PortDisposition.MoveSendOnce), serverPort);
            }

            await B.SendMessageAsync(Text(request.ReplyPort, "re:" + TextOf(request), PortDisposition.MoveSendOnce));
        });

        for (var i = 0; i < 3; i++)
        {
            var request = Text(serverSend, $"call {i}");
            request.ReplyPort = replyPort;
            request.ReplyDisposition = PortDisposition.MakeSendOnce;
            var reply = await A.SendReceiveAsync(request, replyPort).AsTask().WaitAsync(TestPeers.Timeout);
            Assert.Equal($"re:call {i}", TextOf(reply));
        }

        await server.WaitAsync(TestPeers.Timeout);
        Assert.Equal(0, A.GetStatus(replyPort).SendOnceRights);
    }

    [Fact]
    public async Task SendReceive_ReplyAlreadyQueued_ReturnsItAtOnce()
    {
        var (receive, send) = Connect(A, A);
        await A.SendMessageAsync(Text(send, "first"));

        var call = A.SendReceiveAsync(Text(send, "second"), receive);

        Assert.True(call.IsCompletedSuccessfully);
        Assert.Equal("first", TextOf(await call));
        Assert.Equal("second", TextOf(await ReceiveAsync(A, receive)));
    }

    [Fact]
    public async Task SendReceive_ReceiveNameNotAReceiveRight_FailsWithNothingSent()
    {
        var (receive, send) = Connect(B, A);

        var call = A.SendReceiveAsync(Text(send, "never"), send);

        await Assert.ThrowsAsync<InvalidRightException>(() => call.AsTask());
        Assert.Equal(0, B.GetStatus(receive).MessageCount);
        Assert.Equal(PortRightTypes.Send, A.GetRightTypes(send));
    }

    [Fact]
    public async Task SendReceive_MessageMovesTheReceiveRightItWouldReceiveFrom_FailsWithNothingSent()
    {
        var (receive, send) = Connect(B, A);
        var own = A.CreatePort();
        var message = Text(send, "takes my port");
        message.ReplyPort = own;
        message.ReplyDisposition = PortDisposition.MoveReceive;

        await Assert.ThrowsAsync<InvalidRightException>(() => A.SendReceiveAsync(message, own).AsTask());

        Assert.Equal(0, B.GetStatus(receive).MessageCount);
        Assert.Equal(PortRightTypes.Receive, A.GetRightTypes(own));
    }

    [Fact]
    public async Task SendReceive_DeadDestination_FailsWithSendErrorAndLeavesNoReceiver()
    {
        var (receive, send) = Connect(B, A);
        var replyPort = A.CreatePort();
        var replySend = A.MakeSend(replyPort);
        B.DestroyPort(receive);

        await Assert.ThrowsAsync<PortDeadException>(() => A.SendReceiveAsync(Text(send, "to nobody"), replyPort).AsTask());

        // No receive was left waiting: a message sent now stays queued for the next receive.
        await A.SendMessageAsync(Text(replySend, "kept"));
        Assert.Equal(1, A.GetStatus(replyPort).MessageCount);
        Assert.Equal("kept", TextOf(await ReceiveAsync(A, replyPort)));
    }

    [Fact]
    public async Task SendReceive_NoReplyBeforeTimeout_RequestWasSentAndReceiveTimesOut()
    {
        var (receive, send) = Connect(B, A);
        var replyPort = A.CreatePort();

        var call = A.SendReceiveAsync(Text(send, "unanswered"), replyPort, TimeSpan.FromSeconds(5)).AsTask();
        Assert.False(call.IsCompleted);
        Assert.Equal(1, B.GetStatus(receive).MessageCount);
        Time.Advance(TimeSpan.FromSeconds(5));

        await Assert.ThrowsAsync<ReceiveTimeoutException>(() => call.WaitAsync(TestPeers.Timeout));
        Assert.Equal("unanswered", TextOf(await ReceiveAsync(B, receive)));
    }

    [Fact]
    public async Task SendReceive_FullQueue_SendsWhenRoomFreesThenReceives()
    {
        var (receive, send) = Connect(B, A);
        B.SetQueueLimit(receive, 1);
        var replyPort = A.CreatePort();
        var replySend = A.InsertRight(B, replyPort, PortDisposition.MakeSend);
        await A.SendMessageAsync(Text(send, "fills the queue"));

        var call = A.SendReceiveAsync(Text(send, "blocked"), replyPort).AsTask();
        Assert.False(call.IsCompleted);
        Assert.Equal("fills the queue", TextOf(await ReceiveAsync(B, receive)));
        Assert.Equal("blocked", TextOf(await ReceiveAsync(B, receive)));
        Assert.False(call.IsCompleted);

        await B.SendMessageAsync(Text(replySend, "answer"));
        Assert.Equal("answer", TextOf(await call.WaitAsync(TestPeers.Timeout)));
    }
}

/// <summary>The handoff of a local send to a receiver with <see cref="PortTask.ResumeReceivesInline"/>.</summary>
public class PortTaskHandOffTests : KernelFixture
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Send_WakesAWaitingReceiver_RunsItBeforeTheSendReturnsOnlyIfItsTaskResumesInline(bool inline)
    {
        var (serverPort, serverSend) = Connect(B, A);
        B.ResumeReceivesInline = inline;
        var replyPort = A.CreatePort();
        var insideSend = 0;
        var sendThread = 0;
        var ranInsideSend = false;
        var serving = Task.Run(async () =>
        {
            var request = await B.ReceiveMessageAsync(serverPort);
            ranInsideSend = Volatile.Read(ref insideSend) == 1 && Environment.CurrentManagedThreadId == Volatile.Read(ref sendThread);
            await B.SendMessageAsync(Text(request.ReplyPort, "re:" + TextOf(request), PortDisposition.MoveSendOnce));
        });
        await EventuallyWaitingAsync(serverPort);

        var request = Text(serverSend, "call");
        request.ReplyPort = replyPort;
        request.ReplyDisposition = PortDisposition.MakeSendOnce;
        Volatile.Write(ref sendThread, Environment.CurrentManagedThreadId);
        Interlocked.Exchange(ref insideSend, 1);
        var sent = A.SendMessageAsync(request);
        Interlocked.Exchange(ref insideSend, 0);
        await sent;

        await serving.WaitAsync(TestPeers.Timeout);
        Assert.Equal(inline, ranInsideSend);
        if (inline)
        {
            // The server replied before the send returned: the reply is there without waiting.
            Assert.Equal(1, A.GetStatus(replyPort).MessageCount);
        }

        Assert.Equal("re:call", TextOf(await ReceiveAsync(A, replyPort)));
        Assert.Empty(Kernel.CheckInvariants());
    }

    [Fact]
    public async Task Send_HandedOffReceiverSendsToAnotherInlineReceiver_ThatOneIsNotRunInsideTheFirstSend()
    {
        var (frontPort, frontSend) = Connect(B, A);
        var back = Kernel.CreateTask("back");
        var (backPort, backSend) = Connect(back, B);
        B.ResumeReceivesInline = true;
        back.ResumeReceivesInline = true;
        var insideFrontSend = 0;
        var frontThread = 0;
        var backRanInsideFrontSend = false;
        var backServing = Task.Run(async () =>
        {
            using var message = await back.ReceiveMessageAsync(backPort);
            backRanInsideFrontSend = Volatile.Read(ref insideFrontSend) == 1 && Environment.CurrentManagedThreadId == Volatile.Read(ref frontThread);
        });
        var frontServing = Task.Run(async () =>
        {
            using var message = await B.ReceiveMessageAsync(frontPort);
            Volatile.Write(ref frontThread, Environment.CurrentManagedThreadId);
            Interlocked.Exchange(ref insideFrontSend, 1);
            var sent = B.SendMessageAsync(Text(backSend, TextOf(message)));
            Interlocked.Exchange(ref insideFrontSend, 0);
            await sent;
        });
        await EventuallyWaitingAsync(frontPort);
        await EventuallyWaitingAsync(backPort, back);

        await A.SendMessageAsync(Text(frontSend, "x"));

        await Task.WhenAll(frontServing, backServing).WaitAsync(TestPeers.Timeout);
        Assert.False(backRanInsideFrontSend, "a send made by a handed-off receiver hands off no further");
    }

    [Fact]
    public async Task SendReceive_ServerResumesInline_RunsOnTheCallersThreadAndTheReplyIsThereWhenTheCallReturns()
    {
        var (serverPort, serverSend) = Connect(B, A);
        B.ResumeReceivesInline = true;
        var replyPort = A.CreatePort();
        var serverThread = 0;
        var serving = Task.Run(async () =>
        {
            var request = await B.ReceiveMessageAsync(serverPort);
            serverThread = Environment.CurrentManagedThreadId;
            await B.SendMessageAsync(Text(request.ReplyPort, "re:" + TextOf(request), PortDisposition.MoveSendOnce));
        });
        await EventuallyWaitingAsync(serverPort);

        var request = Text(serverSend, "call");
        request.ReplyPort = replyPort;
        request.ReplyDisposition = PortDisposition.MakeSendOnce;
        var call = A.SendReceiveAsync(request, replyPort);

        Assert.True(call.IsCompletedSuccessfully, "the server ran and replied before the call returned");
        Assert.Equal(Environment.CurrentManagedThreadId, serverThread);
        Assert.Equal("re:call", TextOf(await call));
        await serving.WaitAsync(TestPeers.Timeout);
    }

    [Fact]
    public async Task SendReceive_HandedOffServerCallsAnotherInlineServer_ThatOneIsNotRunInsideTheFirstCall()
    {
        var (frontPort, frontSend) = Connect(B, A);
        var back = Kernel.CreateTask("back");
        var (backPort, backSend) = Connect(back, B);
        B.ResumeReceivesInline = true;
        back.ResumeReceivesInline = true;
        var replyPort = A.CreatePort();
        var frontReplyPort = B.CreatePort();
        var insideFrontCall = 0;
        var frontThread = 0;
        var backRanInsideFrontCall = false;
        var backServing = Task.Run(async () =>
        {
            var request = await back.ReceiveMessageAsync(backPort);
            backRanInsideFrontCall = Volatile.Read(ref insideFrontCall) == 1 && Environment.CurrentManagedThreadId == Volatile.Read(ref frontThread);
            await back.SendMessageAsync(Text(request.ReplyPort, "back:" + TextOf(request), PortDisposition.MoveSendOnce));
        });
        var frontServing = Task.Run(async () =>
        {
            var request = await B.ReceiveMessageAsync(frontPort);
            var onward = Text(backSend, TextOf(request));
            onward.ReplyPort = frontReplyPort;
            onward.ReplyDisposition = PortDisposition.MakeSendOnce;
            Volatile.Write(ref frontThread, Environment.CurrentManagedThreadId);
            Interlocked.Exchange(ref insideFrontCall, 1);
            var pending = B.SendReceiveAsync(onward, frontReplyPort);
            Interlocked.Exchange(ref insideFrontCall, 0);
            var answer = await pending;
            await B.SendMessageAsync(Text(request.ReplyPort, "front:" + TextOf(answer), PortDisposition.MoveSendOnce));
        });
        await EventuallyWaitingAsync(frontPort);
        await EventuallyWaitingAsync(backPort, back);

        var call = Text(frontSend, "x");
        call.ReplyPort = replyPort;
        call.ReplyDisposition = PortDisposition.MakeSendOnce;
        var reply = await A.SendReceiveAsync(call, replyPort).AsTask().WaitAsync(TestPeers.Timeout);

        Assert.Equal("front:back:x", TextOf(reply));
        Assert.False(backRanInsideFrontCall, "a handoff made by a handed-off receiver nests no further");
        await Task.WhenAll(frontServing, backServing).WaitAsync(TestPeers.Timeout);
    }

    /// <summary>Waits until a receive of <paramref name="task"/> (default B) is blocked on <paramref name="port"/> and awaited.</summary>
    private async Task EventuallyWaitingAsync(PortName port, PortTask? task = null)
    {
        var deadline = DateTime.UtcNow + TestPeers.Timeout;
        while (Kernel.CountAwaitedReceivers(task ?? B, port) == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the server never waited on its port");
            await Task.Yield();
        }
    }
}
