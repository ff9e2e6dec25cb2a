using System.Buffers.Binary;

namespace PromiseGrid.Mesh.Ports;

/// <summary>
/// A minimal MessagePack reader over one contiguous span, for the fast paths of the hot frames
/// (<see cref="Wire.PortsFrameCodec.TryReadDeliverInPlace"/>). Every method answers false on
/// anything it does not expect (another type, a truncated value, an out-of-range number), and
/// the caller then hands the bytes to the general <c>MessagePackReader</c> decoder, which makes
/// the decision and the error: so this reader never rejects, and accepts only what the general
/// decoder reads the same way.
/// </summary>
internal ref struct MessagePackSpanReader(ReadOnlySpan<byte> bytes)
{
    private readonly ReadOnlySpan<byte> _bytes = bytes;
    private int _position;

    public readonly bool End => _position == _bytes.Length;

    /// <summary>Bytes not read yet.</summary>
    public readonly int Remaining => _bytes.Length - _position;

    public bool TryReadArrayHeader(out int count)
    {
        count = 0;
        if (_position >= _bytes.Length)
        {
            return false;
        }

        var code = _bytes[_position];
        if (code is >= 0x90 and <= 0x9f)
        {
            count = code & 0x0f;
            _position++;
            return true;
        }

        if (code == 0xdc && _position + 3 <= _bytes.Length)
        {
            count = BinaryPrimitives.ReadUInt16BigEndian(_bytes[(_position + 1)..]);
            _position += 3;
            return true;
        }

        return false;
    }

    public bool TryReadNil()
    {
        if (_position < _bytes.Length && _bytes[_position] == 0xc0)
        {
            _position++;
            return true;
        }

        return false;
    }

    public bool TryReadUInt64(out ulong value)
    {
        value = 0;
        if (_position >= _bytes.Length)
        {
            return false;
        }

        var code = _bytes[_position];
        var rest = _bytes[(_position + 1)..];
        switch (code)
        {
            case <= 0x7f:
                value = code;
                _position++;
                return true;
            case 0xcc when rest.Length >= 1:
                value = rest[0];
                _position += 2;
                return true;
            case 0xcd when rest.Length >= 2:
                value = BinaryPrimitives.ReadUInt16BigEndian(rest);
                _position += 3;
                return true;
            case 0xce when rest.Length >= 4:
                value = BinaryPrimitives.ReadUInt32BigEndian(rest);
                _position += 5;
                return true;
            case 0xcf when rest.Length >= 8:
                value = BinaryPrimitives.ReadUInt64BigEndian(rest);
                _position += 9;
                return true;
            default:
                return false;
        }
    }

    public bool TryReadUInt32(out uint value)
    {
        var ok = TryReadUInt64AtMost(uint.MaxValue, out var wide);
        value = (uint)wide;
        return ok;
    }

    public bool TryReadByte(out byte value)
    {
        var ok = TryReadUInt64AtMost(byte.MaxValue, out var wide);
        value = (byte)wide;
        return ok;
    }

    /// <summary>Reads an unsigned integer no larger than <paramref name="max"/>; otherwise reads nothing and returns false.</summary>
    private bool TryReadUInt64AtMost(ulong max, out ulong value)
    {
        var start = _position;
        if (TryReadUInt64(out value) && value <= max)
        {
            return true;
        }

        _position = start;
        value = 0;
        return false;
    }

    public bool TryReadInt64(out long value)
    {
        value = 0;
        if (_position >= _bytes.Length)
        {
            return false;
        }

        var code = _bytes[_position];
        var rest = _bytes[(_position + 1)..];
        switch (code)
        {
            case >= 0xe0:
                value = (sbyte)code;
                _position++;
                return true;
            case 0xd0 when rest.Length >= 1:
                value = (sbyte)rest[0];
                _position += 2;
                return true;
            case 0xd1 when rest.Length >= 2:
                value = BinaryPrimitives.ReadInt16BigEndian(rest);
                _position += 3;
                return true;
            case 0xd2 when rest.Length >= 4:
                value = BinaryPrimitives.ReadInt32BigEndian(rest);
                _position += 5;
                return true;
            case 0xd3 when rest.Length >= 8:
                value = BinaryPrimitives.ReadInt64BigEndian(rest);
                _position += 9;
                return true;
        }

        var start = _position;
        if (TryReadUInt64(out var unsigned) && unsigned <= long.MaxValue)
        {
            value = (long)unsigned;
            return true;
        }

        _position = start;
        return false;
    }

    public bool TryReadInt32(out int value)
    {
        var start = _position;
        if (TryReadInt64(out var wide) && wide is >= int.MinValue and <= int.MaxValue)
        {
            value = (int)wide;
            return true;
        }

        _position = start;
        value = 0;
        return false;
    }

    /// <summary>A bin value (bin 8, 16 or 32); its bytes are a slice of the input.</summary>
    public bool TryReadBinary(out ReadOnlySpan<byte> value)
    {
        value = default;
        if (_position >= _bytes.Length)
        {
            return false;
        }

        var code = _bytes[_position];
        var rest = _bytes[(_position + 1)..];
        int header;
        long length;
        switch (code)
        {
            case 0xc4 when rest.Length >= 1:
                header = 2;
                length = rest[0];
                break;
            case 0xc5 when rest.Length >= 2:
                header = 3;
                length = BinaryPrimitives.ReadUInt16BigEndian(rest);
                break;
            case 0xc6 when rest.Length >= 4:
                header = 5;
                length = BinaryPrimitives.ReadUInt32BigEndian(rest);
                break;
            default:
                return false;
        }

        if (length > _bytes.Length - _position - header)
        {
            return false;
        }

        value = _bytes.Slice(_position + header, (int)length);
        _position += header + (int)length;
        return true;
    }
}
