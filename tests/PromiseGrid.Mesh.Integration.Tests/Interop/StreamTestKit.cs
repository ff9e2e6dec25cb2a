using System.Buffers;
using System.IO.Pipelines;
using PromiseGrid.Mesh.Abstractions;

namespace PromiseGrid.Mesh.Integration.Tests.Interop;

/// <summary>Client side of <c>/echo/1.0.0</c> for tests: send everything, half-close, read until the remote's end.</summary>
internal static class StreamTestKit
{
    public static async Task<byte[]> EchoAsync(IMuxedStream stream, byte[] payload, CancellationToken cancellationToken = default)
    {
        var reading = ReadToEndAsync(stream.Input, cancellationToken);
        for (var offset = 0; offset < payload.Length; offset += 32 * 1024)
        {
            var chunk = payload.AsMemory(offset, Math.Min(32 * 1024, payload.Length - offset));
            await stream.Output.WriteAsync(chunk, cancellationToken);
        }

        await stream.CloseWriteAsync(cancellationToken);
        return await reading;
    }

    public static async Task<byte[]> ReadToEndAsync(PipeReader reader, CancellationToken cancellationToken = default)
    {
        var received = new ArrayBufferWriter<byte>();
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            foreach (var segment in result.Buffer)
            {
                received.Write(segment.Span);
            }

            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return received.WrittenSpan.ToArray();
            }
        }
    }

    public static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
