using PromiseGrid.Mesh.Ports.Wire;

namespace PromiseGrid.Mesh.Node.Ports;

/// <summary>
/// Reused <see cref="PendingRequest"/>s with their frame buffers, so the steady path of a link
/// allocates neither. Holds at most <see cref="Capacity"/> idle requests, and their buffers of
/// more than <see cref="SmallBuffer"/> bytes up to <see cref="MaxIdleBufferBytes"/> in all; the
/// rest are left to the GC.
/// </summary>
internal sealed class RequestPool
{
    /// <summary>Idle requests kept (about a send window's worth at the usual window).</summary>
    public const int Capacity = 4096;

    /// <summary>Buffers up to this size (a frame of a message of about 1 KB) are always kept with their request.</summary>
    public const int SmallBuffer = 1024;

    /// <summary>Most bytes kept in idle buffers larger than <see cref="SmallBuffer"/>.</summary>
    public const int MaxIdleBufferBytes = 16 << 20;

    private readonly Lock _gate = new();
    private readonly Stack<PendingRequest> _idle = new();
    private long _idleLargeBytes;
    private int _created;

    /// <summary>Requests this pool has made (each is reused from then on).</summary>
    public int Created => Volatile.Read(ref _created);

    /// <summary>Idle requests now in the pool.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _idle.Count;
            }
        }
    }

    /// <summary>A request for one use; <paramref name="awaited"/>: a caller will await its result.</summary>
    public PendingRequest Rent(PortsFrameType kind, bool awaited)
    {
        PendingRequest? request;
        lock (_gate)
        {
            if (_idle.TryPop(out request) && request.BufferCapacity > SmallBuffer)
            {
                _idleLargeBytes -= request.BufferCapacity;
            }
        }

        if (request is null)
        {
            request = new PendingRequest(this);
            Interlocked.Increment(ref _created);
        }

        request.Start(kind, awaited);
        return request;
    }

    internal void Return(PendingRequest request)
    {
        var capacity = request.BufferCapacity;
        lock (_gate)
        {
            if (_idle.Count >= Capacity)
            {
                return;
            }

            if (capacity > SmallBuffer)
            {
                if (capacity > PendingRequest.MaxKeptBuffer || _idleLargeBytes + capacity > MaxIdleBufferBytes)
                {
                    request.DropBuffer();
                }
                else
                {
                    _idleLargeBytes += capacity;
                }
            }

            _idle.Push(request);
        }
    }
}
