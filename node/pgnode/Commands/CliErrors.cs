using PromiseGrid.Mesh.Tcp;

namespace PromiseGrid.Mesh.Cli.Commands;

/// <summary>
/// Turns any failure of a command into one clear line and an exit code:
/// 2 usage, bad multiaddr or port reference, message too large; 3 peer or port's home node unreachable;
/// 4 wrong peer id; 5 protocol not supported; 6 timeout; 7 address in use; 8 no such port (dead);
/// 9 no right to the port (not published); 10 <c>port send</c> finished but some messages were not
/// acknowledged (each printed as <c>send:error</c>); 1 anything else.
/// </summary>
internal static class CliErrors
{
    /// <summary>Exit code of a <c>port send</c> in which some messages failed.</summary>
    public const int Incomplete = 10;

    public static async Task<int> RunAsync(CliOutput output, Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (Exception e)
        {
            var (code, kind) = Classify(e);
            output.Error(e.Message, kind);
            return code;
        }
    }

    private static (int Code, string Kind) Classify(Exception e) => e switch
    {
        CliUsageException => (2, "usage"),
        InvalidFormatException => (2, "bad-input"),
        MessageTooLargeException => (2, "message-too-large"),
        PeerUnreachableException => (3, "unreachable"),
        NodeUnreachableException => (3, "node-unreachable"),
        PeerIdMismatchException => (4, "peer-id-mismatch"),
        ProtocolNegotiationException => (5, "unsupported-protocol"),
        MeshTimeoutException or SendTimeoutException or ReceiveTimeoutException or TimeoutException => (6, "timeout"),
        OperationCanceledException => (6, "timeout"),
        AddressInUseException => (7, "address-in-use"),
        PortDeadException => (8, "port-dead"),
        NoRightException => (9, "no-right"),
        _ => (1, "error"),
    };
}
