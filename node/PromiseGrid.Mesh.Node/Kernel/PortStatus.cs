namespace PromiseGrid.Mesh.Kernel;

/// <summary>
/// Status of a receive right (Mach <c>mach_port_status_t</c>, the <c>mps_*</c> fields).
/// </summary>
/// <param name="PortSet">mps_pset: the set the port is in, or null.</param>
/// <param name="Sequence">mps_seqno: the sequence number the next received message gets.</param>
/// <param name="MakeSendCount">mps_mscount: send rights made from the receive right so far.</param>
/// <param name="QueueLimit">mps_qlimit.</param>
/// <param name="MessageCount">mps_msgcount: queued messages.</param>
/// <param name="SendOnceRights">mps_sorights: extant send-once rights.</param>
/// <param name="HasSendRights">mps_srights: whether send rights exist.</param>
/// <param name="HasPortDestroyedRequest">mps_pdrequest.</param>
/// <param name="HasNoSendersRequest">mps_nsrequest.</param>
/// <param name="SendRights">Number of extant send rights (one per holding name or message).</param>
public readonly record struct PortStatus(
    PortName PortSet,
    ulong Sequence,
    uint MakeSendCount,
    int QueueLimit,
    int MessageCount,
    int SendOnceRights,
    bool HasSendRights,
    bool HasPortDestroyedRequest,
    bool HasNoSendersRequest,
    int SendRights);
