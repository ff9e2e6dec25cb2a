using System.IO.Pipelines;
using PromiseGrid.Mesh.Libp2p.Tests.Testing;
using PromiseGrid.Mesh.Yamux;
using static PromiseGrid.Mesh.Libp2p.Tests.Yamux.YamuxTestKit;

namespace PromiseGrid.Mesh.Libp2p.Tests.Yamux;

/// <summary>Writes made on the caller's thread and reads resumed on the read loop (no thread hand-off).</summary>
public class YamuxInlineTests
{
    [Fact]
    public async Task Flush_OnAnIdleSession_HasWrittenTheFramesWhenItReturns()
    {
        var (session, raw) = CreateRaw();
        await using var _ = session;
        var stream = await session.OpenStreamAsync().Within();

        var flush = stream.Output.WriteAsync(new byte[] { 1, 2, 3 });

        // Nobody else owns the connection's output, so the caller wrote SYN and data itself.
        Assert.True(flush.IsCompletedSuccessfully);
        Assert.True(raw.Pipe.Input.TryRead(out var written));
        Assert.Equal(2 * YamuxCodec.HeaderSize + 3, written.Buffer.Length);
        raw.Pipe.Input.AdvanceTo(written.Buffer.Start);
        Assert.Equal(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Syn), (await raw.ReadFrameAsync())!.Value.Header);
        Assert.Equal(new byte[] { 1, 2, 3 }, (await raw.ReadFrameAsync())!.Value.Payload);
    }

    [Fact]
    public async Task Flush_AgainstAConnectionThatPushesBack_IsFinishedByTheWriteLoop_InOrder()
    {
        // A connection that pauses its writer after 64 bytes: an inline flush cannot complete at once.
        var (left, right) = DuplexPipePair.Create(new PipeOptions(pauseWriterThreshold: 64, resumeWriterThreshold: 32, useSynchronizationContext: false));
        var session = YamuxSession.CreateClient(left, Peer, Quiet);
        await using var _ = session;
        var raw = new RawPeer(right);
        var stream = await session.OpenStreamAsync().Within();
        var data = RandomBytes(3000, seed: 7);

        for (var offset = 0; offset < data.Length; offset += 1000)
        {
            await stream.Output.WriteAsync(data.AsMemory(offset, 1000)).Within();
        }

        var received = new List<byte>();
        Assert.Equal(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Syn), (await raw.ReadFrameAsync())!.Value.Header);
        while (received.Count < data.Length)
        {
            received.AddRange((await raw.ReadFrameAsync())!.Value.Payload);
        }

        Assert.Equal(data, received.ToArray());

        // The write loop gave the output back: a later write goes out too.
        await stream.Output.WriteAsync(new byte[] { 9 }).Within();
        Assert.Equal(new byte[] { 9 }, (await raw.ReadFrameAsync())!.Value.Payload);
    }

    [Fact]
    public async Task WritesMadeWhileAReadIsProcessed_GoOutTogetherAfterIt()
    {
        var (session, raw) = CreateRaw(sessionIsClient: false);
        await using var _ = session;
        await raw.SendAsync(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Syn));
        var stream = await session.AcceptStreamAsync().Within();
        Assert.Equal(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Ack), (await raw.ReadFrameAsync())!.Value.Header);
        stream.ResumeReadsInline();
        var pending = stream.Input.ReadAsync();
        Assert.False(pending.IsCompleted);
        var handler = AnswerAsync();

        await raw.SendAsync(YamuxFrameHeader.Data(1, 1), [7]);

        // Two flushes in the handler, which ran inside the read: neither was on the wire yet.
        Assert.False(await handler.Within());
        var payloads = new List<byte>();
        while (payloads.Count < 2)
        {
            var frame = (await raw.ReadFrameAsync())!.Value;
            payloads.AddRange(frame.Payload);
        }

        Assert.Equal(new byte[] { 1, 2 }, payloads.ToArray());

        async Task<bool> AnswerAsync()
        {
            // ConfigureAwait(false): resume where the read completes (the read loop), not on the test's context.
            var result = await pending.ConfigureAwait(false);
            stream.Input.AdvanceTo(result.Buffer.End);
            await stream.Output.WriteAsync(new byte[] { 1 }).ConfigureAwait(false);
            await stream.Output.WriteAsync(new byte[] { 2 }).ConfigureAwait(false);
            if (!raw.Pipe.Input.TryRead(out var seen))
            {
                return false;
            }

            raw.Pipe.Input.AdvanceTo(seen.Buffer.Start);
            return seen.Buffer.Length > 0;
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ResumeReadsInline_RunsTheReaderBeforeTheReadLoopGoesOn(bool inline)
    {
        var (session, raw) = CreateRaw(sessionIsClient: false);
        await using var _ = session;
        await raw.SendAsync(YamuxFrameHeader.WindowUpdate(1, 0, YamuxFlags.Syn));
        var first = await session.AcceptStreamAsync().Within();
        if (inline)
        {
            first.ResumeReadsInline();
        }

        var secondRead = new ManualResetEventSlim();
        var pending = first.Input.ReadAsync();
        Assert.False(pending.IsCompleted);
        var firstReader = ReadThenWaitAsync();
        var secondReader = Task.Run(async () =>
        {
            var second = await session.AcceptStreamAsync();
            await ReadExactlyAsync(second.Input, 1);
            secondRead.Set();
        });

        // One write: data for stream 1, then a new stream 3 with data, read in one pass of the loop.
        var frames = new byte[(3 * YamuxCodec.HeaderSize) + 2];
        YamuxCodec.Write(frames, YamuxFrameHeader.Data(1, 1));
        YamuxCodec.Write(frames.AsSpan(YamuxCodec.HeaderSize + 1), YamuxFrameHeader.WindowUpdate(3, 0, YamuxFlags.Syn));
        YamuxCodec.Write(frames.AsSpan((2 * YamuxCodec.HeaderSize) + 1), YamuxFrameHeader.Data(3, 1));
        await raw.SendRawAsync(frames);

        var sawSecondWhileReadingFirst = await firstReader.Within();
        await secondReader.Within();
        Assert.Equal(!inline, sawSecondWhileReadingFirst);

        async Task<bool> ReadThenWaitAsync()
        {
            var result = await pending.ConfigureAwait(false); // resume where the read completes
            first.Input.AdvanceTo(result.Buffer.End);

            // Inline, this code runs on the read loop: stream 3's data cannot be read until it returns.
            return secondRead.Wait(inline ? TimeSpan.FromMilliseconds(300) : YamuxTestKit.Timeout);
        }
    }
}
