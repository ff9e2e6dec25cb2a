namespace PromiseGrid.Mesh.Benchmarks.Mesh;

/// <summary>End-to-end benchmark runner; filled in once the host and the interop peer exist.</summary>
internal static class MeshBenchmarkRunner
{
    public static Task<int> RunAsync(string[] args)
    {
        Console.Error.WriteLine($"mesh runner: not yet available ({args.Length} args)");
        return Task.FromResult(2);
    }
}
