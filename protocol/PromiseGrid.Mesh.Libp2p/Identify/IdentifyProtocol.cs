using System.Buffers;
using System.IO.Pipelines;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Identify;

/// <summary>
/// Identify wire functions (libp2p-wire.md §7): each message is <c>uvarint(len) || Identify protobuf</c>;
/// the reader merges messages until the sender closes. Work over any duplex pipe (a muxed stream
/// after multistream-select), so they are testable in memory.
/// </summary>
public static class IdentifyProtocol
{
    /// <summary>Identify query: the stream opener reads the other side's info.</summary>
    public const string ProtocolId = "/ipfs/id/1.0.0";

    /// <summary>Identify push: the stream opener sends (part of) its own info.</summary>
    public const string PushProtocolId = "/ipfs/id/push/1.0.0";

    /// <summary>Largest message we send: rust-libp2p rejects more than 4096 bytes (§7).</summary>
    public const int MaxOutgoingMessageSize = 4096;

    /// <summary>Largest message we accept (go and js use 8 KiB).</summary>
    public const int MaxIncomingMessageSize = 8 * 1024;

    /// <summary>Most messages merged from one stream (go and js use 10).</summary>
    public const int MaxMessages = 10;

    /// <summary>Writes <paramref name="info"/> as one message, then closes the write side (handler of a query, or a push).</summary>
    /// <exception cref="LimitExceededException">The encoded message is larger than <see cref="MaxOutgoingMessageSize"/>.</exception>
    public static async ValueTask WriteAsync(IDuplexPipe pipe, IdentifyInfo info, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipe);
        ArgumentNullException.ThrowIfNull(info);
        var message = IdentifyCodec.Encode(info);
        if (message.Length > MaxOutgoingMessageSize)
        {
            throw new LimitExceededException("identify message size", message.Length, MaxOutgoingMessageSize);
        }

        Varint.Write(pipe.Output, (ulong)message.Length);
        pipe.Output.Write(message);
        await pipe.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        await pipe.Output.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>Reads and merges messages until the remote closes its write side.</summary>
    /// <exception cref="LimitExceededException">A message above <see cref="MaxIncomingMessageSize"/>, or more than <see cref="MaxMessages"/>.</exception>
    /// <exception cref="InvalidFormatException">Malformed framing or protobuf, or a truncated message at EOF.</exception>
    public static async ValueTask<IdentifyInfo> ReadAsync(IDuplexPipe pipe, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipe);
        var reader = pipe.Input;
        IdentifyInfo? info = null;
        var count = 0;
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            try
            {
                while (TryReadFrame(ref buffer, out var frame))
                {
                    if (++count > MaxMessages)
                    {
                        throw new LimitExceededException("identify message count", count, MaxMessages);
                    }

                    info = IdentifyCodec.Decode(frame, info);
                }
            }
            finally
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
            }

            if (result.IsCompleted)
            {
                if (!buffer.IsEmpty)
                {
                    throw new InvalidFormatException("identify stream ended inside a message");
                }

                return info ?? new IdentifyInfo();
            }
        }
    }

    private static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out byte[] frame)
    {
        frame = [];
        if (!Varint.TryRead(buffer, out var length, out var prefix))
        {
            return false;
        }

        if (length > MaxIncomingMessageSize)
        {
            throw new LimitExceededException("identify message size", (long)Math.Min(length, long.MaxValue), MaxIncomingMessageSize);
        }

        if (buffer.Length - prefix < (long)length)
        {
            return false;
        }

        var body = buffer.Slice(prefix, (long)length);
        frame = body.ToArray();
        buffer = buffer.Slice(body.End);
        return true;
    }
}
