using System.Runtime.CompilerServices;
using PromiseGrid.Mesh.Ports.Wire;

namespace PromiseGrid.Mesh.Node.Ports;

/// <summary>
/// A deliver waiting in the kernel's queue of blocked senders for room in a full port
/// (docs/ports-protocol.md, "Backpressure"): when the kernel takes it in (or gives up) its
/// outcome is recorded on the link and reported on the link's current stream. Reused through a
/// <see cref="ParkedDeliverPool"/>, with one continuation delegate for all its uses, so a deliver
/// that has to wait costs no task or closure.
/// </summary>
internal sealed class ParkedDeliver
{
    private readonly ParkedDeliverPool _pool;
    private readonly Action _completed;
    private ConfiguredValueTaskAwaitable.ConfiguredValueTaskAwaiter _awaiter;
    private InboundLink? _link;
    private ServerOutcome? _outcome;
    private ulong _seq;

    public ParkedDeliver(ParkedDeliverPool pool)
    {
        _pool = pool;
        _completed = OnCompleted;
    }

    /// <summary>Waits for <paramref name="queued"/>, the kernel's answer to the deliver <paramref name="seq"/> of <paramref name="link"/>.</summary>
    public void Start(InboundLink link, ulong seq, ServerOutcome outcome, ValueTask queued)
    {
        _link = link;
        _seq = seq;
        _outcome = outcome;
        _awaiter = queued.ConfigureAwait(false).GetAwaiter();
        if (_awaiter.IsCompleted)
        {
            OnCompleted();
        }
        else
        {
            _awaiter.UnsafeOnCompleted(_completed);
        }
    }

    private void OnCompleted()
    {
        var link = _link!;
        var outcome = _outcome!;
        var seq = _seq;
        PortsErrorCode? code = null;
        string? message = null;
        try
        {
            _awaiter.GetResult();
        }
        catch (Exception e)
        {
            // Timed out in the full queue, or the port died (or anything else went wrong) before
            // it got in; for a port whose receive right moved away, the new home did not take it.
            code = e switch
            {
                SendTimeoutException => PortsErrorCode.Timeout,
                NodeUnreachableException or NoRightException or MessageTooLargeException or InvalidRightException
                    or PortIdInUseException or ProtocolViolationException or MessageUndeliverableException => PortsErrorCode.Undeliverable,
                _ => PortsErrorCode.PortDied,
            };
            message = e.Message;
        }

        _awaiter = default;
        _link = null;
        _outcome = null;
        _pool.Return(this);

        lock (link.Gate)
        {
            if (code is { } c)
            {
                outcome.State = ServerOutcomeState.Nacked;
                outcome.Code = c;
                outcome.Message = message;
            }
            else
            {
                outcome.State = ServerOutcomeState.Acked;
            }

            // Completed before the request was recorded (a forward that failed at once): the
            // session posts the outcome when it records it, so it goes out once.
            if (link.Seen.TryGetValue(seq, out var recorded) && recorded == outcome)
            {
                link.Current?.Post(seq, outcome);
            }
        }
    }
}

/// <summary>Idle <see cref="ParkedDeliver"/>s, at most <see cref="Capacity"/>.</summary>
internal sealed class ParkedDeliverPool
{
    /// <summary>Idle entries kept.</summary>
    public const int Capacity = 4096;

    private readonly Lock _gate = new();
    private readonly Stack<ParkedDeliver> _idle = new();

    public ParkedDeliver Rent()
    {
        lock (_gate)
        {
            if (_idle.TryPop(out var parked))
            {
                return parked;
            }
        }

        return new ParkedDeliver(this);
    }

    public void Return(ParkedDeliver parked)
    {
        lock (_gate)
        {
            if (_idle.Count < Capacity)
            {
                _idle.Push(parked);
            }
        }
    }
}
