using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Ports;
using PromiseGrid.Mesh.Ports.Wire;

namespace PromiseGrid.Mesh.Node.Ports;

/// <summary>
/// What this node (as server) knows of one client node's requests across its streams: every
/// sequence number seen above the client's confirmed mark with its outcome, so a request
/// resent after a reconnect is never applied twice (docs/ports-protocol.md, "Exactly once").
/// A new epoch of the client starts a new link.
/// </summary>
internal sealed class InboundLink(PeerId peer, ulong epoch)
{
    public PeerId Peer { get; } = peer;

    public ulong Epoch { get; } = epoch;

    public Lock Gate { get; } = new();

    /// <summary>
    /// The protocol version agreed with the client on its latest hello (the lower of its and
    /// ours): error codes it does not know are sent as their version-1 equivalents.
    /// </summary>
    public uint Version { get; set; } = 1;

    /// <summary>The client has every outcome up to here.</summary>
    public ulong Confirmed { get; set; }

    public Dictionary<ulong, ServerOutcome> Seen { get; } = [];

    /// <summary>The stream outcomes go to; null between streams.</summary>
    public InboundSession? Current { get; set; }

    /// <summary>Forgets outcomes the client has confirmed (under <see cref="Gate"/>).</summary>
    public void Confirm(ulong through)
    {
        if (through <= Confirmed)
        {
            return;
        }

        if (through - Confirmed <= (ulong)Seen.Count)
        {
            // The usual case: a stretch of recent numbers, cheaper to remove one by one than to scan the whole window.
            // Counted up to 'through', never past it: a client may send any number, ulong.MaxValue too.
            for (var seq = Confirmed; seq < through;)
            {
                Seen.Remove(++seq);
            }
        }
        else
        {
            foreach (var seq in Seen.Keys.Where(s => s <= through).ToList())
            {
                Seen.Remove(seq);
            }
        }

        Confirmed = through;
    }

    /// <summary>The welcome for a new stream: what is known above the confirmed mark (under <see cref="Gate"/>).</summary>
    public WelcomeFrame BuildWelcome(ulong serverEpoch)
    {
        var acked = new List<ulong>();
        var pending = new List<ulong>();
        var nacks = new List<NackFrame>();
        var results = new List<ResultFrame>();
        foreach (var (seq, outcome) in Seen)
        {
            switch (outcome.State)
            {
                case ServerOutcomeState.Pending:
                    pending.Add(seq);
                    break;
                case ServerOutcomeState.Acked:
                    acked.Add(seq);
                    break;
                case ServerOutcomeState.Nacked:
                    nacks.Add(new NackFrame(seq, PortsErrorCodes.ForVersion(outcome.Code, Version), outcome.Message ?? string.Empty));
                    break;
                case ServerOutcomeState.Result:
                    results.Add(new ResultFrame(seq, outcome.Port));
                    break;
            }
        }

        return new WelcomeFrame(Version, serverEpoch, ToRanges(acked), pending, nacks, results);
    }

    /// <summary>Sorted, merged ranges of <paramref name="seqs"/>.</summary>
    public static List<SeqRange> ToRanges(List<ulong> seqs)
    {
        seqs.Sort();
        var ranges = new List<SeqRange>();
        var i = 0;
        while (i < seqs.Count)
        {
            var start = seqs[i];
            var count = 1UL;
            i++;
            while (i < seqs.Count && seqs[i] <= start + count)
            {
                if (seqs[i] == start + count)
                {
                    count++;
                }

                i++;
            }

            ranges.Add(new SeqRange(start, count));
        }

        return ranges;
    }
}

internal enum ServerOutcomeState
{
    Pending,
    Acked,
    Nacked,
    Result,
}

/// <summary>The outcome of one request as the server recorded it.</summary>
internal sealed class ServerOutcome
{
    /// <summary>The outcome of every request done at once (shared: it never changes).</summary>
    public static readonly ServerOutcome Acked = new() { State = ServerOutcomeState.Acked };

    public ServerOutcomeState State { get; set; }

    public PortsErrorCode Code { get; set; }

    public string? Message { get; set; }

    public PortId Port { get; set; }
}
