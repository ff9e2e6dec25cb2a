using System.Buffers;
using System.Text;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Identity;

/// <summary>A minimal protobuf writer for the handful of small libp2p messages (keys, Noise payload, identify).</summary>
internal sealed class ProtobufWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new(128);

    public int Length => _buffer.WrittenCount;

    public void WriteTag(int field, int wireType) => Varint.Write(_buffer, ((ulong)field << 3) | (uint)wireType);

    public void WriteVarintField(int field, ulong value)
    {
        WriteTag(field, ProtobufReader.WireVarint);
        Varint.Write(_buffer, value);
    }

    public void WriteBytesField(int field, ReadOnlySpan<byte> value)
    {
        WriteTag(field, ProtobufReader.WireLengthDelimited);
        Varint.Write(_buffer, (ulong)value.Length);
        _buffer.Write(value);
    }

    public void WriteStringField(int field, string value) => WriteBytesField(field, Encoding.UTF8.GetBytes(value));

    public ReadOnlySpan<byte> WrittenSpan => _buffer.WrittenSpan;

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();
}
