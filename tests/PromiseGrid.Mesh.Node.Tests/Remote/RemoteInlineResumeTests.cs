using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Node.Tests.Remote;

/// <summary>A receiver that resumes on the read loop that delivered its message (<c>ResumeReceivesInline</c>).</summary>
public sealed class RemoteInlineResumeTests : MeshNodesFixture
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ResumeReceivesInline_TheReceiverRunsBeforeTheConnectionReadsOn(bool inline)
    {
        var (a, b, server, inbox, client) = await PairAsync();
        server.ResumeReceivesInline = inline;
        var other = b.Kernel.CreateTask("other");
        var otherPort = other.CreatePort();
        b.Ports.Publish(other, otherPort, "other");
        var toInbox = await a.Ports.LookupAsync(client, b.PeerId, "inbox").AsTask().WaitAsync(Timeout);
        var toOther = await a.Ports.LookupAsync(client, b.PeerId, "other").AsTask().WaitAsync(Timeout);

        var otherReceived = new ManualResetEventSlim();
        var otherReceiving = Task.Run(async () =>
        {
            using var message = await other.ReceiveMessageAsync(otherPort, Timeout);
            otherReceived.Set();
        });
        var pending = server.ReceiveMessageAsync(inbox, Timeout);
        Assert.False(pending.IsCompleted);
        var handler = HandleAsync();

        // The first message is acknowledged before its receiver runs; the second travels the same
        // connection, so inline it cannot be read while the receiver holds the read loop.
        await client.SendMessageAsync(Text(toInbox, "first")).AsTask().WaitAsync(Timeout);
        await client.SendMessageAsync(Text(toOther, "second")).AsTask().WaitAsync(Timeout);

        Assert.Equal(!inline, await handler.WaitAsync(Timeout));
        await otherReceiving.WaitAsync(Timeout);
        Assert.Empty(b.Kernel.CheckInvariants());

        async Task<bool> HandleAsync()
        {
            using var message = await pending.ConfigureAwait(false); // resume where the receive completes
            return otherReceived.Wait(inline ? TimeSpan.FromMilliseconds(300) : Timeout);
        }
    }

    [Fact]
    public async Task ResumeReceivesInline_ReceiverOnTheReadLoopSendsToALocalInlineReceiver_ThatOneRunsElsewhere()
    {
        var (a, b, server, inbox, client) = await PairAsync();
        server.ResumeReceivesInline = true;
        var back = b.Kernel.CreateTask("back");
        back.ResumeReceivesInline = true;
        var backPort = back.CreatePort();
        var backSend = back.InsertRight(server, backPort, PortDisposition.MakeSend);
        var toInbox = await a.Ports.LookupAsync(client, b.PeerId, "inbox").AsTask().WaitAsync(Timeout);
        var insideServerSend = 0;
        var serverThread = 0;
        var backReceiving = back.ReceiveMessageAsync(backPort, Timeout);
        var serverReceiving = server.ReceiveMessageAsync(inbox, Timeout);
        Assert.False(backReceiving.IsCompleted);
        Assert.False(serverReceiving.IsCompleted);
        var backRan = BackAsync();
        var serving = ServeAsync();

        await client.SendMessageAsync(Text(toInbox, "x")).AsTask().WaitAsync(Timeout);

        await serving.WaitAsync(Timeout);
        Assert.False(await backRan.WaitAsync(Timeout), "a receiver resumed on the read loop hands off no further");
        Assert.Empty(b.Kernel.CheckInvariants());

        async Task ServeAsync()
        {
            using var message = await serverReceiving.ConfigureAwait(false); // resume where the receive completes
            Volatile.Write(ref serverThread, Environment.CurrentManagedThreadId);
            Interlocked.Exchange(ref insideServerSend, 1);
            var sent = server.SendMessageAsync(Text(backSend, "onward"));
            Interlocked.Exchange(ref insideServerSend, 0);
            await sent;
        }

        async Task<bool> BackAsync()
        {
            using var message = await backReceiving.ConfigureAwait(false);
            return Volatile.Read(ref insideServerSend) == 1 && Environment.CurrentManagedThreadId == Volatile.Read(ref serverThread);
        }
    }
}
