using PromiseGrid.Mesh.Integration.Tests.Harness;

namespace PromiseGrid.Mesh.Integration.Tests.Ports;

/// <summary>samples/TwoNodes as a user runs it: Node A in this process's child, Node B in its grandchild.</summary>
public sealed class TwoNodesSampleTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Run_NoArguments_NodeBPrintsTheGreeting()
    {
        await using var sample = ManagedProcess.Start("dotnet", [RepoPaths.RequireSampleBuilt("TwoNodes")], new ManagedProcessOptions { Name = "TwoNodes" });

        var code = await sample.WaitForExitAsync(Timeout);

        Assert.True(code == 0, sample.Describe());
        await sample.WaitForTextLineAsync(line => line == "Node B received: Hello, Node B!", TimeSpan.FromSeconds(1));
        await sample.WaitForTextLineAsync(line => line == "Node A sent: Hello, Node B!", TimeSpan.FromSeconds(1));
    }
}
