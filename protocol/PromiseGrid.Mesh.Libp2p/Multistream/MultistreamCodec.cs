using System.Buffers;
using System.Text;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Multistream;

/// <summary>
/// Framing of multistream-select 1.0 messages (libp2p-wire.md §4.1): <c>uvarint(len(text)+1) || text || '\n'</c>.
/// Pure functions over spans and sequences; no I/O.
/// </summary>
internal static class MultistreamCodec
{
    /// <summary>The protocol header both sides send first (§4.2).</summary>
    public const string Header = "/multistream/1.0.0";

    /// <summary>The listener's answer to a protocol it does not support.</summary>
    public const string NotAvailable = "na";

    /// <summary>The optional "list protocols" request.</summary>
    public const string List = "ls";

    /// <summary>Largest accepted length prefix value (text plus newline), as go-multistream and js enforce (§4.1).</summary>
    public const int MaxMessageLength = 1024;

    private const byte NewLine = (byte)'\n';

    /// <summary>Encoded size of <paramref name="text"/> as one message.</summary>
    public static int GetEncodedLength(string text)
    {
        var body = Encoding.UTF8.GetByteCount(text) + 1;
        return Varint.GetLength((ulong)body) + body;
    }

    /// <summary>Writes <paramref name="text"/> as one framed message.</summary>
    /// <exception cref="LimitExceededException">The message would exceed <see cref="MaxMessageLength"/>.</exception>
    public static void Write(IBufferWriter<byte> writer, string text)
    {
        var textLength = Encoding.UTF8.GetByteCount(text);
        var body = textLength + 1;
        if (body > MaxMessageLength)
        {
            throw new LimitExceededException("multistream message length", body, MaxMessageLength);
        }

        var total = Varint.GetLength((ulong)body) + body;
        var span = writer.GetSpan(total);
        var offset = Varint.Write(span, (ulong)body);
        offset += Encoding.UTF8.GetBytes(text, span[offset..]);
        span[offset++] = NewLine;
        writer.Advance(offset);
    }

    /// <summary>Encodes one message to a new array.</summary>
    public static byte[] Encode(string text)
    {
        var writer = new ArrayBufferWriter<byte>(GetEncodedLength(text));
        Write(writer, text);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Writes the answer to <c>ls</c>: one message whose body is each protocol framed as a message,
    /// followed by a final newline (§4.2).
    /// </summary>
    public static void WriteList(IBufferWriter<byte> writer, IEnumerable<string> protocols)
    {
        var inner = new ArrayBufferWriter<byte>();
        foreach (var protocol in protocols)
        {
            Write(inner, protocol);
        }

        var body = inner.WrittenCount + 1;
        var span = writer.GetSpan(Varint.GetLength((ulong)body) + body);
        var offset = Varint.Write(span, (ulong)body);
        inner.WrittenSpan.CopyTo(span[offset..]);
        offset += inner.WrittenCount;
        span[offset++] = NewLine;
        writer.Advance(offset);
    }

    /// <summary>
    /// Tries to take one complete message from the front of <paramref name="buffer"/>.
    /// On success <paramref name="buffer"/> is sliced past the message, so bytes pipelined after it stay.
    /// </summary>
    /// <returns><c>false</c> when more bytes are needed.</returns>
    /// <exception cref="LimitExceededException">The length prefix is above <see cref="MaxMessageLength"/>.</exception>
    /// <exception cref="InvalidFormatException">Bad varint, empty message, missing newline or invalid UTF-8.</exception>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, out string message)
    {
        message = string.Empty;
        if (!Varint.TryRead(buffer, out var length, out var prefix))
        {
            return false;
        }

        if (length > MaxMessageLength)
        {
            throw new LimitExceededException("multistream message length", (long)Math.Min(length, long.MaxValue), MaxMessageLength);
        }

        if (length == 0)
        {
            throw new InvalidFormatException("empty multistream message");
        }

        if (buffer.Length - prefix < (long)length)
        {
            return false;
        }

        var body = buffer.Slice(prefix, (long)length);
        Span<byte> bytes = stackalloc byte[(int)length];
        body.CopyTo(bytes);
        if (bytes[^1] != NewLine)
        {
            throw new InvalidFormatException("multistream message does not end with a newline");
        }

        message = DecodeText(bytes[..^1]);
        buffer = buffer.Slice(body.End);
        return true;
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static string DecodeText(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException ex)
        {
            throw new InvalidFormatException("multistream message is not valid UTF-8", ex);
        }
    }
}
