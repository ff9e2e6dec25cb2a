using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Kernel;

/// <summary>
/// The kernel's half of ports across nodes (docs/ports-protocol.md): which other nodes hold
/// rights to local ports (the home keeps the count, so no-senders works across the mesh),
/// the rights this node was granted to other nodes' ports (proxies), published names, and
/// turning messages into envelopes and back. Everything here runs under <see cref="Sync"/>.
/// </summary>
public sealed partial class PortKernel
{
    private readonly Dictionary<PeerId, HashSet<Port>> _holdings = [];
    private readonly Dictionary<string, Port> _published = new(StringComparer.Ordinal);
    /// <summary>Messages in the router's hands, with what was done with their rights (until <see cref="CompleteForwardLocked"/>).</summary>
    /// <summary>
    /// Messages the router has and has not settled, each through its plan: an intrusive list
    /// rather than a map, so a remote send costs no hashing of the message and no table entry.
    /// </summary>
    private ForwardPlan? _forwardingHead;

    private void TrackForwardLocked(ForwardPlan plan, PortMessage message)
    {
        if (plan.InFlight is not null)
        {
            throw new InvalidOperationException("the plan already carries a message in flight");
        }

        plan.InFlight = message;
        plan.PrevInFlight = null;
        plan.NextInFlight = _forwardingHead;
        if (_forwardingHead is not null)
        {
            _forwardingHead.PrevInFlight = plan;
        }

        _forwardingHead = plan;
    }

    /// <summary>Takes <paramref name="plan"/> off the list; false if it no longer carries <paramref name="message"/> (settled already).</summary>
    private bool UntrackForwardLocked(ForwardPlan plan, PortMessage message)
    {
        if (plan.InFlight != message)
        {
            return false;
        }

        if (plan.PrevInFlight is null)
        {
            _forwardingHead = plan.NextInFlight;
        }
        else
        {
            plan.PrevInFlight.NextInFlight = plan.NextInFlight;
        }

        if (plan.NextInFlight is not null)
        {
            plan.NextInFlight.PrevInFlight = plan.PrevInFlight;
        }

        plan.InFlight = null;
        plan.PrevInFlight = plan.NextInFlight = null;
        return true;
    }

    /// <summary>The plans of the messages the router has not settled (for the rare paths that look at them all).</summary>
    private IEnumerable<ForwardPlan> ForwardingLocked()
    {
        for (var plan = _forwardingHead; plan is not null; plan = plan.NextInFlight)
        {
            yield return plan;
        }
    }

    // ---- publishing and lookup ----

    /// <summary>Publishes the port <paramref name="name"/> receives on as <paramref name="service"/>.</summary>
    internal void PublishLocked(PortTask task, PortName name, string service)
    {
        var e = LookupLocked(task, name);
        if (!e.Receive)
        {
            throw new InvalidRightException($"name {name} is not a receive right");
        }

        var p = e.Port!;
        if (_published.TryGetValue(service, out var existing) && existing != p)
        {
            throw new InvalidOperationException($"'{service}' is already published by another port");
        }

        if (p.PublishedName is { } old && old != service)
        {
            _published.Remove(old);
        }

        p.PublishedName = service;
        _published[service] = p;
    }

    internal bool UnpublishLocked(string service)
    {
        if (!_published.Remove(service, out var p))
        {
            return false;
        }

        p.PublishedName = null;
        return true;
    }

    /// <summary>A peer asks for a send right to a published port: granted and counted as that peer's.</summary>
    /// <exception cref="PortDeadException">No such port, or nothing published under the name.</exception>
    /// <exception cref="NoRightException">The port exists but is not published.</exception>
    internal PortId LookupFromNetworkLocked(PeerId from, PortId? id, string? service)
    {
        var p = FindPublishedPortLocked(id, service);
        p.MakeSendCount++;
        GrantLocked(p, from, PortRight.Send);
        return p.Ref.Id;
    }

    /// <summary>The published port with <paramref name="id"/>, or published as <paramref name="service"/>.</summary>
    /// <exception cref="PortDeadException">No such port, or nothing published under the name.</exception>
    /// <exception cref="NoRightException">The port exists but is not published.</exception>
    internal PortRef FindPublishedLocked(PortId? id, string? service) => FindPublishedPortLocked(id, service).Ref;

    private Port FindPublishedPortLocked(PortId? id, string? service)
    {
        Port? p;
        if (service is not null)
        {
            if (!_published.TryGetValue(service, out p))
            {
                throw new PortDeadException($"nothing is published as '{service}'");
            }
        }
        else if (id is not { } portId || !_ports.TryGetValue(portId, out p) || !p.Active)
        {
            throw new PortDeadException($"no port {id}");
        }
        else if (p.PublishedName is null)
        {
            throw new NoRightException($"port {p.Ref} is not published");
        }

        return p;
    }

    /// <summary>A send right to <paramref name="reference"/> granted by its home (after a lookup) into <paramref name="task"/>'s space.</summary>
    internal PortName InsertGrantedSendRightLocked(PortTask task, PortRef reference)
    {
        ThrowIfDead(task);
        if (reference.Home == LocalPeer)
        {
            if (!_ports.TryGetValue(reference.Id, out var local) || !local.Active)
            {
                throw new PortDeadException($"no local port {reference}");
            }

            local.MakeSendCount++;
            local.SendRights++;
            return new PortName(CopyOutLocked(task, new CarriedRight(local, PortRight.Send)));
        }

        var proxy = GetOrCreateProxyLocked(reference);
        proxy.GrantedSend++;
        proxy.SendRights++;
        return new PortName(CopyOutLocked(task, new CarriedRight(proxy, PortRight.Send)));
    }

    // ---- holders of local ports ----

    /// <summary>A new right of <paramref name="kind"/> to <paramref name="p"/> held by <paramref name="holder"/> (one more unit of the port's count).</summary>
    private void GrantLocked(Port p, PeerId holder, PortRight kind)
    {
        AddHolderLocked(p, holder, kind);
        if (kind == PortRight.Send)
        {
            p.SendRights++;
        }
        else
        {
            p.SendOnceRights++;
        }
    }

    /// <summary>Counts <paramref name="units"/> rights as <paramref name="holder"/>'s whose units the port already counts (they move from elsewhere).</summary>
    private void AddHolderLocked(Port p, PeerId holder, PortRight kind, int units = 1)
    {
        p.Holders ??= [];
        if (!p.Holders.TryGetValue(holder, out var count))
        {
            p.Holders.Add(holder, count = new HolderCount());
            if (!_holdings.TryGetValue(holder, out var ports))
            {
                _holdings.Add(holder, ports = []);
            }

            ports.Add(p);
        }

        if (kind == PortRight.Send)
        {
            count.Send += units;
        }
        else
        {
            count.SendOnce += units;
        }
    }

    private HolderCount? HolderOf(Port p, PeerId peer) =>
        p.Holders is { } holders && holders.TryGetValue(peer, out var count) ? count : null;

    private void ForgetHolderIfEmptyLocked(Port p, PeerId peer)
    {
        if (p.Holders is { } holders && holders.TryGetValue(peer, out var count) && count.IsEmpty)
        {
            holders.Remove(peer);
            ForgetGrantRecordsLocked(p.Ref.Id, peer);
            if (_holdings.TryGetValue(peer, out var ports))
            {
                ports.Remove(p);
                if (ports.Count == 0)
                {
                    _holdings.Remove(peer);
                }
            }
        }
    }

    /// <summary>Takes one right of <paramref name="kind"/> away from <paramref name="peer"/> without releasing the unit (it moves elsewhere).</summary>
    private bool TakeFromHolderLocked(Port p, PeerId peer, PortRight kind)
    {
        var count = HolderOf(p, peer);
        if (count is null || (kind == PortRight.Send ? count.Send : count.SendOnce) == 0)
        {
            return false;
        }

        if (kind == PortRight.Send)
        {
            count.Send--;
        }
        else
        {
            count.SendOnce--;
        }

        ForgetHolderIfEmptyLocked(p, peer);
        return true;
    }

    /// <summary>A peer gives back rights it was granted (no-senders and send-once notifications follow as locally).</summary>
    internal void ReleaseFromNetworkLocked(PeerId from, PortId id, uint send, uint sendOnce)
    {
        if (!_ports.TryGetValue(id, out var p) || HolderOf(p, from) is not { } count)
        {
            return;
        }

        var n = (int)Math.Min(send, (uint)count.Send);
        var m = (int)Math.Min(sendOnce, (uint)count.SendOnce);
        count.Send -= n;
        count.SendOnce -= m;
        ForgetHolderIfEmptyLocked(p, from);
        for (var i = 0; i < n; i++)
        {
            ReleaseSendLocked(p);
        }

        for (var i = 0; i < m; i++)
        {
            if (TakePendingSendOnceReturnLocked(p, from))
            {
                // Counted twice since the receive right came back: the right itself lives on here.
                p.SendOnceRights--;
                if (!p.IsLocal)
                {
                    MaybeForgetProxyLocked(p);
                }

                continue;
            }

            ReleaseSendOnceLocked(p);
        }
    }

    /// <summary>
    /// A holder hands one of its rights to a local port to a third node (<paramref name="revoke"/>
    /// false), or takes back such a grant whose message was refused (true).
    /// </summary>
    /// <exception cref="PortDeadException">No such port.</exception>
    /// <exception cref="NoRightException">The granting peer holds no such right (or made no such grant).</exception>
    internal void GrantFromNetworkLocked(PeerId from, PortId id, PeerId holder, PortRight kind, bool revoke)
    {
        if (!_ports.TryGetValue(id, out var p) || !p.Active)
        {
            if (revoke)
            {
                return;
            }

            throw new PortDeadException($"no port {id}");
        }

        if (revoke)
        {
            if (!TakeGrantRecordLocked(p, from, holder, kind) || !TakeFromHolderLocked(p, holder, kind))
            {
                throw new NoRightException($"{from} made no outstanding {kind} grant of {p.Ref} to {holder}");
            }

            // The right was destroyed unused, the Mach way.
            ReleaseLocked(new CarriedRight(p, kind));
            return;
        }

        if (kind == PortRight.Send)
        {
            if (HolderOf(p, from) is not { Send: > 0 })
            {
                throw new NoRightException($"{from} holds no send right to {p.Ref}");
            }

            GrantLocked(p, holder, PortRight.Send);
        }
        else
        {
            if (!TakeFromHolderLocked(p, from, PortRight.SendOnce))
            {
                throw new NoRightException($"{from} holds no send-once right to {p.Ref}");
            }

            // The unit moves from one holder to the other: counters stay.
            AddHolderLocked(p, holder, PortRight.SendOnce);
        }

        RecordGrantLocked(p, from, holder, kind);
    }

    private readonly Dictionary<(PortId Port, PeerId Granter, PeerId Holder, PortRight Kind), int> _grantRecords = [];

    private void RecordGrantLocked(Port p, PeerId granter, PeerId holder, PortRight kind)
    {
        var key = (p.Ref.Id, granter, holder, kind);
        _grantRecords[key] = _grantRecords.GetValueOrDefault(key) + 1;
    }

    private bool TakeGrantRecordLocked(Port p, PeerId granter, PeerId holder, PortRight kind)
    {
        var key = (p.Ref.Id, granter, holder, kind);
        if (!_grantRecords.TryGetValue(key, out var n))
        {
            return false;
        }

        if (n == 1)
        {
            _grantRecords.Remove(key);
        }
        else
        {
            _grantRecords[key] = n - 1;
        }

        return true;
    }

    /// <summary>
    /// Forgets the third-party grants made to <paramref name="holder"/> once it holds no right to
    /// the port any more (used, released, or gone): there is nothing left to revoke.
    /// </summary>
    private void ForgetGrantRecordsLocked(PortId port, PeerId holder)
    {
        if (_grantRecords.Count == 0)
        {
            return;
        }

        foreach (var key in _grantRecords.Keys.Where(k => k.Port == port && k.Holder == holder).ToList())
        {
            _grantRecords.Remove(key);
        }
    }

    /// <summary>Every right <paramref name="peer"/> holds to local ports counts as released (its lease ran out, or it restarted).</summary>
    internal int ReleaseHoldingsLocked(PeerId peer)
    {
        if (!_holdings.Remove(peer, out var ports))
        {
            return 0;
        }

        foreach (var p in ports)
        {
            if (p.Holders is not { } holders || !holders.Remove(peer, out var count))
            {
                continue;
            }

            ForgetGrantRecordsLocked(p.Ref.Id, peer);
            for (var i = 0; i < count.Send; i++)
            {
                ReleaseSendLocked(p);
            }

            for (var i = 0; i < count.SendOnce; i++)
            {
                ReleaseSendOnceLocked(p);
            }
        }

        return ports.Count;
    }

    /// <summary>Peers that hold rights to local ports.</summary>
    internal IReadOnlyList<PeerId> HolderPeersLocked() => [.. _holdings.Keys];

    // ---- proxies ----

    private Port GetOrCreateProxyLocked(PortRef reference)
    {
        if (!_proxies.TryGetValue(reference, out var proxy))
        {
            proxy = new Port(reference, isLocal: false, 0);
            _proxies.Add(reference, proxy);
        }

        return proxy;
    }

    private void MaybeForgetProxyLocked(Port p)
    {
        if (p.SendRights != 0 || p.SendOnceRights != 0)
        {
            return;
        }

        ForgetMovedAwayLocked(p);
        if (p.DeadNameRequests is not { Count: > 0 } && _proxies.TryGetValue(p.Ref, out var mapped) && mapped == p)
        {
            _proxies.Remove(p.Ref);
        }
    }

    /// <summary>The last local send right to a proxy is gone: give the granted rights back to the home.</summary>
    private void ProxySendsGoneLocked(Port p)
    {
        if (p.Active && p.GrantedSend > 0)
        {
            Router?.ReleaseRemote(p.Ref, p.GrantedSend, 0);
        }

        p.GrantedSend = 0;
        MaybeForgetProxyLocked(p);
    }

    /// <summary>A send-once right to a proxy was destroyed unused: the home generates the send-once notification.</summary>
    private void ReleaseProxySendOnceLocked(Port p)
    {
        p.SendOnceRights--;
        if (p.Active && p.GrantedSendOnce > 0)
        {
            p.GrantedSendOnce--;
            Router?.ReleaseRemote(p.Ref, 0, 1);
        }

        MaybeForgetProxyLocked(p);
    }

    /// <summary>A send-once right to a proxy was used or handed on: gone here, nothing to tell the home.</summary>
    private void DropProxySendOnceLocked(Port p)
    {
        p.SendOnceRights--;
        if (p.GrantedSendOnce > 0)
        {
            p.GrantedSendOnce--;
        }

        MaybeForgetProxyLocked(p);
    }

    /// <summary>The home of these ports says they died: rights to them become dead names and dead-name requests fire.</summary>
    internal void MarkRemotePortsDeadLocked(PeerId home, IEnumerable<PortId> ids)
    {
        foreach (var id in ids)
        {
            if (_proxies.TryGetValue(new PortRef(home, id), out var proxy))
            {
                DestroyPortLocked(proxy);
            }

            // A port that moved from here to that home has its own proxy when this node already
            // held a right to the id there (the port had come from there without a forwarder here).
            if (_ports.TryGetValue(id, out var forwarder) && forwarder.MovedAway && forwarder.Ref.Home == home)
            {
                DestroyPortLocked(forwarder);
            }
        }
    }

    /// <summary>The node <paramref name="home"/> restarted: every port it had is dead.</summary>
    internal void MarkHomeDeadLocked(PeerId home)
    {
        foreach (var proxy in _proxies.Values.Concat(_ports.Values.Where(p => p.MovedAway)).Where(p => p.Ref.Home == home).Distinct().ToList())
        {
            DestroyPortLocked(proxy);
        }
    }

    /// <summary>A local port died: every other node that holds rights to it must hear of it.</summary>
    private void LocalPortDiedLocked(Port p)
    {
        if (p.PublishedName is { } service)
        {
            _published.Remove(service);
            p.PublishedName = null;
        }

        if (p.Holders is not { Count: > 0 } holders)
        {
            return;
        }

        var peers = holders.Keys.ToList();
        foreach (var peer in peers)
        {
            ForgetGrantRecordsLocked(p.Ref.Id, peer);
            if (_holdings.TryGetValue(peer, out var ports))
            {
                ports.Remove(p);
                if (ports.Count == 0)
                {
                    _holdings.Remove(peer);
                }
            }
        }

        holders.Clear();
        Router?.LocalPortDied(p.Ref.Id, peers);
    }
}
