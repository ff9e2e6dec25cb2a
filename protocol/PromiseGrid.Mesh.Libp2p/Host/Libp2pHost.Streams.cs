using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Multistream;

namespace PromiseGrid.Mesh.Host;

public sealed partial class Libp2pHost
{
    /// <summary>
    /// One inbound stream: multistream listener over the registered handlers (unknown → <c>na</c>),
    /// then the handler. A handler that throws gets its stream reset and is logged; one that returns
    /// has its write side closed and the remote's end awaited (up to the close timeout) before the
    /// stream is released.
    /// </summary>
    private async Task ServeStreamAsync(IMuxedStream stream, PeerConnection connection)
    {
        string protocol;
        try
        {
            using var timeout = new CancellationTokenSource(_options.StreamNegotiationTimeout, _options.TimeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _shutdown.Token);
            protocol = await MultistreamSelect.ListenAsync(stream, _handlers.ContainsKey, () => Protocols, linked.Token).ConfigureAwait(false);
            stream.Protocol = protocol;
        }
        catch (Exception ex)
        {
            HostLog.StreamNegotiationFailed(_logger, stream.Id, connection.RemotePeer.ToString(), ex);
            stream.Reset();
            await stream.DisposeAsync().ConfigureAwait(false);
            return;
        }

        if (!_handlers.TryGetValue(protocol, out var handler))
        {
            stream.Reset();
            await stream.DisposeAsync().ConfigureAwait(false);
            return;
        }

        try
        {
            await handler(stream, connection, _shutdown.Token).ConfigureAwait(false);
            await stream.CloseWriteAsync(_shutdown.Token).ConfigureAwait(false);
            await DrainAsync(stream, _options.StreamCloseTimeout).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            if (ex is StreamResetException { IsRemote: true } or ConnectionClosedException)
            {
                // The remote went away mid-stream: normal on a network, not a handler bug.
                HostLog.HandlerStreamEnded(_logger, protocol, stream.Id, connection.RemotePeer.ToString(), ex);
            }
            else if (!_shutdown.IsCancellationRequested)
            {
                HostLog.HandlerFailed(_logger, protocol, stream.Id, connection.RemotePeer.ToString(), ex);
            }

            stream.Reset();
        }
        finally
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Reads and discards until the remote's end of stream, for at most <paramref name="limit"/>.</summary>
    private async Task DrainAsync(IMuxedStream stream, TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _shutdown.Token);
        try
        {
            while (true)
            {
                var result = await stream.Input.ReadAsync(linked.Token).ConfigureAwait(false);
                stream.Input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The remote kept its side open; the stream is reset on dispose.
        }
        catch (InvalidOperationException)
        {
            // The handler already completed the reader.
        }
        catch (MeshException)
        {
            // Reset or connection loss while draining: nothing left to wait for.
        }
    }
}
