using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace PromiseGrid.Mesh.Ping;

/// <summary>
/// Ping (libp2p-wire.md §8): the dialer writes 32 random bytes, the listener echoes them; repeat on
/// the same stream. Wire functions over any duplex pipe (a muxed stream after multistream-select).
/// </summary>
public static class PingProtocol
{
    /// <summary>The ping protocol id.</summary>
    public const string ProtocolId = "/ipfs/ping/1.0.0";

    /// <summary>Size of one ping payload.</summary>
    public const int PayloadSize = 32;

    /// <summary>
    /// Listener: echoes every 32-byte ping until the remote closes its write side, then closes.
    /// A trailing partial ping is a violation.
    /// </summary>
    /// <exception cref="ProtocolViolationException">The stream ended in the middle of a ping.</exception>
    public static async Task HandleAsync(IDuplexPipe pipe, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipe);
        var input = pipe.Input;
        var output = pipe.Output;
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var whole = buffer.Length / PayloadSize * PayloadSize;
            if (whole > 0)
            {
                foreach (var segment in buffer.Slice(0, whole))
                {
                    output.Write(segment.Span);
                }
            }

            input.AdvanceTo(buffer.GetPosition(whole), buffer.End);
            if (whole > 0)
            {
                var flush = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (flush.IsCompleted)
                {
                    return;
                }
            }

            if (result.IsCompleted)
            {
                if (buffer.Length != whole)
                {
                    throw new ProtocolViolationException("ping stream ended inside a ping");
                }

                await output.CompleteAsync().ConfigureAwait(false);
                return;
            }
        }
    }

    /// <summary>Dialer: sends one ping and waits for its echo.</summary>
    /// <returns>The round-trip time measured with <paramref name="timeProvider"/>.</returns>
    /// <exception cref="ProtocolViolationException">The echo differs from what was sent.</exception>
    /// <exception cref="ConnectionClosedException">The remote closed before echoing.</exception>
    public static async ValueTask<TimeSpan> PingOnceAsync(IDuplexPipe pipe, TimeProvider? timeProvider = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipe);
        timeProvider ??= TimeProvider.System;
        var payload = new byte[PayloadSize];
        RandomNumberGenerator.Fill(payload);
        var start = timeProvider.GetTimestamp();
        await pipe.Output.WriteAsync(payload, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var result = await pipe.Input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (buffer.Length >= PayloadSize)
            {
                var echo = buffer.Slice(0, PayloadSize);
                var matches = Matches(echo, payload);
                pipe.Input.AdvanceTo(echo.End);
                if (!matches)
                {
                    throw new ProtocolViolationException("ping echo differs from the payload sent");
                }

                return timeProvider.GetElapsedTime(start);
            }

            pipe.Input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new ConnectionClosedException("the remote closed the ping stream", isRemote: true);
            }
        }
    }

    /// <summary>Dialer: pings <paramref name="count"/> times (or until cancelled when <c>null</c>), yielding each RTT; then closes the write side.</summary>
    public static async IAsyncEnumerable<TimeSpan> PingAsync(IDuplexPipe pipe, int? count = null, TimeProvider? timeProvider = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipe);
        for (var i = 0; count is null || i < count; i++)
        {
            yield return await PingOnceAsync(pipe, timeProvider, cancellationToken).ConfigureAwait(false);
        }

        await pipe.Output.CompleteAsync().ConfigureAwait(false);
    }

    private static bool Matches(ReadOnlySequence<byte> echo, byte[] payload)
    {
        Span<byte> copy = stackalloc byte[PayloadSize];
        echo.CopyTo(copy);
        return copy.SequenceEqual(payload);
    }
}
