using System.Buffers;
using System.IO.Pipelines;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery.PeerExchange;

/// <summary>
/// <c>uvarint(length) || body</c> frames over a pipe (docs/peer-exchange.md §2). The length is
/// checked against the limit before any of the body is buffered.
/// </summary>
internal static class PexFraming
{
    /// <summary>Writes one frame and flushes.</summary>
    public static async ValueTask WriteFrameAsync(PipeWriter output, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default)
    {
        var prefix = Varint.GetLength((ulong)body.Length);
        var span = output.GetSpan(prefix + body.Length);
        Varint.Write(span, (ulong)body.Length);
        body.Span.CopyTo(span[prefix..]);
        output.Advance(prefix + body.Length);
        var result = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (result.IsCompleted)
        {
            throw new ConnectionClosedException("the remote stopped reading the pex stream", isRemote: true);
        }
    }

    /// <summary>Reads one frame's body.</summary>
    /// <exception cref="LimitExceededException">The announced length is over <paramref name="maxSize"/>.</exception>
    /// <exception cref="InvalidFormatException">Bad varint, or the stream ended inside the frame.</exception>
    /// <exception cref="ProtocolViolationException">The stream ended before the frame began.</exception>
    public static async ValueTask<byte[]> ReadFrameAsync(PipeReader input, int maxSize, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (TryParse(buffer, maxSize, out var body, out var consumed))
            {
                input.AdvanceTo(consumed);
                return body;
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                var empty = buffer.IsEmpty;
                input.AdvanceTo(buffer.End);
                throw empty
                    ? new ProtocolViolationException("the pex stream ended before a message")
                    : new InvalidFormatException("the pex stream ended inside a message");
            }

            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Waits for the remote's end of stream after the last frame.</summary>
    /// <exception cref="ProtocolViolationException">More bytes arrived.</exception>
    public static async ValueTask ReadEndAsync(PipeReader input, CancellationToken cancellationToken = default)
    {
        var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
        var extra = result.Buffer.Length;
        input.AdvanceTo(result.Buffer.End);
        if (extra > 0)
        {
            throw new ProtocolViolationException($"{extra} unexpected bytes after the pex message");
        }

        if (!result.IsCompleted)
        {
            throw new ProtocolViolationException("the pex stream did not end after the message");
        }
    }

    private static bool TryParse(ReadOnlySequence<byte> buffer, int maxSize, out byte[] body, out SequencePosition consumed)
    {
        body = [];
        consumed = buffer.Start;
        if (!Varint.TryRead(buffer, out var length, out var prefix))
        {
            return false;
        }

        if (length > (ulong)maxSize)
        {
            throw new LimitExceededException("pex message size", (long)Math.Min(length, long.MaxValue), maxSize);
        }

        if (buffer.Length - prefix < (long)length)
        {
            return false;
        }

        var frame = buffer.Slice(prefix, (long)length);
        body = frame.ToArray();
        consumed = frame.End;
        return true;
    }
}
