using MessagePack;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;
using PromiseGrid.Mesh.Ports.Wire;

namespace PromiseGrid.Mesh.Node.Ports;

/// <summary>The sending side: messages, grants, releases and port deaths become requests on the links.</summary>
public sealed partial class RemotePorts : IPortRouter
{
    ValueTask IPortRouter.ForwardAsync(PortMessage message, TimeSpan? timeout, CancellationToken cancellationToken) =>
        Forward(message, timeout, cancellationToken, awaited: true);

    void IPortRouter.Forward(PortMessage message) => Forward(message, Timeout.InfiniteTimeSpan, default, awaited: false);

    /// <summary>
    /// Carries a copied-in message to its destination's home; <paramref name="awaited"/>: the
    /// caller awaits the returned task (otherwise it is <c>default</c> and only the rights are
    /// settled when the outcome arrives).
    /// </summary>
    private ValueTask Forward(PortMessage message, TimeSpan? timeout, CancellationToken cancellationToken, bool awaited)
    {
        var home = message.DestPort!.Ref.Home;
        var link = GetLink(home);
        var pooled = _requests.Rent(PortsFrameType.Deliver, awaited);
        ForwardPlan plan;
        timeout ??= Options.DefaultSendTimeout;
        using (_kernel.Sync.EnterScope())
        {
            plan = _kernel.BeginForwardLocked(message, home, pooled.SparePlan);
            if (plan.MovesReceive)
            {
                return ForwardMovingLocked(link, message, plan, timeout, cancellationToken, awaited);
            }
        }

        if (!plan.NeedsGrants)
        {
            // A pooled request and plan, the frame encoded into the request's own buffer outside
            // every lock; the link only stamps the sequence number.
            pooled.SparePlan = plan;
            pooled.Message = message;
            pooled.Plan = plan;
            var result = awaited ? pooled.AsPlainValueTask() : default;
            link.Submit(pooled, EncodeDeliver(pooled, TimeoutMilliseconds(timeout)), timeout, cancellationToken);
            return result;
        }
        else
        {
            // Used once: the grants run alongside and may still look at it after it is settled.
            // The pooled request (which may have lent its plan) is not returned: the GC takes it.
            var request = new PendingRequest(PortsFrameType.Deliver) { Message = message, Plan = plan };
            var result = awaited ? request.AsPlainValueTask() : default;
            link.Submit(request, default, timeout, cancellationToken);
            _ = GrantThenReleaseAsync(link, request);
            return result;
        }
    }

    /// <summary>
    /// A message that moves receive rights (docs/ports-protocol.md, "Receive rights"): numbered
    /// on the link under the kernel lock that turned the ports into proxies, and followed at once
    /// by the messages that were queued in them, so nothing sent to the moved ports (by this
    /// node's tasks or forwarded for other nodes) can get ahead of it on the one ordered link to
    /// the new home. Its frame is written once its third-party grants, if any, are done.
    /// </summary>
    private ValueTask ForwardMovingLocked(OutboundLink link, PortMessage message, ForwardPlan plan, TimeSpan? timeout, CancellationToken cancellationToken, bool awaited)
    {
        var request = new PendingRequest(PortsFrameType.Deliver) { Message = message, Plan = plan };
        var result = awaited ? request.AsPlainValueTask() : default;
        link.Submit(request, default, timeout, cancellationToken);
        foreach (var moved in plan.MovedAway)
        {
            Log.ReceiveRightMoved(_logger, moved.Ref.Id.ToString(), link.Peer.ToString(), plan.Backlog.Count);
        }

        foreach (var queued in plan.Backlog)
        {
            // Already accepted by the port: no time limit on the way to its new home.
            Forward(queued, Timeout.InfiniteTimeSpan, default, awaited: false);
        }

        plan.Backlog.Clear();
        _ = GrantThenReleaseAsync(link, request);
        return result;
    }

    private static uint TimeoutMilliseconds(TimeSpan? timeout) =>
        timeout is { } t && t != Timeout.InfiniteTimeSpan ? (uint)Math.Clamp(t.TotalMilliseconds, 1, uint.MaxValue) : 0;

    /// <summary>Encodes the deliver frame of <paramref name="request"/> into its own buffer.</summary>
    private ArraySegment<byte> EncodeDeliver(PendingRequest request, uint timeoutMs)
    {
        var message = request.Message!;
        var buffer = request.Buffer(message.Payload.Length + 256);
        var w = new MessagePackWriter(buffer);
        PortsFrameCodec.WriteDeliverHeader(ref w, 0, timeoutMs);
        PortKernel.WriteEnvelope(ref w, message, request.Plan!, Time.GetUtcNow().ToUnixTimeMilliseconds());
        w.Flush();
        return buffer.Frame();
    }

    /// <summary>
    /// A message carries rights to a third node's ports: each home grants them to the destination
    /// first (so the destination's first use is authorised), then the message is released for writing.
    /// </summary>
    private async Task GrantThenReleaseAsync(OutboundLink link, PendingRequest request)
    {
        var plan = request.Plan!;
        foreach (var grant in plan.Grants)
        {
            var home = grant.Proxy.Ref.Home;
            var ask = new PendingRequest(PortsFrameType.Grant);
            var answer = ask.AsPlainValueTask();
            GetLink(home).Submit(ask, EncodeGrant(grant, plan.Destination, revoke: false), Options.DefaultSendTimeout ?? DefaultLookupTimeout, Stopping);
            try
            {
                await answer.ConfigureAwait(false);
                bool settled;
                using (_kernel.Sync.EnterScope())
                {
                    // Settling reads Granted under this lock: a grant that lands after the message
                    // was settled (it timed out meanwhile) is withdrawn here instead.
                    settled = request.Message!.DestPort is null;
                    grant.Granted = !settled;
                }

                if (settled)
                {
                    Revoke(grant, plan.Destination);
                }
            }
            catch (Exception e) when (e is MeshException or OperationCanceledException or ObjectDisposedException)
            {
                using (_kernel.Sync.EnterScope())
                {
                    _kernel.GrantFailedLocked(plan, grant, portDead: e is PortDeadException);
                }
            }
        }

        uint timeoutMs = 0;
        if (request.Deadline != long.MaxValue)
        {
            timeoutMs = (uint)Math.Clamp((request.Deadline - Time.GetTimestamp()) * 1000 / Time.TimestampFrequency, 1, uint.MaxValue);
        }

        ArraySegment<byte> deliver;
        using (_kernel.Sync.EnterScope())
        {
            if (request.Message!.DestPort is null)
            {
                // Settled meanwhile (timed out or cancelled before it could leave, or shutdown): nothing to send.
                return;
            }

            deliver = EncodeDeliver(request, timeoutMs);
        }

        link.SetFrame(request, deliver);
    }

    void IPortRouter.ReleaseRemote(PortRef port, int send, int sendOnce)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        var request = new PendingRequest(PortsFrameType.Release);
        var frame = new ReleaseFrame(0, port.Id, (uint)send, (uint)sendOnce);
        GetLink(port.Home).Submit(request, PortsFrameCodec.Encode(frame), null, default);
    }

    private void ReleaseRemote(PortRef port, int send, int sendOnce) => ((IPortRouter)this).ReleaseRemote(port, send, sendOnce);

    void IPortRouter.LocalPortDied(PortId port, IReadOnlyList<PeerId> holders)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        foreach (var holder in holders)
        {
            var request = new PendingRequest(PortsFrameType.PortDead);
            GetLink(holder).Submit(request, PortsFrameCodec.Encode(new PortDeadFrame(0, [port])), null, default);
        }
    }

    /// <summary>
    /// Outcomes read together are settled together: the rights of every deliver under one
    /// kernel lock, then each caller answered outside it.
    /// </summary>
    internal void SettleBatch(OutboundLink link, List<(PendingRequest Request, Outcome Outcome)> settled)
    {
        List<(ThirdPartyGrant Grant, PeerId Destination)>? revoke = null;
        var delivers = false;
        foreach (var (request, _) in settled)
        {
            delivers |= request.Kind == PortsFrameType.Deliver;
        }

        if (delivers)
        {
            using (_kernel.Sync.EnterScope())
            {
                foreach (var (request, outcome) in settled)
                {
                    if (request.Kind != PortsFrameType.Deliver)
                    {
                        continue;
                    }

                    if (outcome.Kind == OutcomeKind.Nacked && outcome.Code is PortsErrorCode.NoSuchPort or PortsErrorCode.PortDied)
                    {
                        _kernel.MarkRemotePortsDeadLocked(link.Peer, [request.Message!.DestPort!.Ref.Id]);
                    }

                    if (_kernel.CompleteForwardLocked(request.Message!, request.Plan!, outcome.Taken) is { } grants)
                    {
                        foreach (var grant in grants)
                        {
                            (revoke ??= []).Add((grant, request.Plan!.Destination));
                        }
                    }
                }
            }
        }

        long acked = 0;
        long nacked = 0;
        foreach (var (request, outcome) in settled)
        {
            switch (outcome.Kind)
            {
                case OutcomeKind.Acked:
                    acked++;
                    break;
                case OutcomeKind.Nacked:
                    nacked++;
                    break;
            }

            if (request.Kind == PortsFrameType.Lookup && outcome.Kind == OutcomeKind.Acked && request.Abandoned)
            {
                // Granted after the caller gave up: give it back.
                ReleaseRemote(new PortRef(link.Peer, outcome.Port), 1, 0);
            }

            request.TryAnswer(outcome.Port, outcome.Kind switch
            {
                OutcomeKind.Acked => null,
                OutcomeKind.Nacked => ToException(link.Peer, outcome.Code, outcome.Message ?? string.Empty),
                _ => outcome.Error,
            });
            request.ReleaseByLink();
        }

        Interlocked.Add(ref _acked, acked);
        Interlocked.Add(ref _nacked, nacked);
        foreach (var (grant, destination) in revoke ?? [])
        {
            Revoke(grant, destination);
        }
    }

    /// <summary>Withdraws a third-party grant whose message never reached <paramref name="destination"/>.</summary>
    private void Revoke(ThirdPartyGrant grant, PeerId destination) =>
        GetLink(grant.Proxy.Ref.Home).Submit(new PendingRequest(PortsFrameType.Ungrant), EncodeGrant(grant, destination, revoke: true), null, default);

    private static byte[] EncodeGrant(ThirdPartyGrant grant, PeerId destination, bool revoke) =>
        PortsFrameCodec.Encode(new GrantFrame(0, grant.Proxy.Ref.Id, destination, grant.Kind == PortRight.SendOnce ? PortDisposition.PortSendOnce : PortDisposition.PortSend, revoke));

    private static MeshException ToException(PeerId peer, PortsErrorCode code, string message) => code switch
    {
        PortsErrorCode.NoSuchPort => new PortDeadException($"{peer}: {message}"),
        PortsErrorCode.PortDied => new PortDeadException($"{peer}: the port died before the message got into its queue: {message}"),
        PortsErrorCode.NoRight => new NoRightException($"{peer} refused: {message}"),
        PortsErrorCode.TooLarge => new MessageTooLargeException($"{peer} refused the message: {message}"),
        PortsErrorCode.Timeout => new SendTimeoutException($"{peer}: {message}"),
        PortsErrorCode.Unsupported => new InvalidRightException($"{peer} refused: {message}"),
        PortsErrorCode.PortExists => new PortIdInUseException($"{peer} refused: {message}"),
        PortsErrorCode.Undeliverable => new MessageUndeliverableException($"{peer}: {message}"),
        _ => new ProtocolViolationException($"{peer} could not read the request: {message}"),
    };
}
