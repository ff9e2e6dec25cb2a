using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace PromiseGrid.Mesh.Noise;

/// <summary>
/// Settings of the Noise security upgrade. Immutable; derive variants with <c>with</c>.
/// </summary>
public sealed record NoiseOptions
{
    /// <summary>The defaults.</summary>
    public static NoiseOptions Default { get; } = new();

    /// <summary>Longest time the three handshake messages may take. Default 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Decrypted bytes buffered for the reader, and plaintext buffered for the writer, before the
    /// channel stops reading from the transport or pauses the writer. Default 1 MiB; at least
    /// one Noise message (65535 bytes).
    /// </summary>
    public int MaxBufferedBytes { get; init; } = 1 << 20;

    /// <summary>
    /// How long disposing a channel waits for buffered plaintext to be sent before it gives up and
    /// closes the transport. Default 5 s.
    /// </summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Clock for the timeouts. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Logger source. Default <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Checks the settings.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    /// <exception cref="ArgumentNullException">A service is missing.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(HandshakeTimeout, TimeSpan.Zero, nameof(HandshakeTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(DrainTimeout, TimeSpan.Zero, nameof(DrainTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBufferedBytes, NoiseFrameCodec.MaxMessageLength, nameof(MaxBufferedBytes));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        ArgumentNullException.ThrowIfNull(LoggerFactory, nameof(LoggerFactory));
    }
}
