using System.Buffers;
using System.Collections.Concurrent;

namespace PromiseGrid.Mesh.Yamux;

/// <summary>
/// Process-wide pool of fixed-size pinned blocks for the streams' pipes. The shared array pool keeps
/// only a few dozen arrays per size and core, far fewer than the windows of busy streams hold, so bulk
/// transfers through it allocate (and collect) continuously; this pool keeps up to
/// <see cref="MaxRetainedBlocks"/> blocks and recycles the block objects themselves, so the data
/// path allocates nothing once warm.
/// </summary>
internal sealed class YamuxBufferPool : MemoryPool<byte>
{
    /// <summary>Size of every block.</summary>
    public const int BlockSize = 16 * 1024;

    /// <summary>Blocks kept for reuse (32 MiB); more are left to the GC.</summary>
    public const int MaxRetainedBlocks = 2048;

    private readonly ConcurrentQueue<Block> _blocks = new();
    private int _retained;

    public static YamuxBufferPool Instance { get; } = new();

    public override int MaxBufferSize => BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        if (_blocks.TryDequeue(out var block))
        {
            Interlocked.Decrement(ref _retained);
            return block;
        }

        return new Block(this);
    }

    protected override void Dispose(bool disposing)
    {
        // The shared pool lives as long as the process.
    }

    private void Return(Block block)
    {
        if (Interlocked.Increment(ref _retained) <= MaxRetainedBlocks)
        {
            _blocks.Enqueue(block);
        }
        else
        {
            Interlocked.Decrement(ref _retained);
        }
    }

    private sealed class Block(YamuxBufferPool pool) : IMemoryOwner<byte>
    {
        private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);

        public Memory<byte> Memory => _array;

        public void Dispose() => pool.Return(this);
    }
}
