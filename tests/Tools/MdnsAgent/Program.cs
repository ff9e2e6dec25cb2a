// MdnsAgent: runs MdnsDiscovery and prints one JSON object per line on stdout:
//   {"event":"started","peerId":…,"peerName":…,"interfaces":[…]}
//   {"event":"peer:discovery","peerId":…,"addrs":[…],"source":"mdns"}
//   {"event":"peer:gone","peerId":…}
//   {"event":"stopped"}
// Usage: MdnsAgent --interface NAME [--interface NAME…] --announce MA [--announce MA…]
//        [--peer-seed HEX32] [--ttl SECONDS] [--query-interval SECONDS] [--no-ipv6] [--verbose]
// Stops on SIGTERM, SIGINT or end of stdin, sending goodbye records.
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PromiseGrid.Mesh.Discovery.Mdns;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

var interfaces = new List<string>();
var announce = new List<Multiaddr>();
byte[]? seed = null;
var options = MdnsOptions.Default;
var verbose = false;
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--interface": interfaces.Add(Next()); break;
        case "--announce": announce.Add(Multiaddr.Parse(Next())); break;
        case "--peer-seed": seed = Convert.FromHexString(Next()); break;
        case "--ttl": options = options with { RecordTtl = TimeSpan.FromSeconds(double.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture)) }; break;
        case "--query-interval": options = options with { QueryInterval = TimeSpan.FromSeconds(double.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture)) }; break;
        case "--no-ipv6": options = options with { UseIPv6 = false }; break;
        case "--verbose": verbose = true; break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}");
            return 2;
    }
}

using var loggerFactory = verbose
    ? LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Debug)
        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace))
    : NullLoggerFactory.Instance;
using var key = seed is null ? IdentityKeyPair.Generate() : IdentityKeyPair.FromSeed(seed);
options = options with { Interfaces = interfaces, LoggerFactory = loggerFactory };

var stdout = Console.Out;
var writeLock = new Lock();
void Emit(object line)
{
    lock (writeLock)
    {
        stdout.WriteLine(JsonSerializer.Serialize(line));
        stdout.Flush();
    }
}

using var stop = new CancellationTokenSource();
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });

var discovery = new MdnsDiscovery(key.PeerId, () => announce, options);
await using (discovery.ConfigureAwait(false))
{
    await discovery.StartAsync(stop.Token);
    Emit(new Dictionary<string, object>
    {
        ["event"] = "started",
        ["peerId"] = key.PeerId.ToString(),
        ["peerName"] = discovery.PeerName,
        ["interfaces"] = discovery.InterfaceNames,
    });

    var stdinEof = Task.Run(async () =>
    {
        var buffer = new byte[256];
        using var stdin = Console.OpenStandardInput();
        while (await stdin.ReadAsync(buffer, stop.Token) > 0)
        {
        }
    });

    var events = Task.Run(async () =>
    {
        await foreach (var evt in discovery.Discovered.ReadAllAsync(stop.Token))
        {
            Emit(evt.IsGone
                ? new Dictionary<string, object> { ["event"] = "peer:gone", ["peerId"] = evt.PeerId.ToString(), ["source"] = evt.Source }
                : new Dictionary<string, object>
                {
                    ["event"] = "peer:discovery",
                    ["peerId"] = evt.PeerId.ToString(),
                    ["addrs"] = evt.Multiaddrs.Select(a => a.ToString()).ToArray(),
                    ["source"] = evt.Source,
                });
        }
    });

    try
    {
        await Task.WhenAny(stdinEof, events, Task.Delay(Timeout.Infinite, stop.Token));
    }
    catch (OperationCanceledException)
    {
    }

    await stop.CancelAsync();
    try
    {
        await events; // a blocked stdin read cannot be cancelled; it ends with the process
    }
    catch (OperationCanceledException)
    {
    }
}

Emit(new Dictionary<string, object> { ["event"] = "stopped" });
return 0;
