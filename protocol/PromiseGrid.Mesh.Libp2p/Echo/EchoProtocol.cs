using System.Buffers;
using System.IO.Pipelines;

namespace PromiseGrid.Mesh.Echo;

/// <summary>
/// Echo (<c>/echo/1.0.0</c>, the libp2p examples' protocol): the listener sends back every byte it
/// receives until the remote closes its write side, then closes its own.
/// </summary>
public static class EchoProtocol
{
    /// <summary>The echo protocol id.</summary>
    public const string ProtocolId = "/echo/1.0.0";

    /// <summary>Listener: copies input to output until end of input, then closes the write side.</summary>
    /// <returns>The number of bytes echoed.</returns>
    public static async Task<long> HandleAsync(IDuplexPipe pipe, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipe);
        var input = pipe.Input;
        var output = pipe.Output;
        long total = 0;
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            foreach (var segment in buffer)
            {
                output.Write(segment.Span);
            }

            total += buffer.Length;
            input.AdvanceTo(buffer.End);
            if (!buffer.IsEmpty)
            {
                var flush = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (flush.IsCompleted)
                {
                    return total;
                }
            }

            if (result.IsCompleted)
            {
                await output.CompleteAsync().ConfigureAwait(false);
                return total;
            }
        }
    }
}
