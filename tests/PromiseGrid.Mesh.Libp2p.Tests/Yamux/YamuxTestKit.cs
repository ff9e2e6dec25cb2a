using System.Buffers;
using System.IO.Pipelines;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Libp2p.Tests.Testing;
using PromiseGrid.Mesh.Yamux;

namespace PromiseGrid.Mesh.Libp2p.Tests.Yamux;

/// <summary>Session pairs and a raw frame-level peer for yamux tests.</summary>
internal static class YamuxTestKit
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20); // generous: the CI machine is shared

    private static readonly Lazy<PeerId> LazyPeer = new(() =>
    {
        using var key = IdentityKeyPair.Generate();
        return key.PeerId;
    });

    public static PeerId Peer => LazyPeer.Value;

    /// <summary>Fixed windows, no keep-alive: sessions that send nothing unprompted.</summary>
    public static YamuxOptions Quiet { get; } = new()
    {
        MaxStreamWindow = YamuxCodec.InitialWindow,
        KeepAliveInterval = TimeSpan.Zero,
    };

    public static PipeOptions LargePipes { get; } = new(pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, useSynchronizationContext: false);

    public static (YamuxSession Client, YamuxSession Server) CreatePair(YamuxOptions? client = null, YamuxOptions? server = null)
    {
        var (left, right) = DuplexPipePair.Create(LargePipes);
        return (YamuxSession.CreateClient(left, Peer, client ?? Quiet), YamuxSession.CreateServer(right, Peer, server ?? Quiet));
    }

    /// <summary>A session against a <see cref="RawPeer"/> that speaks frames by hand.</summary>
    public static (YamuxSession Session, RawPeer Raw) CreateRaw(bool sessionIsClient = true, YamuxOptions? options = null)
    {
        var (left, right) = DuplexPipePair.Create(LargePipes);
        var session = sessionIsClient
            ? YamuxSession.CreateClient(left, Peer, options ?? Quiet)
            : YamuxSession.CreateServer(left, Peer, options ?? Quiet);
        return (session, new RawPeer(right));
    }

    public static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }


    /// <summary>Reads exactly <paramref name="count"/> bytes.</summary>
    public static async Task<byte[]> ReadExactlyAsync(PipeReader reader, int count)
    {
        var result = await reader.ReadAtLeastAsync(count);
        var bytes = result.Buffer.Slice(0, count).ToArray();
        reader.AdvanceTo(result.Buffer.GetPosition(count));
        return bytes;
    }

    /// <summary>Writes in chunks, flushing after each.</summary>
    public static async Task WriteChunkedAsync(PipeWriter writer, ReadOnlyMemory<byte> data, int chunk = 64 * 1024)
    {
        for (var offset = 0; offset < data.Length; offset += chunk)
        {
            await writer.WriteAsync(data.Slice(offset, Math.Min(chunk, data.Length - offset)));
        }
    }

    public static Task<T> Within<T>(this ValueTask<T> task) => task.AsTask().WaitAsync(Timeout);

    public static Task Within(this ValueTask task) => task.AsTask().WaitAsync(Timeout);

    public static Task<T> Within<T>(this Task<T> task) => task.WaitAsync(Timeout);

    public static Task Within(this Task task) => task.WaitAsync(Timeout);
}

/// <summary>The other end of a connection, driven frame by frame.</summary>
internal sealed class RawPeer(IDuplexPipe pipe)
{
    public IDuplexPipe Pipe { get; } = pipe;

    public async Task SendAsync(YamuxFrameHeader header, byte[]? payload = null)
    {
        var bytes = new byte[YamuxCodec.HeaderSize + (payload?.Length ?? 0)];
        YamuxCodec.Write(bytes, header);
        payload?.CopyTo(bytes, YamuxCodec.HeaderSize);
        await Pipe.Output.WriteAsync(bytes);
    }

    public Task SendRawAsync(byte[] bytes) => Pipe.Output.WriteAsync(bytes).AsTask();

    /// <summary>Reads one frame (payload only for Data frames); null at end of stream.</summary>
    public async Task<(YamuxFrameHeader Header, byte[] Payload)?> ReadFrameAsync()
    {
        var input = Pipe.Input;
        var result = await input.ReadAtLeastAsync(YamuxCodec.HeaderSize).Within();
        if (result.Buffer.Length < YamuxCodec.HeaderSize)
        {
            input.AdvanceTo(result.Buffer.End);
            return null;
        }

        YamuxCodec.TryRead(result.Buffer, out var header);
        input.AdvanceTo(result.Buffer.GetPosition(YamuxCodec.HeaderSize));
        if (header.Type != YamuxFrameType.Data || header.Length == 0)
        {
            return (header, []);
        }

        var length = (int)header.Length;
        result = await input.ReadAtLeastAsync(length).Within();
        var payload = result.Buffer.Slice(0, length).ToArray();
        input.AdvanceTo(result.Buffer.GetPosition(length));
        return (header, payload);
    }

    /// <summary>Reads frames until one matches, returning it and the frames skipped.</summary>
    public async Task<(YamuxFrameHeader Header, byte[] Payload)> ReadUntilAsync(Func<YamuxFrameHeader, bool> match, List<(YamuxFrameHeader Header, byte[] Payload)>? skipped = null)
    {
        while (true)
        {
            var frame = await ReadFrameAsync() ?? throw new InvalidOperationException("the connection ended before the expected frame");
            if (match(frame.Header))
            {
                return frame;
            }

            skipped?.Add(frame);
        }
    }

    /// <summary>Reads until the end of the connection, returning every frame.</summary>
    public async Task<List<YamuxFrameHeader>> ReadAllAsync()
    {
        var frames = new List<YamuxFrameHeader>();
        while (await ReadFrameAsync() is { } frame)
        {
            frames.Add(frame.Header);
        }

        return frames;
    }
}
