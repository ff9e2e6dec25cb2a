using BenchmarkDotNet.Running;

// BenchmarkDotNet hot-path benchmarks: dotnet run -c Release --project tests/Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

internal sealed partial class Program;
