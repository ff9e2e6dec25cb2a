using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Noise;

namespace PromiseGrid.Mesh.Benchmarks;

/// <summary>
/// One-way throughput of the Noise secure channel over an in-memory transport (1 MiB pipe
/// buffers, like a socket): the dialer writes <see cref="TotalBytes"/> of plaintext in
/// <see cref="WriteSize"/> writes; the listener reads and discards. MB/s = TotalBytes / Mean.
/// Run: dotnet run -c Release --project tests/Benchmarks -- --filter '*NoiseChannel*'
/// </summary>
[MemoryDiagnoser]
public class NoiseChannelBenchmarks
{
    /// <summary>Bytes moved per benchmark invocation.</summary>
    public const int TotalBytes = 64 << 20;

    private readonly byte[] _chunk = new byte[1 << 20];
    private readonly byte[] _key = new byte[CipherState.KeyLength];
    private readonly byte[] _frame = new byte[NoiseFrameCodec.MaxMessageLength];
    private readonly byte[] _plain = new byte[NoiseFrameCodec.MaxPlaintextLength];
    private IdentityKeyPair? _dialerId;
    private IdentityKeyPair? _listenerId;
    private ISecureChannel? _dialer;
    private ISecureChannel? _listener;

    [Params(16 * 1024, 256 * 1024)]
    public int WriteSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        new Random(1).NextBytes(_chunk);
        _dialerId = IdentityKeyPair.Generate();
        _listenerId = IdentityKeyPair.Generate();
        var options = new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, useSynchronizationContext: false);
        var a = new Pipe(options);
        var b = new Pipe(options);
        var address = Multiaddr.Parse("/ip4/127.0.0.1/tcp/1");
        var dialerConnection = new MemoryConnection(b.Reader, a.Writer, address);
        var listenerConnection = new MemoryConnection(a.Reader, b.Writer, address);
        var inbound = new NoiseUpgrade(_listenerId).SecureInboundAsync(listenerConnection).AsTask();
        _dialer = new NoiseUpgrade(_dialerId).SecureOutboundAsync(dialerConnection, _listenerId.PeerId).AsTask().GetAwaiter().GetResult();
        _listener = inbound.GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _dialer?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _listener?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _dialerId?.Dispose();
        _listenerId?.Dispose();
    }

    [Benchmark]
    public async Task OneWay()
    {
        var write = WriteAsync(_dialer!.Output);
        await ReadAsync(_listener!.Input, TotalBytes).ConfigureAwait(false);
        await write.ConfigureAwait(false);
    }

    /// <summary>Baseline: the same bytes through ChaCha20-Poly1305 alone, encrypt then decrypt, one thread.</summary>
    [Benchmark(Baseline = true)]
    public void CipherOnly()
    {
        using var send = new CipherState(_key);
        using var receive = new CipherState(_key);
        var frame = _frame;
        var plaintext = _chunk.AsSpan(0, NoiseFrameCodec.MaxPlaintextLength);
        for (var done = 0L; done < TotalBytes; done += plaintext.Length)
        {
            send.Encrypt(plaintext, frame.AsSpan(0, plaintext.Length), frame.AsSpan(plaintext.Length, CipherState.TagLength));
            receive.TryDecrypt([], frame.AsSpan(0, plaintext.Length), frame.AsSpan(plaintext.Length, CipherState.TagLength), _plain);
        }
    }

    private async Task WriteAsync(PipeWriter output)
    {
        for (var sent = 0; sent < TotalBytes; sent += WriteSize)
        {
            await output.WriteAsync(_chunk.AsMemory(0, WriteSize)).ConfigureAwait(false);
        }
    }

    private static async Task ReadAsync(PipeReader input, long count)
    {
        while (count > 0)
        {
            var result = await input.ReadAsync().ConfigureAwait(false);
            count -= result.Buffer.Length;
            input.AdvanceTo(result.Buffer.End);
        }
    }

    private sealed class MemoryConnection(PipeReader input, PipeWriter output, Multiaddr address) : ITransportConnection
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;

        public Multiaddr LocalAddress { get; } = address;

        public Multiaddr RemoteAddress { get; } = address;

        public void Abort(Exception? reason = null) => Output.Complete(reason);

        public ValueTask DisposeAsync()
        {
            Output.Complete();
            return ValueTask.CompletedTask;
        }
    }
}
