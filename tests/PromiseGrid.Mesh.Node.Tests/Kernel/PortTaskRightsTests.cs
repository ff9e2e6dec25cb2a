using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Node.Tests.Kernel;

public class PortTaskRightsTests : KernelFixture
{
    [Fact]
    public void CreatePort_GivesOneReceiveRight()
    {
        var port = A.CreatePort();
        Assert.Equal(PortRightTypes.Receive, A.GetRightTypes(port));
        Assert.Equal(1, A.GetRefs(port, PortRight.Receive));
        Assert.Equal(0, A.GetRefs(port, PortRight.Send));
        Assert.False(A.GetStatus(port).HasSendRights);
    }

    [Fact]
    public void MakeSend_SharesTheNameAndCountsUserReferences()
    {
        var port = A.CreatePort();
        Assert.Equal(port, A.MakeSend(port));
        Assert.Equal(port, A.MakeSend(port));

        Assert.Equal(PortRightTypes.Receive | PortRightTypes.Send, A.GetRightTypes(port));
        Assert.Equal(2, A.GetRefs(port, PortRight.Send));
        var status = A.GetStatus(port);
        Assert.Equal(2u, status.MakeSendCount);
        Assert.Equal(1, status.SendRights);
    }

    [Fact]
    public void MakeSendOnce_NewNameEachTime()
    {
        var port = A.CreatePort();
        var o1 = A.MakeSendOnce(port);
        var o2 = A.MakeSendOnce(port);
        Assert.NotEqual(o1, o2);
        Assert.NotEqual(port, o1);
        Assert.Equal(2, A.GetStatus(port).SendOnceRights);
        A.Deallocate(o1);
        A.Deallocate(o2);
    }

    [Fact]
    public void MakeSend_WithoutReceiveRight_ThrowsInvalidRight()
    {
        var (_, send) = Connect(B, A);
        Assert.Throws<InvalidRightException>(() => A.MakeSend(send));
        Assert.Throws<InvalidNameException>(() => A.MakeSend(new PortName(55)));
    }

    [Fact]
    public void ModRefs_Send_AddsAndRemovesReferences()
    {
        var (receive, send) = Connect(B, A);
        A.ModRefs(send, PortRight.Send, 4);
        Assert.Equal(5, A.GetRefs(send, PortRight.Send));

        Assert.Throws<InvalidRightException>(() => A.ModRefs(send, PortRight.Send, -6));
        Assert.Equal(5, A.GetRefs(send, PortRight.Send));

        A.ModRefs(send, PortRight.Send, -5);
        Assert.Throws<InvalidNameException>(() => A.GetRightTypes(send));
        Assert.False(B.GetStatus(receive).HasSendRights);
    }

    [Fact]
    public void ModRefs_PastMaximum_ThrowsLimitExceeded()
    {
        var (_, send) = Connect(B, A);
        Assert.Throws<LimitExceededException>(() => A.ModRefs(send, PortRight.Send, Kernel.Options.MaxUserReferences));
        Assert.Equal(1, A.GetRefs(send, PortRight.Send));
    }

    [Fact]
    public void ModRefs_ReceiveMinusOne_DestroysPort()
    {
        var (receive, send) = Connect(B, A);
        Assert.Throws<InvalidRightException>(() => B.ModRefs(receive, PortRight.Receive, 1));

        B.ModRefs(receive, PortRight.Receive, -1);

        Assert.Equal(PortRightTypes.DeadName, A.GetRightTypes(send));
        Assert.Equal(0, Kernel.LivePortCount);
    }

    [Fact]
    public void ModRefs_ReceiveWithSendOnSameName_LeavesDeadName()
    {
        var port = A.CreatePort();
        A.MakeSend(port);

        A.ModRefs(port, PortRight.Receive, -1);

        Assert.Equal(PortRightTypes.DeadName, A.GetRightTypes(port));
        A.Deallocate(port);
        Assert.Empty(A.GetNames());
    }

    [Fact]
    public void ModRefs_WrongRight_ThrowsInvalidRight()
    {
        var port = A.CreatePort();
        Assert.Throws<InvalidRightException>(() => A.ModRefs(port, PortRight.Send, 1));
        Assert.Throws<InvalidRightException>(() => A.ModRefs(port, PortRight.DeadName, 1));
        Assert.Throws<InvalidRightException>(() => A.ModRefs(port, PortRight.SendOnce, -1));
    }

    [Fact]
    public void Deallocate_ReceiveOnly_ThrowsInvalidRight()
    {
        var port = A.CreatePort();
        Assert.Throws<InvalidRightException>(() => A.Deallocate(port));
    }

    [Fact]
    public void InsertRight_MoveReceive_MovesThePortToAnotherTask()
    {
        var port = A.CreatePort();
        A.MakeSend(port);

        var inB = A.InsertRight(B, port, PortDisposition.MoveReceive);

        Assert.Equal(PortRightTypes.Send, A.GetRightTypes(port));
        Assert.Equal(PortRightTypes.Receive, B.GetRightTypes(inB));
    }

    [Fact]
    public async Task InsertRight_MoveReceive_FailsBlockedReceiverOfOldHolder()
    {
        var port = A.CreatePort();
        var pending = A.ReceiveMessageAsync(port).AsTask();

        A.InsertRight(B, port, PortDisposition.MoveReceive);

        await Assert.ThrowsAsync<PortDeadException>(() => pending.WaitAsync(TestPeers.Timeout));
    }

    [Fact]
    public void ExtractRight_CopySend_MergesWithExistingName()
    {
        var (receive, send) = Connect(B, A);
        var again = A.ExtractRight(B, receive, PortDisposition.MakeSend);

        Assert.Equal(send, again);
        Assert.Equal(2, A.GetRefs(send, PortRight.Send));
        Assert.Equal(1, B.GetStatus(receive).SendRights);
    }

    [Fact]
    public void GetStatus_SendRightsCountNamesNotReferences()
    {
        var c = Kernel.CreateTask("c");
        var (receive, send) = Connect(B, A);
        A.ModRefs(send, PortRight.Send, 3);
        A.InsertRight(c, send, PortDisposition.CopySend);

        var status = B.GetStatus(receive);

        Assert.Equal(2, status.SendRights);
        Assert.Equal(PortName.Null, status.PortSet);
        Assert.Equal(0, status.MessageCount);
        Assert.Throws<InvalidRightException>(() => A.GetStatus(send));
    }

    [Fact]
    public async Task CreatePortSet_ReceivesFromAnyMemberAndSaysWhich()
    {
        var set = B.CreatePortSet();
        var (p1, s1) = Connect(B, A);
        var (p2, s2) = Connect(B, A);
        B.MoveMember(p1, set);
        B.MoveMember(p2, set);
        Assert.Equal(set, B.GetStatus(p1).PortSet);
        Assert.Equal(PortRightTypes.PortSet, B.GetRightTypes(set));

        var pending = B.ReceiveMessageAsync(set).AsTask();
        await A.SendMessageAsync(Text(s2, "to p2"));
        var first = await pending.WaitAsync(TestPeers.Timeout);
        await A.SendMessageAsync(Text(s1, "to p1"));
        var second = await ReceiveAsync(B, set);

        Assert.Equal(p2, first.Destination);
        Assert.Equal(p1, second.Destination);
        Assert.Equal("to p1", TextOf(second));
    }

    [Fact]
    public async Task PortSet_ServesMembersFairly()
    {
        var set = B.CreatePortSet();
        var (p1, s1) = Connect(B, A);
        var (p2, s2) = Connect(B, A);
        B.MoveMember(p1, set);
        B.MoveMember(p2, set);
        for (var i = 0; i < 3; i++)
        {
            await A.SendMessageAsync(Text(s1, "1"));
            await A.SendMessageAsync(Text(s2, "2"));
        }

        var order = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            order.Add(TextOf(await ReceiveAsync(B, set)));
        }

        Assert.Equal(["1", "2", "1", "2", "1", "2"], order);
    }

    [Fact]
    public async Task PortSet_MemberCannotBeReceivedDirectly_UntilMovedOut()
    {
        var set = B.CreatePortSet();
        var (p1, s1) = Connect(B, A);
        B.MoveMember(p1, set);
        await A.SendMessageAsync(Text(s1, "x"));

        await Assert.ThrowsAsync<InvalidRightException>(() => B.ReceiveMessageAsync(p1).AsTask());

        B.MoveMember(p1, PortName.Null);
        Assert.Equal("x", TextOf(await ReceiveAsync(B, p1)));
    }

    [Fact]
    public async Task PortSet_MemberAddedDuringBlockedReceive_DeliversItsQueuedMessage()
    {
        var set = B.CreatePortSet();
        var (p1, s1) = Connect(B, A);
        await A.SendMessageAsync(Text(s1, "waiting"));
        var pending = B.ReceiveMessageAsync(set).AsTask();
        Assert.False(pending.IsCompleted);

        B.MoveMember(p1, set);

        Assert.Equal("waiting", TextOf(await pending.WaitAsync(TestPeers.Timeout)));
    }

    [Fact]
    public async Task PortSet_Destroyed_FailsBlockedReceiverAndFreesMembers()
    {
        var set = B.CreatePortSet();
        var (p1, _) = Connect(B, A);
        B.MoveMember(p1, set);
        var pending = B.ReceiveMessageAsync(set).AsTask();

        B.Deallocate(set);

        await Assert.ThrowsAsync<PortDeadException>(() => pending.WaitAsync(TestPeers.Timeout));
        Assert.Equal(PortName.Null, B.GetStatus(p1).PortSet);
    }

    [Fact]
    public void Names_AreNotReused()
    {
        var first = A.CreatePort();
        A.DestroyPort(first);
        var second = A.CreatePort();
        Assert.NotEqual(first, second);
    }
}
