namespace PromiseGrid.Mesh.Ports.Wire;

/// <summary>Why a request failed (docs/ports-protocol.md, "Errors").</summary>
public enum PortsErrorCode : byte
{
    /// <summary>No such port at this home (never existed, or dead): the sender's right becomes a dead name. Refusal.</summary>
    NoSuchPort = 1,

    /// <summary>The client holds no right that allows the request. Refusal.</summary>
    NoRight = 2,

    /// <summary>The message breaks a size limit of the server. Refusal.</summary>
    TooLarge = 3,

    /// <summary>Something the server does not do (e.g. an unknown right type, or a receive right moved into a message to its own port). Refusal.</summary>
    Unsupported = 4,

    /// <summary>The envelope or a field is malformed. Refusal.</summary>
    Malformed = 5,

    /// <summary>The port's queue stayed full until the deliver's timeout; the message and its rights were destroyed by the server.</summary>
    Timeout = 6,

    /// <summary>The port died while the message waited for room; the message and its rights were destroyed by the server.</summary>
    PortDied = 7,

    /// <summary>A receive right arrived for a port id already in use at the server (version 2). Refusal.</summary>
    PortExists = 8,

    /// <summary>
    /// The server had forwarded the message towards the port's new home (its receive right moved
    /// away) and that home did not take it; the server destroyed it and released its rights
    /// (version 2).
    /// </summary>
    Undeliverable = 9,
}

/// <summary>Helpers for <see cref="PortsErrorCode"/>.</summary>
public static class PortsErrorCodes
{
    /// <summary>
    /// True when the server refused the request before taking anything: the rights in the
    /// message are still the sender's to release. False when the server took the message and
    /// destroyed it later (timeout, port death): the server released its rights.
    /// </summary>
    public static bool IsRefusal(PortsErrorCode code) => code is not (PortsErrorCode.Timeout or PortsErrorCode.PortDied or PortsErrorCode.Undeliverable);

    /// <summary>True for the codes this version knows.</summary>
    public static bool IsKnown(byte code) => code is >= 1 and <= 9;

    /// <summary>
    /// The code to send to a client that speaks <paramref name="version"/>: a version-1 client
    /// knows codes 1-7 only, so the newer codes become the version-1 code of the same kind
    /// (refusal or taken).
    /// </summary>
    public static PortsErrorCode ForVersion(PortsErrorCode code, uint version) => version >= 2 ? code : code switch
    {
        PortsErrorCode.PortExists => PortsErrorCode.Unsupported,
        PortsErrorCode.Undeliverable => PortsErrorCode.PortDied,
        _ => code,
    };
}
