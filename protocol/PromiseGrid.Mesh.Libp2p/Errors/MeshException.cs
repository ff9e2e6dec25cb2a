namespace PromiseGrid.Mesh;

/// <summary>
/// Base of every failure PromiseGrid.Mesh reports. Callers catch this type to handle any mesh
/// error; the sealed leaves say what went wrong. Bad input from the network always surfaces as
/// one of these, never as a crash.
/// </summary>
public abstract class MeshException : Exception
{
    protected MeshException(string message) : base(message) { }

    protected MeshException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>Malformed bytes on the wire or in a text form (varint, multiaddr, protobuf, frame).</summary>
public sealed class InvalidFormatException : MeshException
{
    public InvalidFormatException(string message) : base(message) { }

    public InvalidFormatException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>A configured or protocol limit was exceeded (frame size, line length, stream count).</summary>
public sealed class LimitExceededException : MeshException
{
    public LimitExceededException(string limit, long value, long maximum)
        : base($"{limit} {value} exceeds the limit {maximum}")
    {
        Limit = limit;
        Value = value;
        Maximum = maximum;
    }

    /// <summary>Name of the limit, for example "multistream line length".</summary>
    public string Limit { get; }

    public long Value { get; }

    public long Maximum { get; }
}

/// <summary>A security handshake failed: bad signature, wrong peer id, decryption failure.</summary>
public sealed class HandshakeException : MeshException
{
    public HandshakeException(string message) : base(message) { }

    public HandshakeException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>The remote peer's authenticated id differs from the one the dialled address named.</summary>
public sealed class PeerIdMismatchException : MeshException
{
    public PeerIdMismatchException(string expected, string actual)
        : base($"dialled peer {expected} but the remote authenticated as {actual}")
    {
        Expected = expected;
        Actual = actual;
    }

    public string Expected { get; }

    public string Actual { get; }
}

/// <summary>multistream-select could not agree on a protocol (the remote answered <c>na</c>).</summary>
public sealed class ProtocolNegotiationException : MeshException
{
    public ProtocolNegotiationException(string message) : base(message) { }

    public ProtocolNegotiationException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>The remote broke the rules of a protocol (a yamux violation, an unexpected message).</summary>
public sealed class ProtocolViolationException : MeshException
{
    public ProtocolViolationException(string message) : base(message) { }

    public ProtocolViolationException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>The connection is closed or was lost; <see cref="IsRemote"/> says which side ended it.</summary>
public sealed class ConnectionClosedException : MeshException
{
    public ConnectionClosedException(string message, bool isRemote = false, Exception? innerException = null)
        : base(message, innerException) => IsRemote = isRemote;

    public bool IsRemote { get; }
}

/// <summary>A muxed stream was reset (hard close) by one side.</summary>
public sealed class StreamResetException : MeshException
{
    public StreamResetException(uint streamId, bool isRemote, uint errorCode = 0)
        : base($"stream {streamId} was reset by the {(isRemote ? "remote" : "local")} side (code {errorCode})")
    {
        StreamId = streamId;
        IsRemote = isRemote;
        ErrorCode = errorCode;
    }

    public uint StreamId { get; }

    public bool IsRemote { get; }

    public uint ErrorCode { get; }
}

/// <summary>A peer could not be reached (connection refused, no route, dial timeout).</summary>
public sealed class PeerUnreachableException : MeshException
{
    public PeerUnreachableException(string message, Exception? innerException = null) : base(message, innerException) { }
}

/// <summary>An operation did not finish within its deadline.</summary>
public sealed class MeshTimeoutException : MeshException
{
    public MeshTimeoutException(string message, Exception? innerException = null) : base(message, innerException) { }
}
