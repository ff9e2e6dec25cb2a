using System.Diagnostics;
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Yamux;

namespace PromiseGrid.Mesh.Benchmarks;

/// <summary>
/// Yamux bulk throughput over in-memory pipes (no transport, no encryption): one stream moving
/// 256 MiB, and 16 streams moving 16 MiB each. Run:
/// <c>dotnet run -c Release --project tests/Benchmarks -- --filter '*YamuxThroughput*'</c>.
/// The reported time per operation converts to MB/s as bytes / time.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5, invocationCount: 1)]
public class YamuxThroughputBenchmarks
{
    [Params(1, 16)]
    public int Streams { get; set; }

    /// <summary>Bytes per stream: 256 MiB for one stream, 16 MiB each for 16.</summary>
    public long BytesPerStream => Streams == 1 ? 256L * 1024 * 1024 : 16L * 1024 * 1024;

    [Benchmark]
    public Task TransferAsync() => YamuxThroughput.RunAsync(Streams, BytesPerStream);
}

/// <summary>The measured transfer, shared by the benchmark and quick Stopwatch runs.</summary>
public static class YamuxThroughput
{
    private const int Chunk = 64 * 1024;
    private static readonly PeerId Peer = CreatePeer();

    /// <summary>Moves <paramref name="bytesPerStream"/> on each of <paramref name="streams"/> streams; returns the elapsed time.</summary>
    public static async Task<TimeSpan> RunAsync(int streams, long bytesPerStream, YamuxOptions? options = null)
    {
        // Connection pipes sized like socket buffers.
        var pipeOptions = new PipeOptions(pool: YamuxBufferPool.Instance, minimumSegmentSize: YamuxBufferPool.BlockSize, pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, useSynchronizationContext: false);
        var toServer = new Pipe(pipeOptions);
        var toClient = new Pipe(pipeOptions);
        await using var client = YamuxSession.CreateClient(new Duplex(toClient.Reader, toServer.Writer), Peer, options);
        await using var server = YamuxSession.CreateServer(new Duplex(toServer.Reader, toClient.Writer), Peer, options);

        var watch = Stopwatch.StartNew();
        var receiver = Task.Run(async () =>
        {
            var readers = new Task<long>[streams];
            for (var i = 0; i < streams; i++)
            {
                var stream = await server.AcceptStreamAsync().ConfigureAwait(false);
                readers[i] = Task.Run(() => DrainAsync(stream));
            }

            var total = 0L;
            foreach (var reader in readers)
            {
                total += await reader.ConfigureAwait(false);
            }

            return total;
        });
        var senders = new Task[streams];
        for (var i = 0; i < streams; i++)
        {
            senders[i] = Task.Run(async () =>
            {
                var stream = await client.OpenStreamAsync().ConfigureAwait(false);
                await FillAsync(stream, bytesPerStream).ConfigureAwait(false);
            });
        }

        await Task.WhenAll(senders).ConfigureAwait(false);
        var received = await receiver.ConfigureAwait(false);
        watch.Stop();
        if (received != streams * bytesPerStream)
        {
            throw new InvalidOperationException($"received {received} of {streams * bytesPerStream} bytes");
        }

        return watch.Elapsed;
    }

    private static async Task FillAsync(YamuxStream stream, long bytes)
    {
        var output = stream.Output;
        for (var sent = 0L; sent < bytes; sent += Chunk)
        {
            var size = (int)Math.Min(Chunk, bytes - sent);
            output.GetSpan(size)[..size].Fill(0x5a);
            output.Advance(size);
            await output.FlushAsync().ConfigureAwait(false);
        }

        await stream.CloseWriteAsync().ConfigureAwait(false);
    }

    private static async Task<long> DrainAsync(YamuxStream stream)
    {
        var input = stream.Input;
        var total = 0L;
        while (true)
        {
            var result = await input.ReadAsync().ConfigureAwait(false);
            total += result.Buffer.Length;
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
                return total;
            }
        }
    }

    private static PeerId CreatePeer()
    {
        using var key = IdentityKeyPair.Generate();
        return key.PeerId;
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
