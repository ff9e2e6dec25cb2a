using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Kernel;

/// <summary>A consistency check of the rights accounting, for tests: recounts every right from scratch.</summary>
public sealed partial class PortKernel
{
    /// <summary>
    /// Recounts every right held in name spaces, queued or blocked messages and notification
    /// registrations, and compares with each live port's counters. Returns the problems found.
    /// </summary>
    internal IReadOnlyList<string> CheckInvariants()
    {
        using (Sync.EnterScope())
        {
            var problems = new List<string>();
            var send = new Dictionary<Port, int>();
            var sendOnce = new Dictionary<Port, int>();
            var receive = new Dictionary<Port, int>();
            void Count(Dictionary<Port, int> d, Port p) => d[p] = d.GetValueOrDefault(p) + 1;

            void CountMessage(PortMessage m)
            {
                if (m.DestPort is { } dp)
                {
                    Count(m.DestRight == PortRight.Send ? send : sendOnce, dp);
                }

                foreach (var r in (m.CarriedRights ?? []).Append(m.ReplyRight))
                {
                    if (r.Port is { } rp)
                    {
                        Count(r.Kind switch { PortRight.Send => send, PortRight.SendOnce => sendOnce, _ => receive }, rp);
                    }
                }
            }

            var allPorts = new HashSet<Port>(_ports.Values.Concat(_proxies.Values));
            foreach (var plan in ForwardingLocked())
            {
                CountMessage(plan.InFlight!);
                foreach (var notify in plan.HandsOnRequests ? plan.HandedOnRequests : [])
                {
                    Count(sendOnce, notify);
                }
            }

            foreach (var p in _ports.Values)
            {
                foreach (var (_, held) in p.Holders ?? [])
                {
                    if (held.IsEmpty || held.Send < 0 || held.SendOnce < 0)
                    {
                        problems.Add($"{p}: a holder entry is empty or negative");
                    }

                    for (var i = 0; i < held.Send; i++)
                    {
                        Count(send, p);
                    }

                    for (var i = 0; i < held.SendOnce; i++)
                    {
                        Count(sendOnce, p);
                    }
                }
            }

            foreach (var task in _tasks)
            {
                foreach (var (name, e) in task.Names)
                {
                    if (e.SendRefs < 0 || e.DeadRefs < 0)
                    {
                        problems.Add($"{task} name {name}: negative references");
                    }

                    if (e.IsEmpty)
                    {
                        problems.Add($"{task} name {name}: empty entry left behind");
                    }

                    if (e.Port is not { } p)
                    {
                        continue;
                    }

                    if (p.Active)
                    {
                        allPorts.Add(p);
                    }

                    if (e.SendRefs > 0 && p.Active)
                    {
                        Count(send, p);
                    }

                    if (e.SendOnce && p.Active)
                    {
                        Count(sendOnce, p);
                    }

                    if (e.Receive)
                    {
                        Count(receive, p);
                        if (p.Receiver != task || p.ReceiverName != name)
                        {
                            problems.Add($"{task} name {name}: holds the receive right of {p} but the port says otherwise");
                        }
                    }

                    if ((e.Receive || (e.SendRefs > 0 && p.Active)) && (!task.PortNames.TryGetValue(p, out var mapped) || mapped != name))
                    {
                        problems.Add($"{task} name {name}: reverse map is wrong");
                    }
                }
            }

            foreach (var p in allPorts.ToArray())
            {
                foreach (var m in p.Messages.ToList())
                {
                    CountMessage(m);
                }

                foreach (var w in WaitingSenders(p))
                {
                    CountMessage(w);
                }

                foreach (var n in new[] { p.PortDestroyedRequest, p.NoSendersRequest }.Concat(p.DeadNameRequests?.Select(r => r.Notify) ?? []))
                {
                    if (n is not null)
                    {
                        Count(sendOnce, n);
                    }
                }
            }

            foreach (var p in allPorts)
            {
                if (!p.Active)
                {
                    continue;
                }

                if (p.SendRights < 0 || p.SendOnceRights < 0)
                {
                    problems.Add($"{p}: negative counters");
                }

                if (p.SendRights != send.GetValueOrDefault(p))
                {
                    problems.Add($"{p}: srights {p.SendRights}, counted {send.GetValueOrDefault(p)}");
                }

                if (p.SendOnceRights != sendOnce.GetValueOrDefault(p))
                {
                    problems.Add($"{p}: sorights {p.SendOnceRights}, counted {sendOnce.GetValueOrDefault(p)}");
                }

                if (p.IsLocal && receive.GetValueOrDefault(p) != 1)
                {
                    problems.Add($"{p}: {receive.GetValueOrDefault(p)} receive rights");
                }

                if (p.Messages.Count > p.QueueLimit && p.Messages.Count > 0)
                {
                    // Allowed only through send-once sends; counted, not an error.
                }
            }

            return problems;
        }
    }

    private static IEnumerable<PortMessage> WaitingSenders(Port p)
    {
        var all = p.Senders.TakeAll();
        foreach (var w in all)
        {
            p.Senders.Add(w);
        }

        return all.Select(w => w.Message!);
    }

    /// <summary>Live local ports (for tests).</summary>
    internal int LivePortCount
    {
        get
        {
            using (Sync.EnterScope())
            {
                return _ports.Count;
            }
        }
    }
}
