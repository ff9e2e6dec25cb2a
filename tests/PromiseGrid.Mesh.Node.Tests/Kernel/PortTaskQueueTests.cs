using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Node.Tests.Kernel;

public class PortTaskQueueTests : KernelFixture
{
    [Fact]
    public void NewPort_HasDefaultQueueLimit() =>
        Assert.Equal(Kernel.Options.DefaultQueueLimit, A.GetStatus(A.CreatePort()).QueueLimit);

    [Fact]
    public async Task SendMessage_QueueFull_BlocksUntilReceive()
    {
        var (receive, send) = Connect(B, A);
        B.SetQueueLimit(receive, 1);
        await A.SendMessageAsync(Text(send, "1"));

        var blocked = A.SendMessageAsync(Text(send, "2")).AsTask();
        Assert.False(blocked.IsCompleted);
        Assert.Equal(1, B.GetStatus(receive).MessageCount);

        Assert.Equal("1", TextOf(await ReceiveAsync(B, receive)));
        await blocked.WaitAsync(TestPeers.Timeout);
        Assert.Equal("2", TextOf(await ReceiveAsync(B, receive)));
    }

    [Fact]
    public async Task SendMessage_QueueFullZeroTimeout_ThrowsSendTimeoutAndReleasesRights()
    {
        var (receive, send) = Connect(B, A);
        B.SetQueueLimit(receive, 1);
        await A.SendMessageAsync(Text(send, "1"));
        var own = A.CreatePort();
        var message = Text(send, "2");
        message.ReplyPort = own;
        message.ReplyDisposition = PortDisposition.MakeSendOnce;

        await Assert.ThrowsAsync<SendTimeoutException>(() => A.SendMessageAsync(message, TimeSpan.Zero).AsTask());

        // The send-once reply right was destroyed unused: a send-once notification arrives on it.
        var notification = await ReceiveAsync(A, own);
        Assert.Equal(PortNotification.SendOnce, notification.MessageId);
        Assert.Equal(0, A.GetStatus(own).SendOnceRights);
    }

    [Fact]
    public async Task SendMessage_QueueFullTimeout_ThrowsSendTimeoutWhenClockPasses()
    {
        var (receive, send) = Connect(B, A);
        B.SetQueueLimit(receive, 1);
        await A.SendMessageAsync(Text(send, "1"));

        var blocked = A.SendMessageAsync(Text(send, "2"), TimeSpan.FromSeconds(5)).AsTask();
        Time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(blocked.IsCompleted);
        Time.Advance(TimeSpan.FromSeconds(1));

        await Assert.ThrowsAsync<SendTimeoutException>(() => blocked.WaitAsync(TestPeers.Timeout));
        Assert.Equal(1, B.GetStatus(receive).MessageCount);
    }

    [Fact]
    public async Task SendMessage_QueueFullCancelled_ThrowsOperationCanceled()
    {
        var (receive, send) = Connect(B, A);
        B.SetQueueLimit(receive, 1);
        await A.SendMessageAsync(Text(send, "1"));
        using var cts = new CancellationTokenSource();

        var blocked = A.SendMessageAsync(Text(send, "2"), null, cts.Token).AsTask();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked.WaitAsync(TestPeers.Timeout));
        Assert.Equal(1, B.GetStatus(receive).MessageCount);
        Assert.Equal(2, B.GetStatus(receive).SendRights); // A's name + the queued message's destination right
    }

    [Fact]
    public async Task SendMessage_SendOnceDestination_ExceedsQueueLimit()
    {
        var receive = B.CreatePort();
        B.SetQueueLimit(receive, 1);
        var send = B.InsertRight(A, receive, PortDisposition.MakeSend);
        await A.SendMessageAsync(Text(send, "1"));
        var once = B.InsertRight(A, receive, PortDisposition.MakeSendOnce);

        await A.SendMessageAsync(Text(once, "reply", PortDisposition.MoveSendOnce), TimeSpan.Zero);

        Assert.Equal(2, B.GetStatus(receive).MessageCount);
    }

    [Fact]
    public async Task SendMessage_BlockedSenders_KeepFifoOrder()
    {
        var (receive, send) = Connect(B, A);
        B.SetQueueLimit(receive, 1);
        await A.SendMessageAsync(Text(send, "0"));
        var blocked = Enumerable.Range(1, 4).Select(i => A.SendMessageAsync(Text(send, i.ToString(System.Globalization.CultureInfo.InvariantCulture))).AsTask()).ToArray();

        var order = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            order.Add(TextOf(await ReceiveAsync(B, receive)));
        }

        await Task.WhenAll(blocked).WaitAsync(TestPeers.Timeout);
        Assert.Equal(["0", "1", "2", "3", "4"], order);
    }

    [Fact]
    public async Task SetQueueLimit_Raised_AdmitsBlockedSenders()
    {
        var (receive, send) = Connect(B, A);
        B.SetQueueLimit(receive, 1);
        await A.SendMessageAsync(Text(send, "1"));
        var blocked = A.SendMessageAsync(Text(send, "2")).AsTask();

        B.SetQueueLimit(receive, 2);

        await blocked.WaitAsync(TestPeers.Timeout);
        Assert.Equal(2, B.GetStatus(receive).MessageCount);
    }

    [Fact]
    public void SetQueueLimit_AboveMaximum_ThrowsLimitExceeded()
    {
        var port = A.CreatePort();
        Assert.Throws<LimitExceededException>(() => A.SetQueueLimit(port, Kernel.Options.MaxQueueLimit + 1));
        Assert.Throws<LimitExceededException>(() => A.SetQueueLimit(port, -1));
    }

    [Fact]
    public async Task SendMessage_QueueLimitZero_IsARendezvous()
    {
        var (receive, send) = Connect(B, A);
        B.SetQueueLimit(receive, 0);

        var blocked = A.SendMessageAsync(Text(send, "hand over")).AsTask();
        Assert.False(blocked.IsCompleted);

        Assert.Equal("hand over", TextOf(await ReceiveAsync(B, receive)));
        await blocked.WaitAsync(TestPeers.Timeout);
    }

    [Fact]
    public async Task ReceiveMessage_EmptyZeroTimeout_ThrowsReceiveTimeout()
    {
        var port = A.CreatePort();
        await Assert.ThrowsAsync<ReceiveTimeoutException>(() => A.ReceiveMessageAsync(port, TimeSpan.Zero).AsTask());
    }

    [Fact]
    public async Task ReceiveMessage_Timeout_ThrowsWhenClockPasses()
    {
        var port = A.CreatePort();
        var pending = A.ReceiveMessageAsync(port, TimeSpan.FromMilliseconds(100)).AsTask();
        Assert.False(pending.IsCompleted);

        Time.Advance(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAsync<ReceiveTimeoutException>(() => pending.WaitAsync(TestPeers.Timeout));
    }

    [Fact]
    public async Task ReceiveMessage_Cancelled_ThrowsAndLaterMessageStaysQueued()
    {
        var (receive, send) = Connect(B, A);
        using var cts = new CancellationTokenSource();
        var pending = B.ReceiveMessageAsync(receive, null, cts.Token).AsTask();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(TestPeers.Timeout));

        await A.SendMessageAsync(Text(send, "kept"));

        Assert.Equal(1, B.GetStatus(receive).MessageCount);
        Assert.Equal("kept", TextOf(await ReceiveAsync(B, receive)));
    }

    [Fact]
    public async Task ReceiveMessage_ManyBlockingRounds_ReuseWaitersCorrectly()
    {
        var (receive, send) = Connect(B, A);
        for (var i = 0; i < 200; i++)
        {
            var pending = B.ReceiveMessageAsync(receive);
            await A.SendMessageAsync(Text(send, "m"));
            Assert.Equal((ulong)i, (await pending.AsTask().WaitAsync(TestPeers.Timeout)).Trailer.Sequence);
        }
    }
}
