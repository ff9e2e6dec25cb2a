using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace PromiseGrid.Mesh.Yamux;

/// <summary>
/// A stream's <c>Input</c>: the inbound pipe's reader, counting what the application consumes so the
/// stream can return window credit (libp2p-wire.md §6.4).
/// </summary>
internal sealed class YamuxStreamReader(YamuxStream stream, PipeReader inner) : PipeReader
{
    private ReadOnlySequence<byte> _lastBuffer;
    private bool _hasBuffer;

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        var read = inner.ReadAsync(cancellationToken);
        if (read.IsCompletedSuccessfully)
        {
            return new ValueTask<ReadResult>(Track(read.Result));
        }

        return AwaitReadAsync(read);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult> AwaitReadAsync(ValueTask<ReadResult> read) =>
        Track(await read.ConfigureAwait(false));

    public override bool TryRead(out ReadResult result)
    {
        if (inner.TryRead(out result))
        {
            Track(result);
            return true;
        }

        return false;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        var count = _hasBuffer ? _lastBuffer.Slice(_lastBuffer.Start, consumed).Length : 0;
        _hasBuffer = false;
        _lastBuffer = default;
        inner.AdvanceTo(consumed, examined);
        if (count > 0)
        {
            stream.OnConsumed(count);
        }
    }

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null)
    {
        _hasBuffer = false;
        _lastBuffer = default;
        inner.Complete(exception);
        stream.OnInputCompleted();
    }

    private ReadResult Track(ReadResult result)
    {
        _lastBuffer = result.Buffer;
        _hasBuffer = true;
        return result;
    }
}
