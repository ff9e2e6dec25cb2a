using System.Buffers;
using System.IO.Pipelines;

namespace PromiseGrid.Mesh.Noise;

/// <summary>The write loop: plaintext from the output pipe → encrypted frames in the transport.</summary>
internal sealed partial class NoiseSecureChannel
{
    private async Task WriteLoopAsync()
    {
        var source = _output.Reader;
        var target = _transport.Output;
        Exception? error = null;
        try
        {
            while (true)
            {
                var result = await source.ReadAsync(_stop.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                var batch = buffer.Length > _options.MaxBufferedBytes ? buffer.Slice(0, _options.MaxBufferedBytes) : buffer;
                var all = batch.Length == buffer.Length;
                var any = !batch.IsEmpty;
                try
                {
                    if (any)
                    {
                        EncryptFrames(batch, target);
                    }
                }
                finally
                {
                    source.AdvanceTo(batch.End);
                }

                if (any)
                {
                    var flush = await target.FlushAsync(_stop.Token).ConfigureAwait(false);
                    if (flush.IsCompleted)
                    {
                        throw new ConnectionClosedException("the transport stopped accepting data");
                    }
                }

                if (result.IsCompleted && all)
                {
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
            NoiseLog.WriteFailed(_logger, RemotePeer, e);
            Fail(e);
        }

        await source.CompleteAsync(error).ConfigureAwait(false);
        if (error is null)
        {
            // Graceful end of our output: half-close the transport (FIN).
            await target.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Encrypts <paramref name="plaintext"/> as frames of at most 65519 plaintext bytes straight into <paramref name="target"/>.</summary>
    private void EncryptFrames(ReadOnlySequence<byte> plaintext, PipeWriter target)
    {
        while (!plaintext.IsEmpty)
        {
            var length = (int)Math.Min(plaintext.Length, NoiseFrameCodec.MaxPlaintextLength);
            var chunk = plaintext.Slice(0, length);
            var frameLength = NoiseFrameCodec.LengthPrefixSize + length + CipherState.TagLength;
            var frame = target.GetSpan(frameLength);
            NoiseFrameCodec.WriteLengthPrefix(frame, length + CipherState.TagLength);
            var body = frame.Slice(NoiseFrameCodec.LengthPrefixSize, length);
            var tag = frame.Slice(NoiseFrameCodec.LengthPrefixSize + length, CipherState.TagLength);
            if (chunk.IsSingleSegment)
            {
                _send.Encrypt(chunk.FirstSpan, body, tag);
            }
            else
            {
                // The chunk spans segments: gather it into its final place, encrypt in place.
                chunk.CopyTo(body);
                _send.Encrypt(body, body, tag);
            }

            target.Advance(frameLength);
            plaintext = plaintext.Slice(chunk.End);
        }
    }
}
