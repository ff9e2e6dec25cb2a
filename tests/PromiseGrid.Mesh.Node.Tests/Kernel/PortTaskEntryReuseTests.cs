using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Node.Tests.Kernel;

/// <summary>
/// The name entries a task frees (a send-once reply right moved away) are reused for later
/// send-once rights; a reused entry must never make an old name mean the new right.
/// </summary>
public class PortTaskEntryReuseTests : KernelFixture
{
    [Fact]
    public async Task SendMessage_ReplyMovesSendOnce_NextRequestReusesTheEntryUnderANewName()
    {
        var (serverPort, serverSend, replyPort) = RequestReplyPair();

        var first = await RequestAsync(serverSend, replyPort, serverPort);
        var firstEntry = B.Names[first.ReplyPort.Value];
        await B.SendMessageAsync(Text(first.ReplyPort, "pong", PortDisposition.MoveSendOnce));
        await ReceiveAsync(A, replyPort);

        var second = await RequestAsync(serverSend, replyPort, serverPort);

        Assert.NotEqual(first.ReplyPort, second.ReplyPort);
        Assert.Same(firstEntry, B.Names[second.ReplyPort.Value]);
        Assert.Equal(PortRightTypes.SendOnce, B.GetRightTypes(second.ReplyPort));
        Assert.Throws<InvalidNameException>(() => B.GetRightTypes(first.ReplyPort));
        AssertConsistent();
    }

    [Fact]
    public async Task SendMessage_ThroughStaleReplyName_AfterEntryReuse_FailsAndLeavesTheNewRight()
    {
        var (serverPort, serverSend, replyPort) = RequestReplyPair();
        var first = await RequestAsync(serverSend, replyPort, serverPort);
        await B.SendMessageAsync(Text(first.ReplyPort, "pong", PortDisposition.MoveSendOnce));
        await ReceiveAsync(A, replyPort);
        var second = await RequestAsync(serverSend, replyPort, serverPort);

        // The stale name was the last one looked up before its entry went back to the pool.
        await Assert.ThrowsAsync<InvalidNameException>(
            () => B.SendMessageAsync(Text(first.ReplyPort, "stale", PortDisposition.MoveSendOnce)).AsTask());

        Assert.Equal(PortRightTypes.SendOnce, B.GetRightTypes(second.ReplyPort));
        await B.SendMessageAsync(Text(second.ReplyPort, "pong 2", PortDisposition.MoveSendOnce));
        Assert.Equal("pong 2", TextOf(await ReceiveAsync(A, replyPort)));
        Assert.Equal(0, A.GetStatus(replyPort).SendOnceRights);
        AssertConsistent();
    }

    [Fact]
    public async Task SendMessage_ManyRequestReplies_LeaveOnlyTheServersReceiveRight()
    {
        var (serverPort, serverSend, replyPort) = RequestReplyPair();
        var seen = new HashSet<PortName>();

        for (var i = 0; i < 100; i++)
        {
            var request = await RequestAsync(serverSend, replyPort, serverPort);
            Assert.True(seen.Add(request.ReplyPort));
            await B.SendMessageAsync(Text(request.ReplyPort, "pong", PortDisposition.MoveSendOnce));
            await ReceiveAsync(A, replyPort);
        }

        Assert.Equal([serverPort], B.GetNames());
        Assert.Equal(0, A.GetStatus(replyPort).SendOnceRights);
        AssertConsistent();
    }

    [Fact]
    public async Task Deallocate_ReusedSendOnceEntry_SendsOneSendOnceNotification()
    {
        var (serverPort, serverSend, replyPort) = RequestReplyPair();
        var first = await RequestAsync(serverSend, replyPort, serverPort);
        await B.SendMessageAsync(Text(first.ReplyPort, "pong", PortDisposition.MoveSendOnce));
        await ReceiveAsync(A, replyPort);
        var second = await RequestAsync(serverSend, replyPort, serverPort);

        B.Deallocate(second.ReplyPort);

        var notification = await ReceiveAsync(A, replyPort);
        Assert.Equal(PortNotification.SendOnce, notification.MessageId);
        Assert.Throws<InvalidNameException>(() => B.GetRightTypes(second.ReplyPort));
        Assert.Equal(0, A.GetStatus(replyPort).SendOnceRights);
        AssertConsistent();
    }

    private (PortName ServerPort, PortName ServerSend, PortName ReplyPort) RequestReplyPair()
    {
        var (serverPort, serverSend) = Connect(B, A);
        return (serverPort, serverSend, A.CreatePort());
    }

    private async Task<PortMessage> RequestAsync(PortName serverSend, PortName replyPort, PortName serverPort)
    {
        var request = Text(serverSend, "ping");
        request.ReplyPort = replyPort;
        request.ReplyDisposition = PortDisposition.MakeSendOnce;
        await A.SendMessageAsync(request);
        return await ReceiveAsync(B, serverPort);
    }
}
