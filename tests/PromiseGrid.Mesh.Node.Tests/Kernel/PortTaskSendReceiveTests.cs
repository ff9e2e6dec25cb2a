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
