using PromiseGrid.Mesh.Kernel;

namespace PromiseGrid.Mesh.Node.Tests.Kernel;

/// <summary>
/// <see cref="KernelLock"/>: mutual exclusion, reentrancy, and threads that park while the holder
/// sleeps in its section are woken (a lost wake-up would leave a thread parked past the timeout).
/// </summary>
public class KernelLockTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task EnterScope_ManyThreadsIncrementUnderIt_NoIncrementIsLost()
    {
        var gate = new KernelLock();
        long counter = 0;
        const int Threads = 6;
        const int Each = 200_000;

        var workers = Enumerable.Range(0, Threads).Select(_ => Task.Factory.StartNew(
            () =>
            {
                for (var i = 0; i < Each; i++)
                {
                    using (gate.EnterScope())
                    {
                        // Read, then write: two threads inside at once would lose increments.
                        var seen = counter;
                        counter = seen + 1;
                    }
                }
            },
            TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(workers).WaitAsync(Timeout);

        Assert.Equal(Threads * Each, counter);
    }

    [Fact]
    public async Task EnterScope_HolderSleepsInItsSection_WaitersParkAndAreAllWokenInTurn()
    {
        var gate = new KernelLock();
        var inside = 0;
        var maxInside = 0;
        var entered = 0;
        using var holding = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();

        var holder = Task.Factory.StartNew(
            () =>
            {
                using (gate.EnterScope())
                {
                    holding.Set();
                    release.Wait(Timeout);
                }
            },
            TaskCreationOptions.LongRunning);
        Assert.True(holding.Wait(Timeout));
        var waiters = Enumerable.Range(0, 4).Select(_ => Task.Factory.StartNew(
            () =>
            {
                for (var i = 0; i < 50; i++)
                {
                    using (gate.EnterScope())
                    {
                        var now = Interlocked.Increment(ref inside);
                        InterlockedMax(ref maxInside, now);

                        // Long enough that the others spin out and park.
                        Thread.Sleep(i % 10 == 0 ? 2 : 0);
                        Interlocked.Decrement(ref inside);
                        Interlocked.Increment(ref entered);
                    }
                }
            },
            TaskCreationOptions.LongRunning)).ToArray();

        // The waiters cannot get in while the holder sleeps: they spin, then park.
        var all = Task.WhenAll(waiters);
        Assert.NotSame(all, await Task.WhenAny(all, Task.Delay(200)));
        Assert.Equal(0, Volatile.Read(ref entered));
        release.Set();
        await Task.WhenAll(waiters.Append(holder)).WaitAsync(Timeout);

        Assert.Equal(4 * 50, entered);
        Assert.Equal(1, maxInside);
    }

    [Fact]
    public async Task EnterScope_Reentered_IsHeldUntilLeftAsOftenAsEntered()
    {
        var gate = new KernelLock();
        Task<bool> other;
        using (gate.EnterScope())
        {
            using (gate.EnterScope())
            {
                Assert.True(gate.IsHeldByCurrentThread);
            }

            Assert.True(gate.IsHeldByCurrentThread);
            other = Task.Factory.StartNew(
                () =>
                {
                    var heldBefore = gate.IsHeldByCurrentThread;
                    using (gate.EnterScope())
                    {
                        return !heldBefore && gate.IsHeldByCurrentThread;
                    }
                },
                TaskCreationOptions.LongRunning);
            Assert.False(SpinWait.SpinUntil(() => other.IsCompleted, 100), "another thread got in while the lock was still held once");
        }

        Assert.False(gate.IsHeldByCurrentThread);
        Assert.True(await other.WaitAsync(Timeout), "the other thread got in once the lock was left");
    }

    [Fact]
    public async Task EnterScope_ShortSectionsWithOccasionalPreemption_EveryThreadFinishes()
    {
        // Many more threads than cores, sections that sometimes yield the core while holding the
        // lock: parking and waking run thousands of times; a lost wake-up would hang a thread.
        var gate = new KernelLock();
        long counter = 0;
        const int Threads = 12;
        const int Each = 20_000;
        var workers = Enumerable.Range(0, Threads).Select(t => Task.Factory.StartNew(
            () =>
            {
                for (var i = 0; i < Each; i++)
                {
                    using (gate.EnterScope())
                    {
                        counter++;
                        if ((i + t) % 997 == 0)
                        {
                            Thread.Sleep(1);
                        }
                        else if ((i + t) % 61 == 0)
                        {
                            Thread.Yield();
                        }
                    }
                }
            },
            TaskCreationOptions.LongRunning)).ToArray();

        await Task.WhenAll(workers).WaitAsync(Timeout);

        Assert.Equal(Threads * Each, counter);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current && Interlocked.CompareExchange(ref target, value, current) is var seen && seen != current)
        {
            current = seen;
        }
    }
}
