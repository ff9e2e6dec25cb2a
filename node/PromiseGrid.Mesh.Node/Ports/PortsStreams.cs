using System.Buffers;
using System.IO.Pipelines;
using PromiseGrid.Mesh.Ports.Wire;

namespace PromiseGrid.Mesh.Node.Ports;

/// <summary>Reading whole <c>/promisegrid/ports/1.0.0</c> frames from a stream.</summary>
internal static class PortsStreams
{
    /// <summary>The next frame on <paramref name="input"/>, or null if the stream ended first.</summary>
    /// <exception cref="InvalidFormatException">A malformed frame.</exception>
    /// <exception cref="LimitExceededException">A frame longer than <paramref name="maxFrameSize"/>.</exception>
    public static async Task<PortsFrame?> ReadFrameAsync(PipeReader input, int maxFrameSize, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = read.Buffer;
            if (PortsFrameCodec.TryReadFrame(ref buffer, maxFrameSize, out var body))
            {
                var frame = PortsFrameCodec.Decode(body.ToArray());
                input.AdvanceTo(buffer.Start);
                return frame;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (read.IsCompleted)
            {
                return null;
            }
        }
    }
}
