namespace PromiseGrid.Mesh.Kernel;

/// <summary>An intrusive FIFO of blocked senders or receivers; O(1) removal on timeout or cancellation. Guarded by the kernel lock.</summary>
internal sealed class WaiterList
{
    private KernelWaiter? _head;
    private KernelWaiter? _tail;

    public int Count { get; private set; }

    /// <summary>The waiters whose callers are already awaiting them (diagnostics and tests).</summary>
    public int CountAwaited()
    {
        var n = 0;
        for (var w = _head; w is not null; w = w.Next)
        {
            n += w.IsAwaited ? 1 : 0;
        }

        return n;
    }

    public void Add(KernelWaiter waiter)
    {
        waiter.List = this;
        waiter.Prev = _tail;
        waiter.Next = null;
        if (_tail is null)
        {
            _head = waiter;
        }
        else
        {
            _tail.Next = waiter;
        }

        _tail = waiter;
        Count++;
    }

    public void Remove(KernelWaiter waiter)
    {
        if (waiter.Prev is null)
        {
            _head = waiter.Next;
        }
        else
        {
            waiter.Prev.Next = waiter.Next;
        }

        if (waiter.Next is null)
        {
            _tail = waiter.Prev;
        }
        else
        {
            waiter.Next.Prev = waiter.Prev;
        }

        waiter.Prev = waiter.Next = null;
        waiter.List = null;
        Count--;
    }

    public KernelWaiter? TakeFirst()
    {
        var first = _head;
        if (first is not null)
        {
            Remove(first);
        }

        return first;
    }

    /// <summary>Empties the list into a new array (for failing everyone at once).</summary>
    public KernelWaiter[] TakeAll()
    {
        var all = new KernelWaiter[Count];
        for (var i = 0; i < all.Length; i++)
        {
            all[i] = TakeFirst()!;
        }

        return all;
    }
}
