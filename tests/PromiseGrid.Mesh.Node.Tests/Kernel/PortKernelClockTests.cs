using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Node.Tests.Kernel;

/// <summary>The trailer's timestamp with the system clock, which the kernel reads once per coarse clock tick.</summary>
public class PortKernelClockTests
{
    [Fact]
    public async Task SendMessage_SystemClock_TimestampsAreTheWallClockAndMoveOn()
    {
        await using var kernel = new PortKernel(TestPeers.Local);
        var task = kernel.CreateTask("t");
        var port = task.CreatePort();
        var send = task.MakeSend(port);

        var before = DateTimeOffset.UtcNow;
        var first = await SendAndStampAsync();
        Assert.InRange(first, before.AddMilliseconds(-1), DateTimeOffset.UtcNow);

        // A later send gets a later time once the clock has moved on: the cached time is not
        // kept for ever. Each stamp is never ahead of the wall clock, nor behind the previous one.
        var deadline = DateTimeOffset.UtcNow + TestPeers.Timeout;
        var previous = first;
        var later = first;
        while (later == first)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "the trailer's time never moved on");
            await Task.Delay(5);
            later = await SendAndStampAsync();
            Assert.InRange(later, previous, DateTimeOffset.UtcNow);
            previous = later;
        }

        async Task<DateTimeOffset> SendAndStampAsync()
        {
            await task.SendMessageAsync(new PortMessage { Destination = send });
            using var m = await task.ReceiveMessageAsync(port).AsTask().WaitAsync(TestPeers.Timeout);
            return m.Trailer.Timestamp;
        }
    }
}
