using System.Buffers;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Host;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Ports.Wire;

namespace PromiseGrid.Mesh.Node.Ports;

/// <summary>The serving side: streams other nodes open to deliver to, grant, release and look up this node's ports.</summary>
public sealed partial class RemotePorts
{
    private async Task HandleInboundAsync(IMuxedStream stream, PeerConnection connection, CancellationToken cancellationToken)
    {
        var peer = connection.RemotePeer;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        InboundSession? session = null;
        InboundLink? link = null;
        try
        {
            var hello = await ReadHelloAsync(stream, stop.Token).ConfigureAwait(false);
            ObserveEpoch(peer, hello.Epoch);
            link = GetInboundLink(peer, hello.Epoch);
            session = new InboundSession(this, link, stream);
            WelcomeFrame welcome;
            InboundSession? previous;
            lock (link.Gate)
            {
                link.Version = Math.Clamp(hello.Version, 1, PortsFrameCodec.Version);
                link.Confirm(hello.ConfirmedThrough);
                welcome = link.BuildWelcome(Epoch);
                previous = link.Current;
                link.Current = session;
            }

            previous?.Abort();
            PortsFrameCodec.Write(welcome, stream.Output);
            await stream.Output.FlushAsync(stop.Token).ConfigureAwait(false);
            await session.RunAsync(stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MeshException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            Log.SessionFailed(_logger, peer.ToString(), e.Message);
            stream.Reset();
        }
        finally
        {
            if (link is not null)
            {
                lock (link.Gate)
                {
                    if (link.Current == session)
                    {
                        link.Current = null;
                    }
                }
            }
        }
    }

    private async Task<HelloFrame> ReadHelloAsync(IMuxedStream stream, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Options.HelloTimeout);
        var frame = await PortsStreams.ReadFrameAsync(stream.Input, 1024, timeout.Token).ConfigureAwait(false)
            ?? throw new ProtocolViolationException("the ports stream ended before hello");
        return frame as HelloFrame ?? throw new ProtocolViolationException($"a ports stream must start with hello, not {frame.Type}");
    }

    private InboundLink GetInboundLink(PeerId peer, ulong epoch)
    {
        lock (_linksGate)
        {
            if (!_inbound.TryGetValue(peer, out var link) || link.Epoch != epoch)
            {
                _inbound[peer] = link = new InboundLink(peer, epoch);
            }

            return link;
        }
    }

    /// <summary>How many outcomes this node (as server) still remembers for <paramref name="client"/>: those it has not had confirmed.</summary>
    internal int CountUnconfirmed(PeerId client)
    {
        InboundLink? link;
        lock (_linksGate)
        {
            _inbound.TryGetValue(client, out link);
        }

        if (link is null)
        {
            return 0;
        }

        lock (link.Gate)
        {
            return link.Seen.Count;
        }
    }

    internal void LogSessionFailed(PeerId peer, string reason) => Log.SessionFailed(_logger, peer.ToString(), reason);

    internal void LogRefused(PortsFrameType type, PeerId peer, PortsErrorCode code, string reason) =>
        Log.Refused(_logger, type.ToString(), peer.ToString(), code.ToString(), reason);
}
