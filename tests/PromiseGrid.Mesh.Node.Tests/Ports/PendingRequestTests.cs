using System.Buffers;
using PromiseGrid.Mesh.Node.Ports;
using PromiseGrid.Mesh.Ports;
using PromiseGrid.Mesh.Ports.Wire;

namespace PromiseGrid.Mesh.Node.Tests.Ports;

/// <summary>Reuse of pooled requests: a request goes back only when link and caller are done with it, and comes back clean.</summary>
public sealed class PendingRequestTests
{
    [Fact]
    public async Task Release_ByCallerAndLink_ReturnsACleanRequestToThePool()
    {
        var pool = new RequestPool();
        var request = pool.Rent(PortsFrameType.Deliver, awaited: true);
        var plan = request.SparePlan;
        request.Seq = 41;
        request.Written = true;
        request.Deadline = 1234;
        var buffer = request.Buffer(64);
        buffer.GetSpan(3)[..3].Fill(7);
        buffer.Advance(3);
        request.Frame = buffer.Frame();
        var awaitable = request.AsPlainValueTask();

        request.TryAnswer(default, null);
        request.ReleaseByLink();
        Assert.Equal(0, pool.Count);
        await awaitable;
        Assert.Equal(1, pool.Count);

        var again = pool.Rent(PortsFrameType.Deliver, awaited: true);
        Assert.Same(request, again);
        Assert.Equal(0UL, again.Seq);
        Assert.False(again.HasFrame);
        Assert.False(again.Written);
        Assert.False(again.Abandoned);
        Assert.Null(again.Message);
        Assert.Null(again.Plan);
        Assert.Same(plan, again.SparePlan);
        Assert.Equal(long.MaxValue, again.Deadline);
        Assert.False(again.AsPlainValueTask().IsCompleted);
    }

    [Fact]
    public async Task Release_LinkStillHoldsIt_NotReturnedUntilSettled()
    {
        var pool = new RequestPool();
        var request = pool.Rent(PortsFrameType.Deliver, awaited: true);
        var awaitable = request.AsPlainValueTask();

        // The caller was answered (a timeout) but the outcome is still to come: the link keeps it.
        request.TryAnswer(default, new SendTimeoutException("timed out"));
        await Assert.ThrowsAsync<SendTimeoutException>(async () => await awaitable);
        Assert.Equal(0, pool.Count);
        Assert.True(request.Abandoned);

        request.ReleaseByLink();
        Assert.Equal(1, pool.Count);
    }

    [Fact]
    public async Task GetResult_WithTheTokenOfAnEarlierUse_Throws()
    {
        var pool = new RequestPool();
        var request = pool.Rent(PortsFrameType.Lookup, awaited: true);
        var first = request.AsValueTask();
        request.TryAnswer(new PortId(1, 2), null);
        request.ReleaseByLink();
        Assert.Equal(new PortId(1, 2), await first);

        var reused = pool.Rent(PortsFrameType.Lookup, awaited: true);
        Assert.Same(request, reused);
        var second = reused.AsValueTask();

        // The first use's awaitable cannot see (or consume) the second use's result.
        Assert.Throws<InvalidOperationException>(() => first.GetAwaiter().GetResult());
        reused.TryAnswer(new PortId(3, 4), null);
        reused.ReleaseByLink();
        Assert.Equal(new PortId(3, 4), await second);
    }

    [Fact]
    public async Task Cancel_TokenOfAnEarlierUse_DoesNotAnswerTheReuse()
    {
        var pool = new RequestPool();
        using var earlier = new CancellationTokenSource();
        var request = pool.Rent(PortsFrameType.Deliver, awaited: true);
        request.Registration = earlier.Token.UnsafeRegister(static (s, ct) => ((PendingRequest)s!).TryAnswer(default, new OperationCanceledException(ct)), request);
        var first = request.AsPlainValueTask();
        request.TryAnswer(default, null);
        request.ReleaseByLink();
        await first;

        var reused = pool.Rent(PortsFrameType.Deliver, awaited: true);
        Assert.Same(request, reused);
        var second = reused.AsPlainValueTask();
        await earlier.CancelAsync();

        Assert.False(second.IsCompleted);
        Assert.False(reused.Abandoned);
        reused.TryAnswer(default, null);
        reused.ReleaseByLink();
        await second;
    }

    [Fact]
    public void Release_NotAwaited_ReturnsWhenTheLinkIsDone()
    {
        var pool = new RequestPool();
        var request = pool.Rent(PortsFrameType.Release, awaited: false);
        request.TryAnswer(default, null);
        request.ReleaseByLink();
        Assert.Equal(1, pool.Count);
    }

    [Fact]
    public void Buffer_LargerThanKept_IsDroppedOnReturn()
    {
        var pool = new RequestPool();
        var request = pool.Rent(PortsFrameType.Deliver, awaited: false);
        var big = request.Buffer(PendingRequest.MaxKeptBuffer * 4);
        request.TryAnswer(default, null);
        request.ReleaseByLink();

        var again = pool.Rent(PortsFrameType.Deliver, awaited: false);
        Assert.Same(request, again);
        Assert.NotSame(big, again.Buffer(16));
    }

    [Fact]
    public void Buffers_LargeOnes_KeptOnlyUpToTheIdleBudget()
    {
        var pool = new RequestPool();
        const int size = 48 << 10;
        var requests = Enumerable.Range(0, (RequestPool.MaxIdleBufferBytes / size) + 10).Select(_ => pool.Rent(PortsFrameType.Deliver, awaited: false)).ToList();
        foreach (var r in requests)
        {
            r.Buffer(size);
            r.TryAnswer(default, null);
            r.ReleaseByLink();
        }

        long kept = 0;
        for (var i = 0; i < requests.Count; i++)
        {
            kept += pool.Rent(PortsFrameType.Deliver, awaited: false).BufferCapacity;
        }

        Assert.InRange(kept, RequestPool.MaxIdleBufferBytes - size, RequestPool.MaxIdleBufferBytes);
    }

    [Fact]
    public void Frame_WrittenInPlace_HasItsLengthPrefixAndSeq()
    {
        var request = new RequestPool().Rent(PortsFrameType.Deliver, awaited: false);
        var buffer = request.Buffer(16);
        var w = new MessagePack.MessagePackWriter(buffer);
        PortsFrameCodec.WriteDeliverHeader(ref w, 0, 250);
        MessageEnvelopeCodec.Write(
            ref w, new PortRef(TestPeers.Local, new PortId(5, 6)), PortDisposition.PortSend, null, 0, 9,
            default, 0, [1, 2, 3], [], [], new TrailerEnvelope(null, 1, 0, 0));
        w.Flush();
        var frame = buffer.Frame();
        PortsFrameCodec.SetSeq(frame, 77);

        var sequence = new ReadOnlySequence<byte>(frame.AsMemory());
        Assert.True(PortsFrameCodec.TryReadFrame(ref sequence, 1 << 20, out var body));
        Assert.True(sequence.IsEmpty);
        var deliver = Assert.IsType<DeliverFrame>(PortsFrameCodec.Decode(body.ToArray()));
        Assert.Equal(77UL, deliver.Seq);
        Assert.Equal(250U, deliver.TimeoutMilliseconds);
        var envelope = MessageEnvelopeCodec.Decode(deliver.Envelope);
        Assert.Equal(new byte[] { 1, 2, 3 }, envelope.Payload.ToArray());
        Assert.Equal(9, envelope.MessageId);
    }
}
