using BenchmarkDotNet.Running;

// Hot-path micro-benchmarks (BenchmarkDotNet):
//   dotnet run -c Release --project tests/Benchmarks -- --filter '*'
// End-to-end libp2p runner (real processes over loopback, beside js-libp2p and raw TCP):
//   dotnet run -c Release --project tests/Benchmarks -- mesh [--sizes 104857600,1073741824] [--repeat 3] [--baseline <earlier pgnode bin dir>]
if (args.Length > 0 && args[0] == "mesh")
{
    return await PromiseGrid.Mesh.Benchmarks.Mesh.MeshBenchmarkRunner.RunAsync(args[1..]);
}

// Ports across the mesh between two pgnode processes: dotnet run -c Release --project tests/Benchmarks -- ports
if (args.Length > 0 && args[0] == "ports")
{
    return await PromiseGrid.Mesh.Benchmarks.Mesh.PortsBenchmarkRunner.RunAsync(args[1..]);
}

// The kernel beside Channel<T>, cases alternating round by round: dotnet run -c Release --project tests/Benchmarks -- kernel-ab [--rounds N] [--only TEXT]
// One message's work on one thread, kernel beside Channel<T>: dotnet run -c Release --project tests/Benchmarks -- kernel-serial
if (args.Length > 0 && args[0] == "kernel-serial")
{
    return await PromiseGrid.Mesh.Benchmarks.KernelSerialRunner.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "kernel-ab")
{
    return await PromiseGrid.Mesh.Benchmarks.KernelAlternatingRunner.RunAsync(args[1..]);
}

// Where a warm dial's time goes, phase by phase: dotnet run -c Release --project tests/Benchmarks -- dial [multiaddr]
if (args.Length > 0 && args[0] == "dial")
{
    return await PromiseGrid.Mesh.Benchmarks.Mesh.DialBreakdown.RunAsync(args[1..]);
}

// mDNS mesh formation in a network namespace (root): dotnet run -c Release --project tests/Benchmarks -- discovery
if (args.Length > 0 && args[0] == "discovery")
{
    return await PromiseGrid.Mesh.Benchmarks.Discovery.DiscoveryBenchmarkRunner.RunAsync(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

internal sealed partial class Program;
