namespace PromiseGrid.Mesh.Integration.Tests.Harness;

/// <summary>How <see cref="JsPeer"/> starts <c>tests/interop-js/peer.mjs</c>.</summary>
public sealed record JsPeerOptions
{
    /// <summary>Listen on <c>/ip4/127.0.0.1/tcp/0</c>, random key, no mDNS, keep-alive pings on, 20 s start, 30 s per command.</summary>
    public static JsPeerOptions Default { get; } = new();

    /// <summary>Listen multiaddrs (<c>--listen</c>). Default: <c>/ip4/127.0.0.1/tcp/0</c>.</summary>
    public IReadOnlyList<string> Listen { get; init; } = ["/ip4/127.0.0.1/tcp/0"];

    /// <summary>32-byte Ed25519 seed for a deterministic peer ID (<c>--seed</c>). Default: random key.</summary>
    public ReadOnlyMemory<byte>? Seed { get; init; }

    /// <summary>Enables mDNS discovery, only on <see cref="MdnsInterface"/>. Default: off.</summary>
    public bool Mdns { get; init; }

    /// <summary>The one interface mDNS may use (required with <see cref="Mdns"/>; never the host's real interfaces).</summary>
    public string? MdnsInterface { get; init; }

    /// <summary>js-libp2p's connection monitor pings every connection; false passes <c>--no-ping-keepalive</c>. Default: true.</summary>
    public bool PingKeepAlive { get; init; } = true;

    /// <summary>Run inside this network namespace (<c>ip netns exec</c>). Default: none.</summary>
    public string? NetworkNamespace { get; init; }

    /// <summary>Name in failure messages. Default: <c>js-peer</c>.</summary>
    public string Name { get; init; } = "js-peer";

    /// <summary>Time allowed until the <c>listening</c> line. Default: 20 s.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Time allowed for a command's answer unless the call gives its own. Default: 30 s.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The <c>node</c> executable. Default: <c>node</c> from PATH.</summary>
    public string NodeExecutable { get; init; } = "node";

    /// <summary>Throws on inconsistent settings.</summary>
    public void Validate()
    {
        if (Listen.Count == 0)
        {
            throw new ArgumentException("At least one listen address is needed.", nameof(Listen));
        }

        if (Seed is { Length: not 32 })
        {
            throw new ArgumentException("The Ed25519 seed must be 32 bytes.", nameof(Seed));
        }

        if (Mdns && string.IsNullOrEmpty(MdnsInterface))
        {
            throw new ArgumentException("mDNS needs MdnsInterface: it must never multicast on the host's interfaces.", nameof(MdnsInterface));
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(StartTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(CommandTimeout, TimeSpan.Zero);
    }

    internal IEnumerable<string> ToArguments()
    {
        foreach (var ma in Listen)
        {
            yield return "--listen";
            yield return ma;
        }

        if (Seed is { } seed)
        {
            yield return "--seed";
            yield return Convert.ToHexStringLower(seed.Span);
        }

        if (Mdns)
        {
            yield return "--mdns";
            yield return "--mdns-interface";
            yield return MdnsInterface!;
        }

        if (!PingKeepAlive)
        {
            yield return "--no-ping-keepalive";
        }
    }
}
