using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Node.Tests.Kernel;

public class PortKernelRouterTests : KernelFixture
{
    [Fact]
    public async Task SendMessage_RemoteDestination_GoesToTheRouterWithRightsCopiedIn()
    {
        var router = new CapturingRouter();
        Kernel.Router = router;
        var reference = new PortRef(TestPeers.Remote, PortId.NewRandom());
        var remote = Kernel.InsertRemoteSendRight(A, reference);
        var reply = A.CreatePort();
        var message = Text(remote, "over the mesh");
        message.ReplyPort = reply;
        message.ReplyDisposition = PortDisposition.MakeSendOnce;

        await A.SendMessageAsync(message).AsTask().WaitAsync(TestPeers.Timeout);

        var forwarded = Assert.Single(router.Messages);
        Assert.Equal(reference, forwarded.DestPort!.Ref);
        Assert.False(forwarded.DestPort.IsLocal);
        Assert.Equal(1, A.GetStatus(reply).SendOnceRights);
        Assert.Equal(TestPeers.Local, forwarded.Trailer.SenderNode);

        // The router owns the message; here it gives up and destroys it, releasing its rights.
        using (Kernel.Sync.EnterScope())
        {
            Kernel.DestroyMessageLocked(forwarded);
        }

        Assert.Equal(PortNotification.SendOnce, (await ReceiveAsync(A, reply)).MessageId);
    }

    [Fact]
    public void InsertRemoteSendRight_SameReferenceTwice_SharesOneName()
    {
        var reference = new PortRef(TestPeers.Remote, PortId.NewRandom());
        var first = Kernel.InsertRemoteSendRight(A, reference);
        var second = Kernel.InsertRemoteSendRight(A, reference);

        Assert.Equal(first, second);
        Assert.Equal(2, A.GetRefs(first, PortRight.Send));
        Assert.Equal(reference, Kernel.GetPortRef(A, first));
    }

    private sealed class CapturingRouter : IPortRouter
    {
        public List<PortMessage> Messages { get; } = [];

        public ValueTask ForwardAsync(PortMessage message, TimeSpan? timeout, CancellationToken cancellationToken)
        {
            Messages.Add(message);
            return default;
        }

        public void Forward(PortMessage message) => Messages.Add(message);

        public void ReleaseRemote(PortRef port, int send, int sendOnce)
        {
        }

        public void LocalPortDied(PortId port, IReadOnlyList<PeerId> holders)
        {
        }
    }
}
