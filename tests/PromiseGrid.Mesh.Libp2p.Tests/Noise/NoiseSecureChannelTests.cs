using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Time.Testing;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Noise;

namespace PromiseGrid.Mesh.Libp2p.Tests.Noise;

/// <summary>The transport phase: data both ways, framing, half-close, bad frames, disposal.</summary>
public class NoiseSecureChannelTests
{
    private static readonly TimeSpan Timeout = NoiseTestKit.Timeout;

    [Fact]
    public async Task Transport_BothDirections_DeliversBytes()
    {
        await using var kit = new NoiseTestKit();
        var (dialer, listener) = await kit.HandshakeAsync();

        await dialer.Output.WriteAsync("ping"u8.ToArray());
        await listener.Output.WriteAsync("pong!"u8.ToArray());

        Assert.Equal("ping"u8.ToArray(), await NoiseTestKit.ReadExactlyAsync(listener.Input, 4));
        Assert.Equal("pong!"u8.ToArray(), await NoiseTestKit.ReadExactlyAsync(dialer.Input, 5));
    }

    [Theory]
    [InlineData(1 << 20)]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(65518)]
    [InlineData(65519)]
    [InlineData(65520)]
    [InlineData(131039)]
    [InlineData(1_000_003)]
    public async Task Transport_SizesAroundFrameLimits_RoundTripByteForByteBothWays(int size)
    {
        await using var kit = new NoiseTestKit();
        var (dialer, listener) = await kit.HandshakeAsync();
        var up = NoiseTestKit.Pattern(size, 1);
        var down = NoiseTestKit.Pattern(size, 2);

        var upload = Task.Run(async () => { await dialer.Output.WriteAsync(up); await dialer.Output.CompleteAsync(); });
        var download = Task.Run(async () => { await listener.Output.WriteAsync(down); await listener.Output.CompleteAsync(); });
        var receivedUp = await NoiseTestKit.ReadToEndAsync(listener.Input);
        var receivedDown = await NoiseTestKit.ReadToEndAsync(dialer.Input);
        await Task.WhenAll(upload, download).WaitAsync(Timeout);

        Assert.Equal(up, receivedUp);
        Assert.Equal(down, receivedDown);
    }

    [Fact]
    public async Task Transport_ManySmallWritesOfOddSizes_ArriveInOrder()
    {
        await using var kit = new NoiseTestKit(pipeOptions: new PipeOptions(useSynchronizationContext: false)); // default 64 KiB pipe
        var (dialer, listener) = await kit.HandshakeAsync();
        var data = NoiseTestKit.Pattern(300_000, 3);
        var sizes = new[] { 1, 7, 4093, 65519, 3, 65520, 100_000 };

        var writer = Task.Run(async () =>
        {
            var offset = 0;
            for (var i = 0; offset < data.Length; i++)
            {
                var n = Math.Min(sizes[i % sizes.Length], data.Length - offset);
                await dialer.Output.WriteAsync(data.AsMemory(offset, n));
                offset += n;
            }

            await dialer.Output.CompleteAsync();
        });

        Assert.Equal(data, await NoiseTestKit.ReadToEndAsync(listener.Input));
        await writer.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Transport_LargeWrite_ChunkedIntoMaximalFrames()
    {
        await using var kit = new NoiseTestKit();
        using var raw = new RawNoisePeer(kit.Listener, initiator: false, kit.ListenerIdentity);
        var outbound = kit.DialerUpgrade.SecureOutboundAsync(kit.Dialer, null).AsTask();
        await raw.ReadHandshakeAsync().WaitAsync(Timeout);
        raw.WriteHandshake(raw.ValidPayload());
        await raw.FlushAsync();
        await raw.ReadHandshakeAsync().WaitAsync(Timeout);
        await using var channel = await outbound.WaitAsync(Timeout);
        var data = NoiseTestKit.Pattern(200_000, 4);

        await channel.Output.WriteAsync(data);

        var received = new List<byte>();
        var frameLengths = new List<int>();
        while (received.Count < data.Length)
        {
            var plaintext = await raw.ReadTransportAsync().WaitAsync(Timeout);
            frameLengths.Add(plaintext.Length + CipherState.TagLength);
            received.AddRange(plaintext);
        }

        Assert.Equal(data, received.ToArray());
        Assert.Equal([65535, 65535, 65535, 200_000 - (3 * 65519) + 16], frameLengths);
    }

    [Fact]
    public async Task CompleteOutput_HalfClosesTransport_RemoteInputEndsAndReplyStillFlows()
    {
        await using var kit = new NoiseTestKit();
        var (dialer, listener) = await kit.HandshakeAsync();

        await dialer.Output.WriteAsync("request"u8.ToArray());
        await dialer.Output.CompleteAsync();
        Assert.Equal("request"u8.ToArray(), await NoiseTestKit.ReadToEndAsync(listener.Input));

        await listener.Output.WriteAsync("response"u8.ToArray());
        await listener.Output.CompleteAsync();
        Assert.Equal("response"u8.ToArray(), await NoiseTestKit.ReadToEndAsync(dialer.Input));
        Assert.False(kit.Dialer.Aborted.IsCompleted);
        Assert.False(kit.Listener.Aborted.IsCompleted);
    }

    [Fact]
    public async Task ReadLoop_TamperedCiphertext_FailsWithNoiseDecryptionAndAbortsConnection()
    {
        await using var kit = new NoiseTestKit();
        var (raw, channel) = await RawDialerAsync(kit);
        using (raw)
        await using (channel)
        {
            raw.WriteFrame(raw.EncryptFrame("fine"u8));
            await raw.FlushAsync();
            Assert.Equal("fine"u8.ToArray(), await NoiseTestKit.ReadExactlyAsync(channel.Input, 4));

            var bad = raw.EncryptFrame("tampered"u8);
            bad[3] ^= 0x04;
            raw.WriteFrame(bad);
            await raw.FlushAsync();

            await Assert.ThrowsAsync<NoiseDecryptionException>(() => NoiseTestKit.ReadExactlyAsync(channel.Input, 1));
            Assert.IsType<NoiseDecryptionException>(await kit.Listener.Aborted.WaitAsync(Timeout));
            // The write loop stops asynchronously; writes fail with the same error once it has.
            await Assert.ThrowsAsync<NoiseDecryptionException>(async () =>
            {
                for (var i = 0; i < 1_000_000; i++)
                {
                    await channel.Output.WriteAsync(new byte[1]);
                    await Task.Yield();
                }
            }).WaitAsync(Timeout);
        }
    }

    [Fact]
    public async Task ReadLoop_FrameShorterThanTag_FailsWithProtocolViolation()
    {
        await using var kit = new NoiseTestKit();
        var (raw, channel) = await RawDialerAsync(kit);
        using (raw)
        await using (channel)
        {
            raw.WriteFrame(new byte[15]);
            await raw.FlushAsync();

            await Assert.ThrowsAsync<ProtocolViolationException>(() => NoiseTestKit.ReadExactlyAsync(channel.Input, 1));
            Assert.IsType<ProtocolViolationException>(await kit.Listener.Aborted.WaitAsync(Timeout));
        }
    }

    [Fact]
    public async Task ReadLoop_EofInsideFrame_FailsWithConnectionClosed()
    {
        await using var kit = new NoiseTestKit();
        var (raw, channel) = await RawDialerAsync(kit);
        using (raw)
        await using (channel)
        {
            var frame = raw.EncryptFrame("cut short"u8);
            raw.WriteRaw([0x00, (byte)frame.Length]);
            raw.WriteRaw(frame.AsSpan(0, 10));
            await raw.FlushAsync();
            await kit.Dialer.Output.CompleteAsync();

            var error = await Assert.ThrowsAsync<ConnectionClosedException>(() => NoiseTestKit.ReadExactlyAsync(channel.Input, 1));
            Assert.True(error.IsRemote);
        }
    }

    [Fact]
    public async Task ReadLoop_EmptyTransportMessage_AcceptedAndSkipped()
    {
        await using var kit = new NoiseTestKit();
        var (raw, channel) = await RawDialerAsync(kit);
        using (raw)
        await using (channel)
        {
            raw.WriteFrame(raw.EncryptFrame([]));
            raw.WriteFrame(raw.EncryptFrame("after"u8));
            await raw.FlushAsync();
            await kit.Dialer.Output.CompleteAsync();

            Assert.Equal("after"u8.ToArray(), await NoiseTestKit.ReadToEndAsync(channel.Input));
        }
    }

    [Fact]
    public async Task ReadLoop_FramesSplitAcrossManyWrites_Reassembled()
    {
        await using var kit = new NoiseTestKit();
        var (raw, channel) = await RawDialerAsync(kit);
        using (raw)
        await using (channel)
        {
            var data = NoiseTestKit.Pattern(70_000, 5);
            var wire = new List<byte>();
            foreach (var chunk in data.Chunk(30_000))
            {
                var frame = raw.EncryptFrame(chunk);
                wire.Add((byte)(frame.Length >> 8));
                wire.Add((byte)frame.Length);
                wire.AddRange(frame);
            }

            foreach (var piece in wire.Chunk(777))
            {
                raw.WriteRaw(piece);
                await raw.FlushAsync();
            }

            Assert.Equal(data, await NoiseTestKit.ReadExactlyAsync(channel.Input, data.Length));
        }
    }

    [Fact]
    public async Task ReadLoop_MoreFramesBufferedThanOneBatch_AllDeliveredWithoutFurtherInput()
    {
        await using var kit = new NoiseTestKit(options: new NoiseOptions { MaxBufferedBytes = NoiseFrameCodec.MaxMessageLength });
        var (raw, channel) = await RawDialerAsync(kit);
        using (raw)
        await using (channel)
        {
            var data = NoiseTestKit.Pattern(5 * 30_000, 7);
            foreach (var chunk in data.Chunk(30_000))
            {
                raw.WriteFrame(raw.EncryptFrame(chunk));
            }

            await raw.FlushAsync(); // one flush, never another byte: the batches must drain on their own

            Assert.Equal(data, await NoiseTestKit.ReadExactlyAsync(channel.Input, data.Length));
        }
    }

    [Fact]
    public async Task DisposeAsync_Twice_SendsBufferedDataThenEofAndDisposesTransport()
    {
        await using var kit = new NoiseTestKit();
        var (dialer, listener) = await kit.HandshakeAsync();
        var data = NoiseTestKit.Pattern(100_000, 6);
        dialer.Output.Write(data);
        await dialer.Output.FlushAsync();

        await dialer.DisposeAsync().AsTask().WaitAsync(Timeout);
        await dialer.DisposeAsync().AsTask().WaitAsync(Timeout);

        Assert.Equal(data, await NoiseTestKit.ReadToEndAsync(listener.Input));
        Assert.True(kit.Dialer.IsDisposed);
        Assert.False(kit.Dialer.Aborted.IsCompleted);
    }

    [Fact]
    public async Task DisposeAsync_RemoteNotReading_GivesUpAfterDrainTimeoutAndAbortsTransport()
    {
        var time = new FakeTimeProvider();
        await using var kit = new NoiseTestKit(
            pipeOptions: new PipeOptions(useSynchronizationContext: false), // 64 KiB transport buffer
            options: new NoiseOptions { TimeProvider = time, DrainTimeout = TimeSpan.FromSeconds(5) });
        var (raw, dialer) = await RawListenerAsync(kit); // the raw listener never reads after the handshake
        using var _ = raw;
        dialer.Output.Write(new byte[900_000]); // far more than the 64 KiB transport buffer
        await dialer.Output.FlushAsync();

        var dispose = dialer.DisposeAsync().AsTask();
        Assert.False(dispose.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(5));

        await dispose.WaitAsync(Timeout);
        Assert.IsType<ConnectionClosedException>(await kit.Dialer.Aborted.WaitAsync(Timeout));
        Assert.True(kit.Dialer.IsDisposed);
    }

    [Fact]
    public async Task Abort_FailsPendingReadAndAbortsTransport()
    {
        await using var kit = new NoiseTestKit();
        var (dialer, listener) = await kit.HandshakeAsync();
        var pendingRead = dialer.Input.ReadAsync().AsTask();
        var reason = new ConnectionClosedException("test abort");

        dialer.Abort(reason);

        var error = await Assert.ThrowsAsync<ConnectionClosedException>(() => pendingRead.WaitAsync(Timeout));
        Assert.Same(reason, error);
        Assert.Same(reason, await kit.Dialer.Aborted.WaitAsync(Timeout));
        await Assert.ThrowsAsync<ConnectionClosedException>(() => NoiseTestKit.ReadToEndAsync(listener.Input));
    }

    /// <summary>A real initiator channel against a hand-driven responder.</summary>
    private static async Task<(RawNoisePeer Raw, ISecureChannel Channel)> RawListenerAsync(NoiseTestKit kit)
    {
        var raw = new RawNoisePeer(kit.Listener, initiator: false, kit.ListenerIdentity);
        var outbound = kit.DialerUpgrade.SecureOutboundAsync(kit.Dialer, kit.ListenerIdentity.PeerId).AsTask();
        await raw.ReadHandshakeAsync().WaitAsync(Timeout);
        raw.WriteHandshake(raw.ValidPayload());
        await raw.FlushAsync();
        await raw.ReadHandshakeAsync().WaitAsync(Timeout);
        return (raw, await outbound.WaitAsync(Timeout));
    }

    /// <summary>A hand-driven initiator against a real responder channel.</summary>
    private static async Task<(RawNoisePeer Raw, ISecureChannel Channel)> RawDialerAsync(NoiseTestKit kit)
    {
        var raw = new RawNoisePeer(kit.Dialer, initiator: true, kit.DialerIdentity);
        var inbound = kit.ListenerUpgrade.SecureInboundAsync(kit.Listener).AsTask();
        raw.WriteHandshake([]);
        await raw.FlushAsync();
        await raw.ReadHandshakeAsync().WaitAsync(Timeout);
        raw.WriteHandshake(raw.ValidPayload());
        await raw.FlushAsync();
        return (raw, await inbound.WaitAsync(Timeout));
    }
}
