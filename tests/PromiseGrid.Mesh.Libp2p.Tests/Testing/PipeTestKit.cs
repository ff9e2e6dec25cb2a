using System.Buffers;
using System.IO.Pipelines;

namespace PromiseGrid.Mesh.Libp2p.Tests.Testing;

/// <summary>Pipe helpers shared by the test kits.</summary>
internal static class PipeTestKit
{
    /// <summary>Reads until the writer completes; returns everything read.</summary>
    public static async Task<byte[]> ReadToEndAsync(PipeReader reader)
    {
        var output = new ArrayBufferWriter<byte>();
        while (true)
        {
            var result = await reader.ReadAsync();
            foreach (var segment in result.Buffer)
            {
                output.Write(segment.Span);
            }

            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return output.WrittenSpan.ToArray();
            }
        }
    }
}
