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

    /// <summary>Something the server does not do (e.g. a receive right moving between nodes). Refusal.</summary>
    Unsupported = 4,

    /// <summary>The envelope or a field is malformed. Refusal.</summary>
    Malformed = 5,

    /// <summary>The port's queue stayed full until the deliver's timeout; the message and its rights were destroyed by the server.</summary>
    Timeout = 6,

    /// <summary>The port died while the message waited for room; the message and its rights were destroyed by the server.</summary>
    PortDied = 7,
}

/// <summary>Helpers for <see cref="PortsErrorCode"/>.</summary>
public static class PortsErrorCodes
{
    /// <summary>
    /// True when the server refused the request before taking anything: the rights in the
    /// message are still the sender's to release. False when the server took the message and
    /// destroyed it later (timeout, port death): the server released its rights.
    /// </summary>
    public static bool IsRefusal(PortsErrorCode code) => code is not (PortsErrorCode.Timeout or PortsErrorCode.PortDied);

    /// <summary>True for the codes this version knows.</summary>
    public static bool IsKnown(byte code) => code is >= 1 and <= 7;
}
