using System.IO.Pipelines;
using PromiseGrid.Mesh.Abstractions;

namespace PromiseGrid.Mesh.Discovery.Tests.PeerExchange;

/// <summary>Two in-memory muxed streams joined back to back (FIN = completing the writer, reset = failing both pipes).</summary>
internal sealed class InMemoryStream : IMuxedStream
{
    private readonly Pipe _inbound;
    private readonly Pipe _outbound;

    private InMemoryStream(uint id, Pipe inbound, Pipe outbound)
    {
        Id = id;
        _inbound = inbound;
        _outbound = outbound;
    }

    public uint Id { get; }

    public string? Protocol { get; set; }

    public PipeReader Input => _inbound.Reader;

    public PipeWriter Output => _outbound.Writer;

    public bool WasReset { get; private set; }

    public bool WasDisposed { get; private set; }

    public static (InMemoryStream Dialer, InMemoryStream Listener) CreatePair(uint id = 1)
    {
        var a = new Pipe();
        var b = new Pipe();
        var dialer = new InMemoryStream(id, a, b);
        var listener = new InMemoryStream(id, b, a);
        return (dialer, listener);
    }

    public async ValueTask CloseWriteAsync(CancellationToken cancellationToken = default) => await _outbound.Writer.CompleteAsync();

    public void Reset()
    {
        WasReset = true;
        var error = new StreamResetException(Id, isRemote: false);
        _outbound.Writer.Complete(error);
        _inbound.Reader.Complete(error); // the remote's reads now fail with the reset
    }

    public async ValueTask DisposeAsync()
    {
        WasDisposed = true;
        await _outbound.Writer.CompleteAsync();
        await _inbound.Reader.CompleteAsync();
    }
}
