using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace PromiseGrid.Mesh.Yamux;

/// <summary>
/// Settings of a <see cref="YamuxSession"/> (libp2p-wire.md §6). Every limit is enforced against the
/// remote: going past it ends only the offending stream or session, with a typed error.
/// </summary>
public sealed record YamuxOptions
{
    /// <summary>Largest data payload this implementation sends in one frame (§6.4: keep frames ≤ 64 KiB).</summary>
    public const int MaxFramePayload = 64 * 1024;

    /// <summary>The defaults documented on each property.</summary>
    public static YamuxOptions Default { get; } = new();

    /// <summary>
    /// Receive window of each new stream, in bytes. Default 256 KiB, the spec's initial window
    /// (§6.4); a larger value is advertised with the SYN or ACK frame.
    /// </summary>
    public int InitialStreamWindow { get; init; } = YamuxCodec.InitialWindow;

    /// <summary>
    /// Largest receive window a stream grows to when windows are auto-tuned by RTT (like go-yamux:
    /// the window doubles when credit is returned within 4 RTTs). Default 16 MiB. Equal to
    /// <see cref="InitialStreamWindow"/> disables auto-tuning (fixed windows, no RTT ping at start).
    /// Also the largest data frame accepted on a stream that is already closed.
    /// </summary>
    public int MaxStreamWindow { get; init; } = 16 * 1024 * 1024;

    /// <summary>Largest data payload per outbound frame, 1 to <see cref="MaxFramePayload"/>. Default 64 KiB − 12 (go: frames ≤ 64 KiB with the header).</summary>
    public int MaxOutboundFrameSize { get; init; } = MaxFramePayload - YamuxCodec.HeaderSize;

    /// <summary>
    /// Concurrent streams per session (both directions). Past it inbound SYNs get RST and
    /// <see cref="YamuxSession.OpenStreamAsync"/> throws <see cref="LimitExceededException"/>. Default 1024.
    /// </summary>
    public int MaxStreams { get; init; } = 1024;

    /// <summary>Inbound streams waiting for <see cref="YamuxSession.AcceptStreamAsync"/> (the spec's ACK backlog, §6.3); more are reset. Default 256.</summary>
    public int AcceptBacklog { get; init; } = 256;

    /// <summary>
    /// Bytes an application may buffer in a stream's <c>Output</c> before <c>FlushAsync</c> waits for
    /// the session to send them (which in turn waits for window credit). Default 256 KiB.
    /// </summary>
    public int StreamWriteBufferSize { get; init; } = 256 * 1024;

    /// <summary>
    /// Interval of keep-alive pings; a ping still unanswered one interval later ends the session with
    /// <see cref="MeshTimeoutException"/>. Default 30 s (go, js); <see cref="TimeSpan.Zero"/> disables.
    /// </summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Clock for keep-alive and RTT. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Logger factory. Default <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Whether windows are auto-tuned (<see cref="MaxStreamWindow"/> above the initial window).</summary>
    internal bool AutoTuneWindows => MaxStreamWindow > InitialStreamWindow;

    /// <summary>Checks every value; called by the session factories.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(InitialStreamWindow, YamuxCodec.InitialWindow, nameof(InitialStreamWindow));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxStreamWindow, InitialStreamWindow, nameof(MaxStreamWindow));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxOutboundFrameSize, 1, nameof(MaxOutboundFrameSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxOutboundFrameSize, MaxFramePayload, nameof(MaxOutboundFrameSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxStreams, 1, nameof(MaxStreams));
        ArgumentOutOfRangeException.ThrowIfLessThan(AcceptBacklog, 1, nameof(AcceptBacklog));
        ArgumentOutOfRangeException.ThrowIfLessThan(StreamWriteBufferSize, 1, nameof(StreamWriteBufferSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(KeepAliveInterval, TimeSpan.Zero, nameof(KeepAliveInterval));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        ArgumentNullException.ThrowIfNull(LoggerFactory, nameof(LoggerFactory));
    }
}
