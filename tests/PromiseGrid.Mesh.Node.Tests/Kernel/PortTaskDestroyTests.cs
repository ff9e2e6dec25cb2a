using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Node.Tests.Kernel;

public class PortTaskDestroyTests : KernelFixture
{
    [Fact]
    public async Task DestroyPort_BlockedReceiver_FailsWithPortDead()
    {
        var port = A.CreatePort();
        var pending = A.ReceiveMessageAsync(port).AsTask();

        A.DestroyPort(port);

        await Assert.ThrowsAsync<PortDeadException>(() => pending.WaitAsync(TestPeers.Timeout));
        Assert.Equal(0, Kernel.LivePortCount);
    }

    [Fact]
    public async Task DestroyPort_BlockedSender_FailsWithPortDead()
    {
        var (receive, send) = Connect(B, A);
        B.SetQueueLimit(receive, 1);
        await A.SendMessageAsync(Text(send, "1"));
        var blocked = A.SendMessageAsync(Text(send, "2")).AsTask();

        B.DestroyPort(receive);

        await Assert.ThrowsAsync<PortDeadException>(() => blocked.WaitAsync(TestPeers.Timeout));
    }

    [Fact]
    public async Task DestroyPort_QueuedMessages_ReleaseTheirRights()
    {
        var (receive, send) = Connect(B, A);
        var mine = A.CreatePort();
        var notify = A.CreatePort();
        A.RequestNotification(mine, PortNotificationKind.NoSenders, notify, sync: 1);
        var carried = Text(send, "carries rights");
        carried.ReplyPort = mine;
        carried.ReplyDisposition = PortDisposition.MakeSendOnce;
        carried.Ports = [new(mine, PortDisposition.MakeSend), new(A.CreatePort(), PortDisposition.MoveReceive)];
        await A.SendMessageAsync(carried);
        Assert.Equal(4, Kernel.LivePortCount);

        B.DestroyPort(receive);

        // send right released -> no-senders; send-once released -> send-once notification; moved receive right -> port died.
        var first = await ReceiveAsync(A, notify);
        Assert.Equal(PortNotification.NoSenders, first.MessageId);
        Assert.Equal(1u, PortNotification.ReadValue(first));
        var second = await ReceiveAsync(A, mine);
        Assert.Equal(PortNotification.SendOnce, second.MessageId);
        Assert.Equal(2, Kernel.LivePortCount);
    }

    [Fact]
    public async Task DestroyPort_OutOfLineOwnerOfQueuedMessage_IsDisposed()
    {
        var (receive, send) = Connect(B, A);
        var owner = new TrackingOwner();
        await A.SendMessageAsync(new PortMessage { Destination = send, OutOfLine = [new(owner.Memory, owner)] });

        B.DestroyPort(receive);

        Assert.True(owner.Disposed);
    }

    [Fact]
    public void DestroyPort_SendRightsElsewhere_BecomeDeadNames()
    {
        var (receive, send) = Connect(B, A);
        A.ModRefs(send, PortRight.Send, 2);
        var once = B.InsertRight(A, receive, PortDisposition.MakeSendOnce);

        B.DestroyPort(receive);

        Assert.Equal(PortRightTypes.DeadName, A.GetRightTypes(send));
        Assert.Equal(3, A.GetRefs(send, PortRight.DeadName));
        Assert.Equal(PortRightTypes.DeadName, A.GetRightTypes(once));
        A.ModRefs(send, PortRight.DeadName, -3);
        A.Deallocate(once);
        Assert.Empty(A.GetNames());
    }

    [Fact]
    public async Task DisposeTask_DestroysItsPorts()
    {
        var c = Kernel.CreateTask("c");
        var (_, send) = Connect(c, A);

        await c.DisposeAsync();

        Assert.Equal(PortRightTypes.DeadName, A.GetRightTypes(send));
        Assert.Throws<ObjectDisposedException>(() => c.CreatePort());
    }

    [Fact]
    public void DestroyPort_InvalidName_Throws() =>
        Assert.Throws<InvalidNameException>(() => A.DestroyPort(new PortName(77)));

    private sealed class TrackingOwner : System.Buffers.IMemoryOwner<byte>
    {
        public Memory<byte> Memory { get; } = new byte[16];

        public bool Disposed { get; private set; }

        public void Dispose() => Disposed = true;
    }
}
