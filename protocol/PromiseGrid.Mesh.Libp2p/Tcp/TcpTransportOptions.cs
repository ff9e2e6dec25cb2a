using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace PromiseGrid.Mesh.Tcp;

/// <summary>Settings of <see cref="TcpTransport"/>.</summary>
public sealed record TcpTransportOptions
{
    /// <summary>The defaults.</summary>
    public static TcpTransportOptions Default { get; } = new();

    /// <summary>
    /// Bytes buffered in each direction of a connection before the producer pauses (the receive
    /// loop stops reading the socket; application writes wait). Default 4 MiB (loopback measurements:
    /// 1 MiB with 64 KiB reads gave about 0.75 GB/s, 4 MiB with 256 KiB reads about 1.2 GB/s).
    /// </summary>
    public long PauseThreshold { get; init; } = 4 * 1024 * 1024;

    /// <summary>Buffered bytes below which a paused producer resumes. Default 2 MiB.</summary>
    public long ResumeThreshold { get; init; } = 2 * 1024 * 1024;

    /// <summary>Smallest buffer the receive loop asks the pipe for per socket read. Default 256 KiB.</summary>
    public int ReceiveBufferSize { get; init; } = 256 * 1024;

    /// <summary>Accept backlog of listening sockets. Default 512.</summary>
    public int ListenBacklog { get; init; } = 512;

    /// <summary>Disables Nagle's algorithm (TCP_NODELAY). Default <c>true</c>.</summary>
    public bool NoDelay { get; init; } = true;

    /// <summary>Logger source; defaults to no logging.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> on inconsistent settings.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(PauseThreshold, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(ResumeThreshold, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ResumeThreshold, PauseThreshold);
        ArgumentOutOfRangeException.ThrowIfLessThan(ReceiveBufferSize, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(ListenBacklog, 1);
        ArgumentNullException.ThrowIfNull(LoggerFactory);
    }
}
