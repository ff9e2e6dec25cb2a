using System.Buffers;
using System.IO.Pipelines;

namespace PromiseGrid.Mesh.Multistream;

/// <summary>
/// multistream-select 1.0 (libp2p-wire.md §4): protocol negotiation at every upgrade step and on
/// every new stream. Both roles read byte-exactly from the <see cref="PipeReader"/>: bytes the
/// remote pipelined after the last negotiation message stay in the pipe for the selected protocol.
/// </summary>
public static class MultistreamSelect
{
    /// <summary>The multistream-select protocol id, sent as the header.</summary>
    public const string ProtocolId = MultistreamCodec.Header;

    /// <summary>
    /// Dialer role: sends the header and the first proposal in one write, then the next proposal
    /// after each <c>na</c>, until one is accepted.
    /// </summary>
    /// <returns>The accepted protocol id.</returns>
    /// <exception cref="ProtocolNegotiationException">Every proposal was refused, or the remote answered something else.</exception>
    /// <exception cref="ConnectionClosedException">The remote closed before answering.</exception>
    public static async ValueTask<string> SelectOneOfAsync(IDuplexPipe pipe, IReadOnlyList<string> protocols, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipe);
        ArgumentNullException.ThrowIfNull(protocols);
        if (protocols.Count == 0)
        {
            throw new ArgumentException("at least one protocol must be proposed", nameof(protocols));
        }

        MultistreamCodec.Write(pipe.Output, MultistreamCodec.Header);
        MultistreamCodec.Write(pipe.Output, protocols[0]);
        await FlushAsync(pipe.Output, cancellationToken).ConfigureAwait(false);

        var header = await ReadMessageAsync(pipe.Input, cancellationToken).ConfigureAwait(false);
        if (header != MultistreamCodec.Header)
        {
            throw new ProtocolNegotiationException($"expected the multistream header, got '{Printable(header)}'");
        }

        for (var i = 0; ; i++)
        {
            var answer = await ReadMessageAsync(pipe.Input, cancellationToken).ConfigureAwait(false);
            if (answer == protocols[i])
            {
                return answer;
            }

            if (answer != MultistreamCodec.NotAvailable)
            {
                throw new ProtocolNegotiationException($"proposed '{protocols[i]}', remote answered '{Printable(answer)}'");
            }

            if (i + 1 == protocols.Count)
            {
                throw new ProtocolNegotiationException($"remote supports none of: {string.Join(", ", protocols)}");
            }

            MultistreamCodec.Write(pipe.Output, protocols[i + 1]);
            await FlushAsync(pipe.Output, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Dialer role for a single protocol.</summary>
    public static ValueTask<string> SelectAsync(IDuplexPipe pipe, string protocol, CancellationToken cancellationToken = default) =>
        SelectOneOfAsync(pipe, [protocol], cancellationToken);

    /// <summary>
    /// Listener role over a fixed set: as <see cref="ListenAsync(IDuplexPipe, Func{string, bool}, CancellationToken)"/>,
    /// and <c>ls</c> is answered with the set.
    /// </summary>
    public static ValueTask<string> ListenAsync(IDuplexPipe pipe, IReadOnlyCollection<string> protocols, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(protocols);
        return ListenCoreAsync(pipe, protocols.Contains, () => protocols, cancellationToken);
    }

    /// <summary>
    /// Listener role: sends the header at once, reads the dialer's header, then answers each
    /// proposal with <c>na</c> until <paramref name="isSupported"/> accepts one, which it echoes.
    /// <c>ls</c> is answered with an empty list (use the set overload to list protocols).
    /// </summary>
    /// <returns>The selected protocol id.</returns>
    /// <exception cref="ProtocolNegotiationException">The remote did not start with the multistream header.</exception>
    /// <exception cref="ConnectionClosedException">The remote closed before selecting a protocol.</exception>
    public static ValueTask<string> ListenAsync(IDuplexPipe pipe, Func<string, bool> isSupported, CancellationToken cancellationToken = default) =>
        ListenCoreAsync(pipe, isSupported, static () => [], cancellationToken);

    /// <summary>Listener role with a predicate and a list for <c>ls</c>.</summary>
    public static ValueTask<string> ListenAsync(IDuplexPipe pipe, Func<string, bool> isSupported, Func<IEnumerable<string>> list, CancellationToken cancellationToken = default) =>
        ListenCoreAsync(pipe, isSupported, list, cancellationToken);

    private static async ValueTask<string> ListenCoreAsync(IDuplexPipe pipe, Func<string, bool> isSupported, Func<IEnumerable<string>> list, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pipe);
        ArgumentNullException.ThrowIfNull(isSupported);
        MultistreamCodec.Write(pipe.Output, MultistreamCodec.Header);
        await FlushAsync(pipe.Output, cancellationToken).ConfigureAwait(false);

        var header = await ReadMessageAsync(pipe.Input, cancellationToken).ConfigureAwait(false);
        if (header != MultistreamCodec.Header)
        {
            throw new ProtocolNegotiationException($"expected the multistream header, got '{Printable(header)}'");
        }

        while (true)
        {
            var proposal = await ReadMessageAsync(pipe.Input, cancellationToken).ConfigureAwait(false);
            if (proposal == MultistreamCodec.List)
            {
                MultistreamCodec.WriteList(pipe.Output, list());
            }
            else if (proposal != MultistreamCodec.NotAvailable && proposal != MultistreamCodec.Header && isSupported(proposal))
            {
                MultistreamCodec.Write(pipe.Output, proposal);
                await FlushAsync(pipe.Output, cancellationToken).ConfigureAwait(false);
                return proposal;
            }
            else
            {
                MultistreamCodec.Write(pipe.Output, MultistreamCodec.NotAvailable);
            }

            await FlushAsync(pipe.Output, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Reads exactly one framed message, leaving any following bytes in the pipe.</summary>
    internal static async ValueTask<string> ReadMessageAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            string message;
            bool complete;
            try
            {
                complete = MultistreamCodec.TryRead(ref buffer, out message);
            }
            catch
            {
                reader.AdvanceTo(result.Buffer.Start);
                throw;
            }

            if (complete)
            {
                reader.AdvanceTo(buffer.Start);
                return message;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                throw new ConnectionClosedException("the remote closed during protocol negotiation", isRemote: true);
            }
        }
    }

    private static async ValueTask FlushAsync(PipeWriter writer, CancellationToken cancellationToken)
    {
        var result = await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (result.IsCompleted)
        {
            throw new ConnectionClosedException("the remote stopped reading during protocol negotiation", isRemote: true);
        }
    }

    private static string Printable(string text) => text.Length <= 64 ? text : string.Concat(text.AsSpan(0, 64), "…");
}
