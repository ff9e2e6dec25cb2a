using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Identity;

namespace PromiseGrid.Mesh.Noise;

/// <summary>
/// The Noise transport phase (libp2p-wire §5.6) as an <see cref="ISecureChannel"/>: a byte
/// stream whose <see cref="Input"/> holds decrypted bytes and whose <see cref="Output"/> takes
/// plaintext that is sent in transport messages of at most 65519 plaintext bytes.
/// One read loop decrypts frames from the transport straight into the input pipe's memory; one
/// write loop encrypts the output pipe straight into the transport's memory and flushes many
/// frames at once.
/// <list type="bullet">
/// <item>Completing <see cref="Output"/> sends what is buffered, then half-closes the transport.</item>
/// <item>The remote's EOF completes <see cref="Input"/>; this side can still write.</item>
/// <item>A frame that fails authentication or is shorter than a tag ends the whole connection:
/// both pipes complete with <see cref="NoiseDecryptionException"/> or
/// <see cref="ProtocolViolationException"/> and the transport is aborted (plaintext decrypted but
/// not yet read by then is discarded).</item>
/// <item><see cref="Abort"/> is a hard close; <see cref="DisposeAsync"/> completes
/// <see cref="Output"/>, waits up to <see cref="NoiseOptions.DrainTimeout"/> for it to be sent,
/// stops reading and disposes the transport.</item>
/// </list>
/// </summary>
internal sealed partial class NoiseSecureChannel : ISecureChannel
{
    private readonly ITransportConnection _transport;
    private readonly CipherState _send;
    private readonly CipherState _receive;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly NoiseOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private Task _readLoop = Task.CompletedTask;
    private Task _writeLoop = Task.CompletedTask;
    private Task? _disposeTask;
    private Exception? _failure;

    public NoiseSecureChannel(ITransportConnection transport, PeerId localPeer, NoiseHandshakeResult handshake, NoiseOptions options, ILogger logger)
    {
        _transport = transport;
        _send = handshake.Send;
        _receive = handshake.Receive;
        _options = options;
        _logger = logger;
        LocalPeer = localPeer;
        RemotePeer = handshake.RemotePeer;
        RemotePublicKey = handshake.RemoteKey;
        // Readers run inline on the flushing thread: a flush of Output encrypts and hands the frames
        // to the transport on the writer's thread, and the read loop's flush of Input runs the layer
        // above (yamux) on the read loop's thread, instead of one thread-pool hop per layer.
        var pipeOptions = new PipeOptions(
            readerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: options.MaxBufferedBytes,
            resumeWriterThreshold: options.MaxBufferedBytes / 2,
            minimumSegmentSize: SegmentSize,
            useSynchronizationContext: false);
        _input = new Pipe(pipeOptions);
        _output = new Pipe(pipeOptions);
    }

    /// <summary>Segment size of the channel's pipes: one full Noise message fits in one segment.</summary>
    internal const int SegmentSize = 64 * 1024;

    public PeerId LocalPeer { get; }

    public PeerId RemotePeer { get; }

    public PeerPublicKey RemotePublicKey { get; }

    public ITransportConnection Transport => _transport;

    /// <summary>Decrypted bytes from the remote.</summary>
    public PipeReader Input => _input.Reader;

    /// <summary>Plaintext to send; completing it half-closes the connection.</summary>
    public PipeWriter Output => _output.Writer;

    /// <summary>Starts the read and write loops.</summary>
    public void Start()
    {
        _readLoop = ReadLoopAsync();
        _writeLoop = WriteLoopAsync();
    }

    public void Abort(Exception? reason = null) => Fail(reason ?? new ConnectionClosedException("the Noise channel was aborted"));

    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposeTask ??= DisposeCoreAsync();
            return new ValueTask(_disposeTask);
        }
    }

    private async Task DisposeCoreAsync()
    {
        await _output.Writer.CompleteAsync().ConfigureAwait(false);
        try
        {
            await _writeLoop.WaitAsync(_options.DrainTimeout, _options.TimeProvider).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Fail(new ConnectionClosedException("the Noise channel was disposed before its output was sent"));
        }

        StopLoops();
        await Task.WhenAll(_readLoop, _writeLoop).ConfigureAwait(false);
        await _transport.DisposeAsync().ConfigureAwait(false);
        _send.Dispose();
        _receive.Dispose();
        _stop.Dispose();
    }

    /// <summary>Ends the connection because of <paramref name="reason"/>: both loops stop and the transport is aborted.</summary>
    private void Fail(Exception reason)
    {
        Interlocked.CompareExchange(ref _failure, reason, null);
        StopLoops();
        _transport.Abort(reason);
    }

    private void StopLoops()
    {
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already disposed: the loops are over.
        }
    }

    /// <summary>The error the pipes complete with when the loops are stopped.</summary>
    private Exception StoppedError() => _failure ?? new ConnectionClosedException("the Noise channel was closed");
}
