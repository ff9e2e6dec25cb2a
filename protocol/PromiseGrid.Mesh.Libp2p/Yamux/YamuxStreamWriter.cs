using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace PromiseGrid.Mesh.Yamux;

/// <summary>
/// A stream's <c>Output</c>: the outbound pipe's writer. Each flush hands the bytes to the session's
/// write loop, which sends them as the send window allows (libp2p-wire.md §6.4); the pipe's pause
/// threshold makes <see cref="FlushAsync"/> wait while too much is unsent. Completing sends FIN;
/// completing with an exception resets the stream.
/// </summary>
internal sealed class YamuxStreamWriter(YamuxStream stream, PipeWriter inner) : PipeWriter
{
    public override void Advance(int bytes) => inner.Advance(bytes);

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        stream.ThrowIfCannotWrite();
        return inner.GetMemory(sizeHint);
    }

    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        stream.ThrowIfCannotWrite();
        return inner.GetSpan(sizeHint);
    }

    public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

    public override long UnflushedBytes => inner.UnflushedBytes;

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        stream.ThrowIfCannotWrite();
        var flush = inner.FlushAsync(cancellationToken);
        stream.OnOutputFlushed();
        return Check(flush);
    }

    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        stream.ThrowIfCannotWrite();
        var flush = inner.WriteAsync(source, cancellationToken);
        stream.OnOutputFlushed();
        return Check(flush);
    }

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null)
    {
        if (exception is not null)
        {
            stream.Reset();
            return;
        }

        if (stream.MarkWriteClosed())
        {
            inner.Complete();
            stream.OnOutputFlushed();
        }
    }

    private ValueTask<FlushResult> Check(ValueTask<FlushResult> flush)
    {
        if (flush.IsCompletedSuccessfully)
        {
            return new ValueTask<FlushResult>(Validate(flush.Result));
        }

        return AwaitFlushAsync(flush);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<FlushResult> AwaitFlushAsync(ValueTask<FlushResult> flush) =>
        Validate(await flush.ConfigureAwait(false));

    /// <summary>A flush cancelled by a reset or the session's end throws that failure.</summary>
    private FlushResult Validate(FlushResult result)
    {
        if (result.IsCanceled || result.IsCompleted)
        {
            stream.ThrowIfFailed();
        }

        return result;
    }
}
