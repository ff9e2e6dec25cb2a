using PromiseGrid.Mesh.Kernel;

namespace PromiseGrid.Mesh.Node.Tests.Remote;

/// <summary>
/// The client's confirms (docs/ports-protocol.md, "Delivery, order and exactly once"): never a
/// write per answer, yet the server forgets every outcome once the client has it.
/// </summary>
public sealed class RemoteConfirmTests : MeshNodesFixture
{
    [Fact]
    public async Task CallsOneAtATime_LinkGoesIdle_ServerForgetsEveryOutcome()
    {
        var (a, b, server, inbox, client) = await PairAsync();
        var send = await a.Ports.LookupAsync(client, b.PeerId, "inbox").AsTask().WaitAsync(Timeout);
        const int count = 10;
        for (var i = 0; i < count; i++)
        {
            await client.SendMessageAsync(Text(send, "m", i)).AsTask().WaitAsync(Timeout);
            using var received = await server.ReceiveMessageAsync(inbox, TimeSpan.Zero);
            Assert.Equal(i, received.MessageId);
        }

        // Fewer outcomes than ride along with requests: only the idle sweep confirms them.
        await EventuallyAsync(() => b.Ports.CountUnconfirmed(a.PeerId) == 0, "the server forgot the confirmed outcomes");
    }

    [Fact]
    public async Task ManySends_ConfirmsRideAlong_ServerRemembersFarFewerThanItAcknowledged()
    {
        var (a, b, server, inbox, client) = await PairAsync(qlimit: 4096);
        var send = await a.Ports.LookupAsync(client, b.PeerId, "inbox").AsTask().WaitAsync(Timeout);
        const int rounds = 20;
        const int perRound = 100;
        for (var round = 0; round < rounds; round++)
        {
            var sends = new List<Task>(perRound);
            for (var i = 0; i < perRound; i++)
            {
                sends.Add(client.SendMessageAsync(Text(send, "m", (round * perRound) + i)).AsTask());
            }

            await Task.WhenAll(sends).WaitAsync(Timeout);
        }

        // Each round's requests carry the confirm of the rounds before, so at most the last
        // round and the confirm threshold are remembered, whatever the sweep did meanwhile.
        Assert.True(b.Ports.CountUnconfirmed(a.PeerId) <= perRound + 64, $"{b.Ports.CountUnconfirmed(a.PeerId)} outcomes remembered");
        await EventuallyAsync(() => b.Ports.CountUnconfirmed(a.PeerId) == 0, "the server forgot the confirmed outcomes");
        for (var i = 0; i < rounds * perRound; i++)
        {
            using var received = await server.ReceiveMessageAsync(inbox, TimeSpan.Zero);
            Assert.Equal(i, received.MessageId);
        }
    }
}
