using System.Buffers;
using System.IO.Pipelines;

namespace PromiseGrid.Mesh.Noise;

/// <summary>The read loop: transport frames → decrypted bytes in the input pipe.</summary>
internal sealed partial class NoiseSecureChannel
{
    private async Task ReadLoopAsync()
    {
        var source = _transport.Input;
        var target = _input.Writer;
        Exception? error = null;
        try
        {
            while (true)
            {
                var result = await source.ReadAsync(_stop.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                long produced;
                long remaining;
                var more = false;
                try
                {
                    produced = DecryptFrames(ref buffer, target, out more);
                    remaining = buffer.Length;
                }
                finally
                {
                    // Stopped at the batch limit: complete frames remain, so mark them unexamined
                    // and the next read returns at once instead of waiting for more bytes.
                    source.AdvanceTo(buffer.Start, more ? buffer.Start : buffer.End);
                }

                if (produced > 0)
                {
                    var flush = await target.FlushAsync(_stop.Token).ConfigureAwait(false);
                    if (flush.IsCompleted)
                    {
                        break; // the application stopped reading
                    }
                }

                if (result.IsCompleted && !more)
                {
                    if (remaining > 0)
                    {
                        throw new ConnectionClosedException($"the remote closed the connection {remaining} bytes into a Noise frame", isRemote: true);
                    }

                    NoiseLog.RemoteClosed(_logger, RemotePeer);
                    break;
                }
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
            // Stopped on purpose. The transport may already be aborted too, and its error
            // (a reset wrapping the reason) is a consequence: the pipe completes with the reason.
            error = StoppedError();
        }
        catch (Exception e)
        {
            error = e;
            NoiseLog.ReadFailed(_logger, RemotePeer, e);
            Fail(e);
        }

        await target.CompleteAsync(error).ConfigureAwait(false);
        await source.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Decrypts the complete frames at the front of <paramref name="buffer"/> into
    /// <paramref name="target"/>'s memory (up to about <see cref="NoiseOptions.MaxBufferedBytes"/>
    /// per call, so the flush that follows applies backpressure).
    /// </summary>
    /// <param name="buffer">Unread transport bytes; advanced past the frames decrypted.</param>
    /// <param name="target">The channel's input pipe.</param>
    /// <param name="stoppedAtLimit">True when the batch limit stopped the loop before the buffer ran out of frames.</param>
    /// <returns>The number of plaintext bytes written.</returns>
    private long DecryptFrames(ref ReadOnlySequence<byte> buffer, PipeWriter target, out bool stoppedAtLimit)
    {
        long produced = 0;
        Span<byte> tag = stackalloc byte[CipherState.TagLength];
        while (true)
        {
            if (produced >= _options.MaxBufferedBytes)
            {
                stoppedAtLimit = !buffer.IsEmpty;
                return produced;
            }

            if (!NoiseFrameCodec.TryReadFrame(ref buffer, out var message))
            {
                stoppedAtLimit = false;
                return produced;
            }

            if (message.Length < CipherState.TagLength)
            {
                throw new ProtocolViolationException($"Noise transport message of {message.Length} bytes is shorter than its {CipherState.TagLength}-byte tag");
            }

            var length = (int)message.Length - CipherState.TagLength;
            var plaintext = target.GetSpan(length)[..length];
            bool authentic;
            if (message.IsSingleSegment)
            {
                var frame = message.FirstSpan;
                authentic = _receive.TryDecrypt([], frame[..length], frame[length..], plaintext);
            }
            else
            {
                // The frame spans transport segments: gather it into its final place, decrypt in place.
                message.Slice(0, length).CopyTo(plaintext);
                message.Slice(length).CopyTo(tag);
                authentic = _receive.TryDecrypt([], plaintext, tag, plaintext);
            }

            if (!authentic)
            {
                throw new NoiseDecryptionException($"Noise transport message {_receive.Nonce} from {RemotePeer} failed authentication");
            }

            target.Advance(length);
            produced += length;
        }
    }
}
