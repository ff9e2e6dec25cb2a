using PromiseGrid.Mesh.Tcp;

namespace PromiseGrid.Mesh.Cli.Commands;

/// <summary>
/// Turns any failure of a command into one clear line and an exit code:
/// 2 usage or bad multiaddr, 3 peer unreachable, 4 wrong peer id, 5 protocol not supported,
/// 6 timeout, 7 address in use, 1 anything else.
/// </summary>
internal static class CliErrors
{
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
        PeerUnreachableException => (3, "unreachable"),
        PeerIdMismatchException => (4, "peer-id-mismatch"),
        ProtocolNegotiationException => (5, "unsupported-protocol"),
        MeshTimeoutException or TimeoutException => (6, "timeout"),
        OperationCanceledException => (6, "timeout"),
        AddressInUseException => (7, "address-in-use"),
        _ => (1, "error"),
    };
}
