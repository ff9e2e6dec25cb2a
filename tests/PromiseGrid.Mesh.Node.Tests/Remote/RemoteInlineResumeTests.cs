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
}
