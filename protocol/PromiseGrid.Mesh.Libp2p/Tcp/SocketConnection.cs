using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Tcp;

/// <summary>
/// A TCP socket exposed as a duplex pipe: one receive loop fills <see cref="Input"/> from the
/// socket, one send loop drains <see cref="Output"/> into it. Both pipes are bounded by the
/// pause/resume thresholds of <see cref="TcpTransportOptions"/>. Completing <see cref="Output"/>
/// sends FIN after the buffered bytes; the remote's FIN completes <see cref="Input"/>.
/// </summary>
internal sealed class SocketConnection : ITransportConnection
{
    private readonly Socket _socket;
    private readonly Pipe _receive;
    private readonly Pipe _send;
    private readonly ILogger _logger;
    private readonly int _receiveBufferSize;
    private readonly CancellationTokenSource _abort = new();
    private readonly Task _receiveLoop;
    private readonly Task _sendLoop;
    private readonly List<ArraySegment<byte>> _sendSegments = [];
    private int _disposed;
    private Exception? _abortReason;

    public SocketConnection(Socket socket, TcpTransportOptions options, ILogger logger)
    {
        _socket = socket;
        _logger = logger;
        _receiveBufferSize = options.ReceiveBufferSize;
        socket.NoDelay = options.NoDelay;
        LocalAddress = Multiaddr.FromTcpEndPoint((System.Net.IPEndPoint)socket.LocalEndPoint!);
        RemoteAddress = Multiaddr.FromTcpEndPoint((System.Net.IPEndPoint)socket.RemoteEndPoint!);
        // Readers run inline on the thread that flushed: the receive loop's flush runs the layer
        // above (Noise decryption) on the same thread, and a flush of Output runs the send loop, so a
        // batch of bytes crosses the layers without a thread-pool hop per layer (each hop is a
        // wake-up, which on a small machine costs more than the work it hands over).
        var pipeOptions = new PipeOptions(
            readerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: options.PauseThreshold,
            resumeWriterThreshold: options.ResumeThreshold,
            minimumSegmentSize: Math.Min(options.ReceiveBufferSize, 64 * 1024),
            useSynchronizationContext: false);
        _receive = new Pipe(pipeOptions);
        _send = new Pipe(pipeOptions);
        _receiveLoop = ReceiveLoopAsync();
        _sendLoop = SendLoopAsync();
    }

    public PipeReader Input => _receive.Reader;

    public PipeWriter Output => _send.Writer;

    public Multiaddr LocalAddress { get; }

    public Multiaddr RemoteAddress { get; }

    public void Abort(Exception? reason = null)
    {
        Interlocked.CompareExchange(ref _abortReason, reason ?? new ConnectionClosedException("the connection was aborted"), null);
        try
        {
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // already closed
        }

        _socket.Dispose();
        _receive.Writer.CancelPendingFlush();
        _send.Reader.CancelPendingRead();
        try
        {
            _abort.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            await Task.WhenAll(_receiveLoop, _sendLoop).ConfigureAwait(false);
            return;
        }

        // Graceful: let the send loop flush what the application wrote, then FIN.
        _send.Writer.Complete();
        try
        {
            await _sendLoop.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        _socket.Dispose();
        _abort.Cancel();
        _receive.Writer.CancelPendingFlush();
        _send.Reader.CancelPendingRead();
        await Task.WhenAll(_receiveLoop, _sendLoop).ConfigureAwait(false);
    }

    private async Task ReceiveLoopAsync()
    {
        await Task.Yield();
        var writer = _receive.Writer;
        Exception? error = null;
        try
        {
            while (true)
            {
                var memory = writer.GetMemory(_receiveBufferSize);
                var read = await _socket.ReceiveAsync(memory, SocketFlags.None, _abort.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                writer.Advance(read);
                var flush = await writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted)
                {
                    break;
                }

                if (flush.IsCanceled)
                {
                    error = _abortReason;
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            if (Volatile.Read(ref _disposed) == 0 && Volatile.Read(ref _abortReason) is null)
            {
                Log.ConnectionError(_logger, RemoteAddress.ToString(), ex);
                error = new ConnectionClosedException("the connection was lost", isRemote: true, ex);
            }
            else
            {
                error = _abortReason ?? new ConnectionClosedException("the connection is closed");
            }
        }

        await writer.CompleteAsync(error).ConfigureAwait(false);
    }

    private async Task SendLoopAsync()
    {
        await Task.Yield();
        var reader = _send.Reader;
        Exception? error = null;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                try
                {
                    if (!buffer.IsEmpty)
                    {
                        await SendAsync(buffer).ConfigureAwait(false);
                    }
                }
                finally
                {
                    reader.AdvanceTo(buffer.End);
                }

                if (result.IsCanceled)
                {
                    error = _abortReason;
                    break;
                }

                if (result.IsCompleted)
                {
                    _socket.Shutdown(SocketShutdown.Send);
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            error = _abortReason ?? new ConnectionClosedException("the connection was lost while sending", isRemote: true, ex);
        }

        await reader.CompleteAsync(error).ConfigureAwait(false);
    }

    /// <summary>Sends a batch: one segment directly, several segments gathered into one <c>sendmsg</c>.</summary>
    private async ValueTask SendAsync(ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsSingleSegment)
        {
            await SendAllAsync(buffer.First).ConfigureAwait(false);
            return;
        }

        var segments = _sendSegments;
        segments.Clear();
        foreach (var segment in buffer)
        {
            if (!MemoryMarshal.TryGetArray(segment, out var array))
            {
                segments.Clear();
                foreach (var each in buffer)
                {
                    await SendAllAsync(each).ConfigureAwait(false);
                }

                return;
            }

            if (array.Count > 0)
            {
                segments.Add(array);
            }
        }

        try
        {
            // The socket completes a stream send only when every byte of the list was sent.
            await _socket.SendAsync(segments, SocketFlags.None).ConfigureAwait(false);
        }
        finally
        {
            segments.Clear();
        }
    }

    private async ValueTask SendAllAsync(ReadOnlyMemory<byte> memory)
    {
        while (!memory.IsEmpty)
        {
            var sent = await _socket.SendAsync(memory, SocketFlags.None, _abort.Token).ConfigureAwait(false);
            memory = memory[sent..];
        }
    }
}
