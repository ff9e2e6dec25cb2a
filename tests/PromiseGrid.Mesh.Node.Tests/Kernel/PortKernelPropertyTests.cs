using CsCheck;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Node.Tests.Kernel;

/// <summary>
/// Random operation sequences over three tasks. After every operation the kernel's counters
/// must match a recount of every right (no negative counts, no leaked or duplicated rights);
/// at the end every send-once right ever made to the observer's notify port must have produced
/// exactly one message there (each notification exactly once), and no port may be left alive.
/// </summary>
public class PortKernelPropertyTests
{
    private static readonly PortDisposition[] Dispositions =
    [
        PortDisposition.MoveReceive, PortDisposition.MoveSend, PortDisposition.MoveSendOnce,
        PortDisposition.CopySend, PortDisposition.MakeSend, PortDisposition.MakeSendOnce,
    ];

    private static readonly Gen<int[]> GenOp = Gen.Int[0, 1000].Array[7];

    [Fact]
    public void RandomOperations_KeepRightsAccountingExact() =>
        GenOp.Array[1, 80].Sample(ops => Run(ops), iter: 300, threads: 1);

    private static void Run(int[][] ops)
    {
        var kernel = new PortKernel(TestPeers.Local);
        var observer = kernel.CreateTask("observer");
        var notify = observer.CreatePort();
        var tasks = new[] { kernel.CreateTask("a"), kernel.CreateTask("b"), kernel.CreateTask("c") };
        var made = 0;
        var step = 0;
        foreach (var op in ops)
        {
            step++;
            var task = tasks[op[1] % tasks.Length];
            try
            {
                Apply(op, task, tasks, observer, notify, ref made);
            }
            catch (MeshException)
            {
                // Refused operations are part of the property: they must leave the books balanced.
            }

            var problems = kernel.CheckInvariants();
            Assert.True(problems.Count == 0, $"after step {step} (op {string.Join(',', op)}): {string.Join("; ", problems)}");
        }

        foreach (var t in tasks)
        {
            t.DisposeAsync().AsTask().Wait();
            Assert.Empty(kernel.CheckInvariants());
        }

        var received = 0;
        while (TryReceive(observer, notify, out var message))
        {
            received++;
            foreach (var name in (message.Ports ?? []).Select(p => p.Name).Append(message.ReplyPort))
            {
                if (!name.IsNull && name != PortName.Dead && observer.GetNames().Contains(name))
                {
                    observer.DestroyPort(name);
                }
            }
        }

        Assert.Equal(made, received);
        Assert.Equal(1, kernel.LivePortCount);
        Assert.Empty(kernel.CheckInvariants());
        kernel.DisposeAsync().AsTask().Wait();
    }

    private static bool TryReceive(PortTask task, PortName port, out PortMessage message)
    {
        var pending = task.ReceiveMessageAsync(port, TimeSpan.Zero);
        if (pending.IsCompletedSuccessfully)
        {
            message = pending.Result;
            return true;
        }

        var error = pending.AsTask().Exception!.InnerException!;
        if (error is not ReceiveTimeoutException)
        {
            throw error;
        }

        message = null!;
        return false;
    }

    private static PortName Pick(PortTask task, int choice)
    {
        var names = task.GetNames();
        return choice % 10 == 0 || names.Count == 0 ? new PortName((uint)choice) : names[choice % names.Count];
    }

    /// <summary>Applies one operation; counts the send-once rights to the notify port it makes.</summary>
    private static void Apply(int[] op, PortTask task, PortTask[] tasks, PortTask observer, PortName notify, ref int made)
    {
        var other = tasks[op[2] % tasks.Length];
        var name = Pick(task, op[3]);
        var disposition = Dispositions[op[4] % Dispositions.Length];
        switch (op[0] % 13)
        {
            case 0:
            case 1:
                task.CreatePort();
                return;
            case 2:
                task.MakeSend(name);
                return;
            case 3:
                task.InsertRight(other, name, disposition);
                return;
            case 4:
                task.Deallocate(name);
                return;
            case 5:
                task.ModRefs(name, (PortRight)(op[5] % 5), (op[6] % 4) - 2);
                return;
            case 6:
                task.DestroyPort(name);
                return;
            case 7:
            case 8:
                var message = new PortMessage
                {
                    Destination = name,
                    DestinationDisposition = Dispositions[1 + (op[4] % 5)],
                    ReplyPort = op[5] % 3 == 0 ? PortName.Null : Pick(task, op[5]),
                    ReplyDisposition = Dispositions[op[5] % Dispositions.Length],
                    Ports = op[6] % 3 == 0 ? null : [new(Pick(task, op[6]), Dispositions[op[6] % Dispositions.Length])],
                };
                if (message.ReplyPort.IsNull)
                {
                    message.ReplyDisposition = PortDisposition.None;
                }

                var send = task.SendMessageAsync(message, TimeSpan.Zero);
                if (!send.IsCompletedSuccessfully)
                {
                    throw send.AsTask().Exception!.InnerException!;
                }

                return;
            case 9:
                if (TryReceive(task, name, out var received))
                {
                    received.Dispose();
                }

                return;
            case 10:
                var once = observer.InsertRight(task, notify, PortDisposition.MakeSendOnce);
                made++;
                task.RequestNotification(name, (PortNotificationKind)(op[5] % 3), once, PortDisposition.MoveSendOnce, (uint)(op[6] % 3));
                return;
            case 11:
                var set = task.GetNames().FirstOrDefault(n => task.GetRightTypes(n).HasFlag(PortRightTypes.PortSet));
                task.MoveMember(name, set.IsNull || op[5] % 4 == 0 ? task.CreatePortSet() : set);
                return;
            default:
                other.ExtractRight(task, name, disposition);
                return;
        }
    }
}
