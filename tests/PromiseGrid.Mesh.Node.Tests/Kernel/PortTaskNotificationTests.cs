using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Node.Tests.Kernel;

public class PortTaskNotificationTests : KernelFixture
{
    [Fact]
    public async Task DeadName_PortDies_NotifiesOnceWithTheName()
    {
        var (receive, send) = Connect(B, A);
        var notify = A.CreatePort();
        Assert.Equal(PortName.Null, A.RequestNotification(send, PortNotificationKind.DeadName, notify));
        Assert.True(A.GetRightTypes(send).HasFlag(PortRightTypes.DeadNameRequest));

        B.DestroyPort(receive);

        var n = await ReceiveAsync(A, notify);
        Assert.Equal(PortNotification.DeadName, n.MessageId);
        Assert.True(n.Flags.HasFlag(MessageFlags.Notification));
        Assert.Equal(0UL, n.Trailer.SenderTask);
        Assert.Equal(send.Value, PortNotification.ReadValue(n));
        // One dead-name reference from the send right, one for the notification (Mach).
        Assert.Equal(2, A.GetRefs(send, PortRight.DeadName));
        await Assert.ThrowsAsync<ReceiveTimeoutException>(() => A.ReceiveMessageAsync(notify, TimeSpan.Zero).AsTask());
    }

    [Fact]
    public async Task DeadName_AlreadyDead_NotifiesImmediately()
    {
        var (receive, send) = Connect(B, A);
        B.DestroyPort(receive);
        var notify = A.CreatePort();

        A.RequestNotification(send, PortNotificationKind.DeadName, notify);

        Assert.Equal(PortNotification.DeadName, (await ReceiveAsync(A, notify)).MessageId);
        Assert.Equal(2, A.GetRefs(send, PortRight.DeadName));
    }

    [Fact]
    public async Task DeadName_RightDeallocated_SendsPortDeleted()
    {
        var (_, send) = Connect(B, A);
        var notify = A.CreatePort();
        A.RequestNotification(send, PortNotificationKind.DeadName, notify);

        A.Deallocate(send);

        var n = await ReceiveAsync(A, notify);
        Assert.Equal(PortNotification.PortDeleted, n.MessageId);
        Assert.Equal(send.Value, PortNotification.ReadValue(n));
    }

    [Fact]
    public async Task RequestNotification_Replaced_ReturnsPreviousRight()
    {
        var (_, send) = Connect(B, A);
        var first = A.CreatePort();
        var second = A.CreatePort();
        A.RequestNotification(send, PortNotificationKind.DeadName, first);

        var previous = A.RequestNotification(send, PortNotificationKind.DeadName, second);

        Assert.Equal(PortRightTypes.SendOnce, A.GetRightTypes(previous));
        A.Deallocate(previous);
        Assert.Equal(PortNotification.SendOnce, (await ReceiveAsync(A, first)).MessageId);
        var cancelled = A.RequestNotification(send, PortNotificationKind.DeadName, PortName.Null);
        Assert.False(A.GetRightTypes(send).HasFlag(PortRightTypes.DeadNameRequest));
        A.Deallocate(cancelled);
        Assert.Equal(PortNotification.SendOnce, (await ReceiveAsync(A, second)).MessageId);
    }

    [Fact]
    public async Task NoSenders_LastSendRightGone_CarriesMakeSendCount()
    {
        var port = B.CreatePort();
        var s1 = B.InsertRight(A, port, PortDisposition.MakeSend);
        B.InsertRight(A, port, PortDisposition.MakeSend);
        Assert.Equal(2u, B.GetStatus(port).MakeSendCount);
        var notify = B.CreatePort();
        B.RequestNotification(port, PortNotificationKind.NoSenders, notify, sync: 2);

        A.Deallocate(s1);
        await Assert.ThrowsAsync<ReceiveTimeoutException>(() => B.ReceiveMessageAsync(notify, TimeSpan.Zero).AsTask());
        A.Deallocate(s1);

        var n = await ReceiveAsync(B, notify);
        Assert.Equal(PortNotification.NoSenders, n.MessageId);
        Assert.Equal(2u, PortNotification.ReadValue(n));
        Assert.False(B.GetStatus(port).HasNoSendersRequest);
    }

    [Fact]
    public async Task NoSenders_RequestedWithoutSenders_FiresAtOnceOnlyIfSyncReached()
    {
        var port = B.CreatePort();
        var notify = B.CreatePort();
        B.RequestNotification(port, PortNotificationKind.NoSenders, notify, sync: 1);
        Assert.True(B.GetStatus(port).HasNoSendersRequest);

        var previous = B.RequestNotification(port, PortNotificationKind.NoSenders, notify, sync: 0);
        B.Deallocate(previous);

        Assert.Equal(PortNotification.NoSenders, (await ReceiveAsync(B, notify)).MessageId);
        Assert.Equal(PortNotification.SendOnce, (await ReceiveAsync(B, notify)).MessageId);
    }

    [Fact]
    public async Task NoSenders_RightMadeAfterNotification_ShowsInMakeSendCount()
    {
        var port = B.CreatePort();
        var notify = B.CreatePort();
        var send = B.InsertRight(A, port, PortDisposition.MakeSend);
        B.RequestNotification(port, PortNotificationKind.NoSenders, notify);
        A.Deallocate(send);
        B.InsertRight(A, port, PortDisposition.MakeSend); // made after the notification was generated

        var n = await ReceiveAsync(B, notify);

        Assert.Equal(1u, PortNotification.ReadValue(n));
        Assert.NotEqual(PortNotification.ReadValue(n), B.GetStatus(port).MakeSendCount);
        Assert.True(B.GetStatus(port).HasSendRights);
    }

    [Fact]
    public async Task NoSenders_WaitsForQueuedMessageThatCarriesTheLastSendRight()
    {
        var port = B.CreatePort();
        var notify = B.CreatePort();
        var send = B.InsertRight(A, port, PortDisposition.MakeSend);
        B.RequestNotification(port, PortNotificationKind.NoSenders, notify);

        await A.SendMessageAsync(Text(send, "last", PortDisposition.MoveSend));
        await Assert.ThrowsAsync<ReceiveTimeoutException>(() => B.ReceiveMessageAsync(notify, TimeSpan.Zero).AsTask());

        Assert.Equal("last", TextOf(await ReceiveAsync(B, port)));
        Assert.Equal(PortNotification.NoSenders, (await ReceiveAsync(B, notify)).MessageId);
    }

    [Fact]
    public async Task PortDestroyed_ReceiveRightArrivesInTheNotification()
    {
        var (receive, send) = Connect(B, A);
        await A.SendMessageAsync(Text(send, "still queued"));
        var rescue = A.CreatePort();
        var rescueSend = A.MakeSendOnce(rescue);
        var moved = A.InsertRight(B, rescueSend, PortDisposition.MoveSendOnce);
        Assert.Equal(PortName.Null, B.RequestNotification(receive, PortNotificationKind.PortDestroyed, moved, PortDisposition.MoveSendOnce));
        Assert.True(B.GetStatus(receive).HasPortDestroyedRequest);

        B.DestroyPort(receive);

        var n = await ReceiveAsync(A, rescue);
        Assert.Equal(PortNotification.PortDestroyed, n.MessageId);
        var right = Assert.Single(n.Ports!);
        Assert.Equal(PortDisposition.PortReceive, right.Disposition);
        Assert.Equal(send, right.Name); // merged with A's send right to the same port
        Assert.Equal(PortRightTypes.Send | PortRightTypes.Receive, A.GetRightTypes(right.Name));
        Assert.Equal("still queued", TextOf(await ReceiveAsync(A, right.Name)));
    }

    [Fact]
    public async Task SendOnce_DeallocatedUnused_NotifiesThePort()
    {
        var port = B.CreatePort();
        var once = B.InsertRight(A, port, PortDisposition.MakeSendOnce);

        A.Deallocate(once);

        var n = await ReceiveAsync(B, port);
        Assert.Equal(PortNotification.SendOnce, n.MessageId);
        Assert.Equal(0, B.GetStatus(port).SendOnceRights);
    }

    [Fact]
    public async Task SendOnce_TaskDiesHoldingIt_NotifiesThePort()
    {
        var c = Kernel.CreateTask("c");
        var port = B.CreatePort();
        B.InsertRight(c, port, PortDisposition.MakeSendOnce);

        await c.DisposeAsync();

        Assert.Equal(PortNotification.SendOnce, (await ReceiveAsync(B, port)).MessageId);
    }

    [Fact]
    public void RequestNotification_WrongRight_ThrowsInvalidRight()
    {
        var (receive, send) = Connect(B, A);
        var notify = A.CreatePort();
        Assert.Throws<InvalidRightException>(() => A.RequestNotification(send, PortNotificationKind.NoSenders, notify));
        Assert.Throws<InvalidRightException>(() => B.RequestNotification(receive, PortNotificationKind.DeadName, receive));
        Assert.Throws<InvalidRightException>(() => A.RequestNotification(send, PortNotificationKind.DeadName, notify, PortDisposition.CopySend));
    }

    [Fact]
    public async Task RequestNotification_NotifyRightIsTheWatchedRight_ThrowsAndKeepsTheRight()
    {
        var port = B.CreatePort();
        var once = B.InsertRight(A, port, PortDisposition.MakeSendOnce);

        Assert.Throws<InvalidRightException>(() => A.RequestNotification(once, PortNotificationKind.DeadName, once, PortDisposition.MoveSendOnce));

        Assert.Equal(PortRightTypes.SendOnce, A.GetRightTypes(once));
        A.Deallocate(once);
        Assert.Equal(PortNotification.SendOnce, (await ReceiveAsync(B, port)).MessageId);
    }
}
