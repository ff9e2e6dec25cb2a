using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;

namespace PromiseGrid.Mesh.Perf;

/// <summary>Outcome of one perf run, measured by the client.</summary>
/// <param name="Uploaded">Bytes sent to the server.</param>
/// <param name="Downloaded">Bytes received from the server.</param>
/// <param name="UploadTime">From the start until the upload was handed to the stream and closed.</param>
/// <param name="TotalTime">From the start until the server's end of stream.</param>
public sealed record PerfResult(ulong Uploaded, ulong Downloaded, TimeSpan UploadTime, TimeSpan TotalTime)
{
    /// <summary>Downloaded bytes per second over the download phase (after the upload finished).</summary>
    public double DownloadBytesPerSecond =>
        TotalTime > UploadTime ? Downloaded / (TotalTime - UploadTime).TotalSeconds : 0;

    /// <summary>Uploaded bytes per second over the upload phase.</summary>
    public double UploadBytesPerSecond => UploadTime > TimeSpan.Zero ? Uploaded / UploadTime.TotalSeconds : 0;
}

/// <summary>
/// Perf (libp2p-wire.md §10): the client sends the wanted download size as a big-endian u64, uploads
/// until it closes its write side; only then the server sends that many bytes and closes. Not for
/// enabling by default (it lets a peer make this node send arbitrary amounts).
/// </summary>
public static class PerfProtocol
{
    /// <summary>The perf protocol id.</summary>
    public const string ProtocolId = "/perf/1.0.0";

    /// <summary>Bytes the sending side writes per flush.</summary>
    public const int ChunkSize = 64 * 1024;

    private const int HeaderSize = sizeof(ulong);

    /// <summary>Server: reads the size, discards the upload until EOF, then sends zeros and closes.</summary>
    /// <returns>The number of bytes uploaded by the client.</returns>
    /// <exception cref="ProtocolViolationException">The stream ended before the 8-byte size.</exception>
    public static async Task<ulong> HandleAsync(IDuplexPipe pipe, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipe);
        var input = pipe.Input;
        ulong? requested = null;
        ulong uploaded = 0;
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (requested is null)
            {
                if (buffer.Length < HeaderSize)
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                    if (result.IsCompleted)
                    {
                        throw new ProtocolViolationException("perf stream ended before the download size");
                    }

                    continue;
                }

                requested = ReadSize(buffer);
                buffer = buffer.Slice(HeaderSize);
            }

            uploaded += (ulong)buffer.Length;
            input.AdvanceTo(buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        await SendZerosAsync(pipe.Output, requested.Value, cancellationToken).ConfigureAwait(false);
        await pipe.Output.CompleteAsync().ConfigureAwait(false);
        return uploaded;
    }

    /// <summary>Client: requests <paramref name="downloadBytes"/>, uploads <paramref name="uploadBytes"/>, closes, then reads to the end.</summary>
    /// <exception cref="ProtocolViolationException">The server sent a different number of bytes.</exception>
    public static async ValueTask<PerfResult> RunAsync(IDuplexPipe pipe, ulong uploadBytes, ulong downloadBytes, TimeProvider? timeProvider = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipe);
        timeProvider ??= TimeProvider.System;
        var start = timeProvider.GetTimestamp();
        BinaryPrimitives.WriteUInt64BigEndian(pipe.Output.GetSpan(HeaderSize), downloadBytes);
        pipe.Output.Advance(HeaderSize);
        await SendZerosAsync(pipe.Output, uploadBytes, cancellationToken).ConfigureAwait(false);
        await pipe.Output.CompleteAsync().ConfigureAwait(false);
        var uploadTime = timeProvider.GetElapsedTime(start);

        ulong downloaded = 0;
        while (true)
        {
            var result = await pipe.Input.ReadAsync(cancellationToken).ConfigureAwait(false);
            downloaded += (ulong)result.Buffer.Length;
            pipe.Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        var total = timeProvider.GetElapsedTime(start);
        if (downloaded != downloadBytes)
        {
            throw new ProtocolViolationException($"perf server sent {downloaded} bytes, {downloadBytes} were requested");
        }

        return new PerfResult(uploadBytes, downloaded, uploadTime, total);
    }

    private static ulong ReadSize(ReadOnlySequence<byte> buffer)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        return BinaryPrimitives.ReadUInt64BigEndian(header);
    }

    /// <summary>Writes <paramref name="count"/> zeros, flushing once per <see cref="ChunkSize"/> bytes (a chunk may span several buffer segments).</summary>
    private static async ValueTask SendZerosAsync(PipeWriter output, ulong count, CancellationToken cancellationToken)
    {
        while (count > 0)
        {
            var chunk = (int)Math.Min(count, ChunkSize);
            count -= (ulong)chunk;
            while (chunk > 0)
            {
                var span = output.GetSpan(chunk);
                var size = Math.Min(chunk, span.Length);
                // Pooled buffers may hold other connections' bytes: always send zeros.
                span[..size].Clear();
                output.Advance(size);
                chunk -= size;
            }

            var flush = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (flush.IsCompleted)
            {
                throw new ConnectionClosedException("the remote stopped reading the perf stream", isRemote: true);
            }
        }
    }
}
