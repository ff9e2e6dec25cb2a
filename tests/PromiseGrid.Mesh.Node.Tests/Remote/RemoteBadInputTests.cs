using System.Buffers;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Host;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Node.Ports;
using PromiseGrid.Mesh.Ports;
using PromiseGrid.Mesh.Ports.Wire;

namespace PromiseGrid.Mesh.Node.Tests.Remote;

/// <summary>
/// A hostile or broken peer speaking <c>/promisegrid/ports/1.0.0</c> by hand: each bad input
/// gets a typed refusal or closes only its own stream; the node keeps serving everyone else.
/// </summary>
public sealed class RemoteBadInputTests : MeshNodesFixture
{
    private async Task<(MeshNode Node, PortTask Server, PortName Inbox, Libp2pHost Raw)> TargetAsync(RemotePortOptions? ports = null)
    {
        var node = await StartNodeAsync(ports);
        var server = node.Kernel.CreateTask();
        var inbox = server.CreatePort();
        node.Ports.Publish(server, inbox, "inbox");
        var raw = await StartRawHostAsync();
        await raw.DialAsync(AddressOf(node)).AsTask().WaitAsync(Timeout);
        return (node, server, inbox, raw);
    }

    private static async Task<IMuxedStream> OpenAsync(Libp2pHost raw, MeshNode node, bool hello = true, uint version = PortsFrameCodec.Version)
    {
        var stream = await raw.NewStreamAsync(node.PeerId, PortsFrameCodec.ProtocolId).AsTask().WaitAsync(Timeout);
        if (hello)
        {
            await WriteAsync(stream, PortsFrameCodec.Encode(new HelloFrame(version, 12345, 0)));
            var welcome = Assert.IsType<WelcomeFrame>(await ReadAsync(stream));
            Assert.Equal(version, welcome.Version);
        }

        return stream;
    }

    private static async Task WriteAsync(IMuxedStream stream, byte[] bytes)
    {
        await stream.Output.WriteAsync(bytes).AsTask().WaitAsync(Timeout);
    }

    /// <summary>The next frame, or null once the node closed or reset the stream.</summary>
    private static async Task<PortsFrame?> ReadAsync(IMuxedStream stream)
    {
        try
        {
            return await PortsStreams.ReadFrameAsync(stream.Input, 1 << 20, CancellationToken.None).WaitAsync(Timeout);
        }
        catch (MeshException)
        {
            return null;
        }
    }

    private static byte[] Deliver(ulong seq, MeshNode node, PortTask server, PortName inbox, string text = "x") =>
        PortsFrameCodec.EncodeDeliver(seq, 0, new MessageEnvelope
        {
            Destination = node.Ports.GetPortRef(server, inbox),
            Payload = System.Text.Encoding.UTF8.GetBytes(text),
        });

    /// <summary>After the bad input, a well-behaved node still gets through.</summary>
    private async Task AssertStillServingAsync(MeshNode node, PortTask server, PortName inbox)
    {
        var other = await StartNodeAsync();
        Introduce(other, node);
        var task = other.Kernel.CreateTask();
        var send = await other.Ports.LookupAsync(task, node.PeerId, "inbox").AsTask().WaitAsync(Timeout);
        await task.SendMessageAsync(Text(send, "still here"), Timeout);
        Assert.Equal("still here", TextOf(await ReceiveAsync(server, inbox)));
        Assert.Empty(node.Kernel.CheckInvariants());
    }

    [Fact]
    public async Task RequestBeforeHello_ClosesThatStreamOnly()
    {
        var (node, server, inbox, raw) = await TargetAsync();
        var stream = await OpenAsync(raw, node, hello: false);

        await WriteAsync(stream, Deliver(1, node, server, inbox));

        Assert.Null(await ReadAsync(stream));
        await AssertStillServingAsync(node, server, inbox);
    }

    [Fact]
    public async Task GarbageAndOversizedFrames_CloseThatStreamOnly()
    {
        var (node, server, inbox, raw) = await TargetAsync();
        var garbage = await OpenAsync(raw, node);
        await WriteAsync(garbage, [3, 0xc1, 0xc1, 0xc1]);
        Assert.Null(await ReadAsync(garbage));

        var oversized = await OpenAsync(raw, node);
        await WriteAsync(oversized, Varint.Encode(1UL << 30));
        Assert.Null(await ReadAsync(oversized));

        await AssertStillServingAsync(node, server, inbox);
    }

    [Fact]
    public async Task MalformedEnvelope_IsRefusedAndTheStreamGoesOn()
    {
        var (node, server, inbox, raw) = await TargetAsync();
        var stream = await OpenAsync(raw, node);

        await WriteAsync(stream, PortsFrameCodec.Encode(new DeliverFrame(1, 0, new byte[] { 0x93, 1, 2, 3 })));
        var nack = Assert.IsType<NackFrame>(await ReadAsync(stream));
        Assert.Equal((1UL, PortsErrorCode.Malformed), (nack.Seq, nack.Code));

        // Same stream, next request: a deliver without any right is refused, not enqueued.
        await WriteAsync(stream, Deliver(2, node, server, inbox));
        nack = Assert.IsType<NackFrame>(await ReadAsync(stream));
        Assert.Equal((2UL, PortsErrorCode.NoRight), (nack.Seq, nack.Code));
        Assert.Throws<ReceiveTimeoutException>(() => server.ReceiveMessageAsync(inbox, TimeSpan.Zero).GetAwaiter().GetResult());
        await AssertStillServingAsync(node, server, inbox);
    }

    [Fact]
    public async Task RightsThePeerDoesNotHold_AreRefusedAndCountNothing()
    {
        var (node, server, inbox, raw) = await TargetAsync();
        var notify = server.CreatePort();
        var stream = await OpenAsync(raw, node);
        var id = node.Ports.GetPortRef(server, inbox).Id;
        var somebody = IdentityKeyPair.Generate().PeerId;

        // Grant a right it does not hold to a third node, revoke a grant it never made, release rights it never had.
        await WriteAsync(stream, PortsFrameCodec.Encode(new GrantFrame(1, id, somebody, PortDisposition.PortSend, Revoke: false)));
        Assert.Equal(PortsErrorCode.NoRight, Assert.IsType<NackFrame>(await ReadAsync(stream)).Code);
        await WriteAsync(stream, PortsFrameCodec.Encode(new GrantFrame(2, id, somebody, PortDisposition.PortSend, Revoke: true)));
        Assert.Equal(PortsErrorCode.NoRight, Assert.IsType<NackFrame>(await ReadAsync(stream)).Code);
        await WriteAsync(stream, PortsFrameCodec.Encode(new ReleaseFrame(3, id, 1000, 1000)));
        Assert.IsType<AckFrame>(await ReadAsync(stream));

        // Nobody holds a right, so requesting no-senders fires at once; the bogus release changed no count.
        server.RequestNotification(inbox, PortNotificationKind.NoSenders, notify);
        Assert.Equal(PortNotification.NoSenders, (await ReceiveAsync(server, notify)).MessageId);
        Assert.Equal(0, server.GetStatus(inbox).SendRights);
        await AssertStillServingAsync(node, server, inbox);
    }

    [Fact]
    public async Task ClientThatNeverConfirms_IsCutOffAtTheLimit()
    {
        var (node, server, inbox, raw) = await TargetAsync(RemotePortOptions.Default with { MaxUnconfirmedPerPeer = 8 });
        var stream = await OpenAsync(raw, node);
        var id = PortId.NewRandom();

        // Nine requests, never a confirm: the node remembers eight outcomes, then closes the stream.
        for (ulong seq = 1; seq <= 9; seq++)
        {
            await WriteAsync(stream, PortsFrameCodec.Encode(new ReleaseFrame(seq, id, 1, 0)));
        }

        var acked = new List<ulong>();
        while (await ReadAsync(stream) is { } frame)
        {
            acked.AddRange(Assert.IsType<AckFrame>(frame).Ranges.SelectMany(r => Enumerable.Range((int)r.Start, (int)r.Count).Select(i => (ulong)i)));
        }

        Assert.Equal(Enumerable.Range(1, 8).Select(i => (ulong)i), acked);
        await AssertStillServingAsync(node, server, inbox);
    }

    [Fact]
    public async Task PortDeadClaims_OnlyReachPortsOfTheClaimingNode()
    {
        var (node, _, _, raw) = await TargetAsync();
        var other = await StartNodeAsync();
        Introduce(node, other);
        var otherTask = other.Kernel.CreateTask();
        var otherPort = otherTask.CreatePort();
        other.Ports.Publish(otherTask, otherPort, "p");
        var holder = node.Kernel.CreateTask();
        var send = await node.Ports.LookupAsync(holder, other.PeerId, "p").AsTask().WaitAsync(Timeout);
        var stream = await OpenAsync(raw, node);

        // The raw peer claims that the other node's port died: it can only speak for its own ports.
        await WriteAsync(stream, PortsFrameCodec.Encode(new PortDeadFrame(1, [other.Ports.GetPortRef(otherTask, otherPort).Id])));
        Assert.IsType<AckFrame>(await ReadAsync(stream));

        Assert.False(holder.GetRightTypes(send).HasFlag(PortRightTypes.DeadName));
        await holder.SendMessageAsync(Text(send, "alive"), Timeout);
        Assert.Equal("alive", TextOf(await ReceiveAsync(otherTask, otherPort)));
    }

    [Fact]
    public async Task DuplicateRequest_OnANewStream_IsAnsweredAgainButAppliedOnce()
    {
        var (node, server, inbox, raw) = await TargetAsync();
        var first = await OpenAsync(raw, node);
        await WriteAsync(first, PortsFrameCodec.Encode(new LookupFrame(1, null, "inbox")));
        var result = Assert.IsType<ResultFrame>(await ReadAsync(first));
        await WriteAsync(first, Deliver(2, node, server, inbox, "once"));
        Assert.IsType<AckFrame>(await ReadAsync(first));
        first.Reset();

        // Same epoch, nothing confirmed: the welcome reports both outcomes; a resend is not applied again.
        var second = await raw.NewStreamAsync(node.PeerId, PortsFrameCodec.ProtocolId).AsTask().WaitAsync(Timeout);
        await WriteAsync(second, PortsFrameCodec.Encode(new HelloFrame(PortsFrameCodec.Version, 12345, 0)));
        var welcome = Assert.IsType<WelcomeFrame>(await ReadAsync(second));
        Assert.Equal([new SeqRange(2, 1)], welcome.Acked);
        Assert.Equal(result.Port, Assert.Single(welcome.Results).Port);
        await WriteAsync(second, Deliver(2, node, server, inbox, "once"));
        Assert.IsType<AckFrame>(await ReadAsync(second));

        Assert.Equal("once", TextOf(await ReceiveAsync(server, inbox)));
        Assert.Throws<ReceiveTimeoutException>(() => server.ReceiveMessageAsync(inbox, TimeSpan.Zero).GetAwaiter().GetResult());
        Assert.Equal(1, server.GetStatus(inbox).SendRights); // one lookup, one right
    }

    /// <summary>A deliver to <paramref name="destination"/> that moves the receive right of <paramref name="moved"/> (sent as <paramref name="type"/>).</summary>
    private static byte[] MoveReceive(ulong seq, PortRef destination, PortRef moved, PortDisposition type = PortDisposition.PortReceive, ulong sequence = 0, uint hops = 0) =>
        PortsFrameCodec.EncodeDeliver(seq, 0, new MessageEnvelope
        {
            Destination = destination,
            Ports = [new PortDescriptorEnvelope(moved, type)],
            ReceiveRights = [new ReceiveRightEnvelope(0, sequence, 4, 3, 0, 0, hops)],
        });

    [Fact]
    public async Task ReceiveRight_NotTheSendersOrIdInUseOrToItselfOrInconsistent_IsRefusedTypedAndTheStreamGoesOn()
    {
        var (node, server, inbox, raw) = await TargetAsync();
        var other = server.CreatePort();
        var stream = await OpenAsync(raw, node);
        await WriteAsync(stream, PortsFrameCodec.Encode(new LookupFrame(1, null, "inbox")));
        Assert.IsType<ResultFrame>(await ReadAsync(stream));
        var inboxRef = node.Ports.GetPortRef(server, inbox);

        // Only a port's home can move its receive right: this one's home is the node itself.
        await WriteAsync(stream, MoveReceive(2, inboxRef, new PortRef(node.PeerId, PortId.NewRandom())));
        var nack = Assert.IsType<NackFrame>(await ReadAsync(stream));
        Assert.Equal((2UL, PortsErrorCode.NoRight), (nack.Seq, nack.Code));

        // The peer's own reference, but the id is taken here.
        await WriteAsync(stream, MoveReceive(3, inboxRef, new PortRef(raw.PeerId, node.Ports.GetPortRef(server, other).Id)));
        nack = Assert.IsType<NackFrame>(await ReadAsync(stream));
        Assert.Equal((3UL, PortsErrorCode.PortExists), (nack.Seq, nack.Code));

        // A port travelling in a message to itself.
        await WriteAsync(stream, MoveReceive(4, inboxRef, new PortRef(raw.PeerId, inboxRef.Id)));
        nack = Assert.IsType<NackFrame>(await ReadAsync(stream));
        Assert.Equal((4UL, PortsErrorCode.Unsupported), (nack.Seq, nack.Code));

        // Receive-right state for a descriptor that is not a receive right.
        await WriteAsync(stream, MoveReceive(5, inboxRef, new PortRef(raw.PeerId, PortId.NewRandom()), PortDisposition.PortSend));
        nack = Assert.IsType<NackFrame>(await ReadAsync(stream));
        Assert.Equal((5UL, PortsErrorCode.Malformed), (nack.Seq, nack.Code));

        // A right that keeps arriving only to be forwarded (a cycle across nodes) is stopped.
        await WriteAsync(stream, MoveReceive(6, inboxRef, new PortRef(raw.PeerId, PortId.NewRandom()), hops: PortKernel.MaxTransitHops));
        nack = Assert.IsType<NackFrame>(await ReadAsync(stream));
        Assert.Equal((6UL, PortsErrorCode.Unsupported), (nack.Seq, nack.Code));
        Assert.Throws<ReceiveTimeoutException>(() => server.ReceiveMessageAsync(inbox, TimeSpan.Zero).GetAwaiter().GetResult());
        Assert.Equal(2, node.Kernel.LivePortCount);

        // A well-formed move of the peer's own port arrives with its state.
        await WriteAsync(stream, MoveReceive(7, inboxRef, new PortRef(raw.PeerId, PortId.NewRandom()), sequence: 7, hops: PortKernel.MaxTransitHops - 1));
        Assert.IsType<AckFrame>(await ReadAsync(stream));
        var moved = Assert.Single((await ReceiveAsync(server, inbox)).Ports!);
        Assert.Equal(PortDisposition.PortReceive, moved.Disposition);
        var status = server.GetStatus(moved.Name);
        Assert.Equal((7UL, 4, 3u, false), (status.Sequence, status.QueueLimit, status.MakeSendCount, status.HasSendRights));
        await AssertStillServingAsync(node, server, inbox);
    }

    [Fact]
    public async Task VersionOneClient_GetsVersionOneAndOnlyTheErrorCodesItKnows()
    {
        var (node, server, inbox, raw) = await TargetAsync();
        var other = server.CreatePort();
        var stream = await OpenAsync(raw, node, version: 1);
        await WriteAsync(stream, PortsFrameCodec.Encode(new LookupFrame(1, null, "inbox")));
        Assert.IsType<ResultFrame>(await ReadAsync(stream));

        await WriteAsync(stream, MoveReceive(2, node.Ports.GetPortRef(server, inbox), new PortRef(raw.PeerId, node.Ports.GetPortRef(server, other).Id)));
        var nack = Assert.IsType<NackFrame>(await ReadAsync(stream));
        Assert.Equal((2UL, PortsErrorCode.Unsupported), (nack.Seq, nack.Code));
        await AssertStillServingAsync(node, server, inbox);
    }
}
