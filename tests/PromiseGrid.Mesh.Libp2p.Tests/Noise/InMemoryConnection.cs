using System.IO.Pipelines;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Libp2p.Tests.Testing;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Libp2p.Tests.Noise;

/// <summary>
/// A tiny in-memory <see cref="ITransportConnection"/> over one side of a <see cref="DuplexPipePair"/>.
/// <see cref="Abort"/> records its reason and fails the remote's reads with it.
/// </summary>
internal sealed class InMemoryConnection(IDuplexPipe pipe, Multiaddr local, Multiaddr remote) : ITransportConnection
{
    private readonly TaskCompletionSource<Exception> _aborted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Pipe options with room for several full Noise frames, like a socket buffer.</summary>
    public static PipeOptions LargePipe { get; } = new(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, useSynchronizationContext: false);

    public static (InMemoryConnection Dialer, InMemoryConnection Listener) CreatePair(PipeOptions? options = null)
    {
        var (left, right) = DuplexPipePair.Create(options ?? LargePipe);
        var a = Multiaddr.Parse("/ip4/127.0.0.1/tcp/40001");
        var b = Multiaddr.Parse("/ip4/127.0.0.1/tcp/40002");
        return (new InMemoryConnection(left, a, b), new InMemoryConnection(right, b, a));
    }

    public PipeReader Input { get; } = pipe.Input;

    public PipeWriter Output { get; } = pipe.Output;

    public Multiaddr LocalAddress { get; } = local;

    public Multiaddr RemoteAddress { get; } = remote;

    /// <summary>Completes with the reason of the first <see cref="Abort"/>.</summary>
    public Task<Exception> Aborted => _aborted.Task;

    public bool IsDisposed { get; private set; }

    public void Abort(Exception? reason = null)
    {
        reason ??= new ConnectionClosedException("aborted");
        if (_aborted.TrySetResult(reason))
        {
            // Like a TCP reset: the remote's reads fail.
            Output.Complete(new ConnectionClosedException("connection reset by peer", isRemote: true, reason));
        }
    }

    public ValueTask DisposeAsync()
    {
        IsDisposed = true;
        Output.Complete();
        return ValueTask.CompletedTask;
    }
}
