using System.Buffers;
using PromiseGrid.Mesh.Ports.Wire;

namespace PromiseGrid.Mesh.Node.Ports;

/// <summary>
/// A growable buffer a frame is encoded into in place: the body is written after
/// <see cref="PortsFrameCodec.MaxPrefixLength"/> reserved bytes, and <see cref="Frame"/> puts
/// the length prefix right before it.
/// </summary>
internal sealed class FrameBuffer : IBufferWriter<byte>
{
    private byte[] _array;
    private int _written = PortsFrameCodec.MaxPrefixLength;

    public FrameBuffer(int sizeHint) => _array = new byte[Math.Max(sizeHint, 256)];

    public int Capacity => _array.Length;

    public void Reset() => _written = PortsFrameCodec.MaxPrefixLength;

    /// <summary>The frame: the body written so far with its length prefix before it.</summary>
    public ArraySegment<byte> Frame()
    {
        var start = PortsFrameCodec.PrefixInPlace(_array, _written - PortsFrameCodec.MaxPrefixLength);
        return new ArraySegment<byte>(_array, start, _written - start);
    }

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsSpan(_written);
    }

    private void Ensure(int sizeHint)
    {
        var needed = _written + Math.Max(sizeHint, 1);
        if (needed > _array.Length)
        {
            Array.Resize(ref _array, Math.Max(needed, _array.Length * 2));
        }
    }
}
