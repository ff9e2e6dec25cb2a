using System.IO.Pipelines;

namespace PromiseGrid.Mesh.Libp2p.Tests.Testing;

/// <summary>Two in-memory duplex pipes joined back to back, for unit tests of codecs and state machines.</summary>
public static class DuplexPipePair
{
    public static (IDuplexPipe Left, IDuplexPipe Right) Create(PipeOptions? options = null)
    {
        var leftToRight = new Pipe(options ?? PipeOptions.Default);
        var rightToLeft = new Pipe(options ?? PipeOptions.Default);
        return (new Duplex(rightToLeft.Reader, leftToRight.Writer), new Duplex(leftToRight.Reader, rightToLeft.Writer));
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
