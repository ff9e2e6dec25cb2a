using System.Buffers;
using System.IO.Pipelines;
using PromiseGrid.Mesh.Abstractions;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Noise;

namespace PromiseGrid.Mesh.Libp2p.Tests.Noise;

/// <summary>Shared set-up of the Noise tests: two identities, a connection pair, a completed handshake.</summary>
internal sealed class NoiseTestKit : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private ISecureChannel? _dialerChannel;
    private ISecureChannel? _listenerChannel;

    public NoiseTestKit(PipeOptions? pipeOptions = null, NoiseOptions? options = null)
    {
        (Dialer, Listener) = InMemoryConnection.CreatePair(pipeOptions);
        DialerUpgrade = new NoiseUpgrade(DialerIdentity, options);
        ListenerUpgrade = new NoiseUpgrade(ListenerIdentity, options);
    }

    public IdentityKeyPair DialerIdentity { get; } = IdentityKeyPair.Generate();

    public IdentityKeyPair ListenerIdentity { get; } = IdentityKeyPair.Generate();

    public InMemoryConnection Dialer { get; }

    public InMemoryConnection Listener { get; }

    public NoiseUpgrade DialerUpgrade { get; }

    public NoiseUpgrade ListenerUpgrade { get; }

    /// <summary>Runs both sides of the handshake.</summary>
    public async Task<(ISecureChannel Dialer, ISecureChannel Listener)> HandshakeAsync()
    {
        var inbound = ListenerUpgrade.SecureInboundAsync(Listener).AsTask();
        var outbound = DialerUpgrade.SecureOutboundAsync(Dialer, ListenerIdentity.PeerId).AsTask();
        _dialerChannel = await outbound.WaitAsync(Timeout);
        _listenerChannel = await inbound.WaitAsync(Timeout);
        return (_dialerChannel, _listenerChannel);
    }

    public static async Task<byte[]> ReadExactlyAsync(PipeReader reader, int count)
    {
        var output = new byte[count];
        var filled = 0;
        while (filled < count)
        {
            var result = await reader.ReadAsync().AsTask().WaitAsync(Timeout);
            var buffer = result.Buffer;
            var take = (int)Math.Min(buffer.Length, count - filled);
            buffer.Slice(0, take).CopyTo(output.AsSpan(filled));
            filled += take;
            reader.AdvanceTo(buffer.GetPosition(take));
            if (result.IsCompleted && filled < count)
            {
                throw new EndOfStreamException($"stream ended after {filled} of {count} bytes");
            }
        }

        return output;
    }

    /// <summary>Reads until the writer completes; returns everything read.</summary>
    public static async Task<byte[]> ReadToEndAsync(PipeReader reader)
    {
        var output = new ArrayBufferWriter<byte>();
        while (true)
        {
            var result = await reader.ReadAsync().AsTask().WaitAsync(Timeout);
            foreach (var segment in result.Buffer)
            {
                output.Write(segment.Span);
            }

            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return output.WrittenSpan.ToArray();
            }
        }
    }

    public static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public async ValueTask DisposeAsync()
    {
        if (_dialerChannel is not null)
        {
            await _dialerChannel.DisposeAsync();
        }

        if (_listenerChannel is not null)
        {
            await _listenerChannel.DisposeAsync();
        }

        DialerIdentity.Dispose();
        ListenerIdentity.Dispose();
    }
}
