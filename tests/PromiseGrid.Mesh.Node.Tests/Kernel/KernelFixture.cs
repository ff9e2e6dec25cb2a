using System.Text;
using Microsoft.Extensions.Time.Testing;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Node.Tests.Kernel;

/// <summary>A kernel on a fake clock with two tasks; checks the rights accounting on dispose.</summary>
public abstract class KernelFixture : IAsyncLifetime
{
    protected KernelFixture(PortKernelOptions? options = null)
    {
        Kernel = new PortKernel(TestPeers.Local, options, Time);
        A = Kernel.CreateTask("a");
        B = Kernel.CreateTask("b");
    }

    protected FakeTimeProvider Time { get; } = new();

    protected PortKernel Kernel { get; }

    protected PortTask A { get; }

    protected PortTask B { get; }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        AssertConsistent();
        await Kernel.DisposeAsync();
    }

    protected void AssertConsistent() => Assert.Empty(Kernel.CheckInvariants());

    protected static PortMessage Text(PortName destination, string text, PortDisposition disposition = PortDisposition.CopySend) =>
        new() { Destination = destination, DestinationDisposition = disposition, Payload = Encoding.UTF8.GetBytes(text) };

    protected static string TextOf(PortMessage message) => Encoding.UTF8.GetString(message.Payload.Span);

    /// <summary>A receive right in <paramref name="receiver"/> and a send right to it in <paramref name="sender"/>.</summary>
    protected static (PortName Receive, PortName Send) Connect(PortTask receiver, PortTask sender)
    {
        var receive = receiver.CreatePort();
        var send = receiver.InsertRight(sender, receive, PortDisposition.MakeSend);
        return (receive, send);
    }

    protected static async Task<PortMessage> ReceiveAsync(PortTask task, PortName name) =>
        await task.ReceiveMessageAsync(name).AsTask().WaitAsync(TestPeers.Timeout);
}
