using System.Runtime.CompilerServices;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Perf;
using PromiseGrid.Mesh.Ping;

namespace PromiseGrid.Mesh.Host;

public sealed partial class Libp2pHost
{
    /// <summary>
    /// Pings <paramref name="peer"/> over one <c>/ipfs/ping/1.0.0</c> stream, <paramref name="count"/>
    /// times (or until cancelled when <c>null</c>), yielding each round-trip time.
    /// </summary>
    /// <exception cref="PeerUnreachableException">No open connection to the peer.</exception>
    public async IAsyncEnumerable<TimeSpan> PingAsync(PeerId peer, int? count = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var stream = await NewStreamAsync(peer, PingProtocol.ProtocolId, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            for (var i = 0; count is null || i < count; i++)
            {
                TimeSpan rtt;
                try
                {
                    rtt = await PingProtocol.PingOnceAsync(stream, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    stream.Reset();
                    throw;
                }

                yield return rtt;
            }

            await stream.CloseWriteAsync(cancellationToken).ConfigureAwait(false);
            await DrainAsync(stream, _options.StreamCloseTimeout).ConfigureAwait(false);
        }
    }

    /// <summary>Runs one perf measurement (<c>/perf/1.0.0</c>) against <paramref name="peer"/>.</summary>
    public async ValueTask<PerfResult> PerfAsync(PeerId peer, ulong uploadBytes, ulong downloadBytes, CancellationToken cancellationToken = default)
    {
        var stream = await NewStreamAsync(peer, PerfProtocol.ProtocolId, cancellationToken).ConfigureAwait(false);

        // The download is only counted. The read that ends it (the remote's FIN) still resumes on
        // the thread pool, so the caller's code never runs on the read loop.
        stream.ResumeReadsInline();
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                return await PerfProtocol.RunAsync(stream, uploadBytes, downloadBytes, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                stream.Reset();
                throw;
            }
        }
    }
}
