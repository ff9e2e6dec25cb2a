using System.Text;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Identity;

/// <summary>
/// A minimal protobuf reader over a span. Unknown fields are skipped by wire type; anything
/// malformed throws <see cref="InvalidFormatException"/>.
/// </summary>
internal ref struct ProtobufReader
{
    public const int WireVarint = 0;
    public const int WireFixed64 = 1;
    public const int WireLengthDelimited = 2;
    public const int WireFixed32 = 5;

    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    public ProtobufReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
    }

    public readonly bool End => _position >= _data.Length;

    public bool TryReadTag(out int field, out int wireType)
    {
        if (End)
        {
            field = 0;
            wireType = 0;
            return false;
        }

        var tag = ReadVarint();
        field = (int)(tag >> 3);
        wireType = (int)(tag & 7);
        if (field == 0 || tag >> 3 > int.MaxValue)
        {
            throw new InvalidFormatException("protobuf field number out of range");
        }

        return true;
    }

    /// <summary>Protobuf varints may be 10 bytes long (unlike multiformats varints).</summary>
    public ulong ReadVarint()
    {
        ulong value = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (_position >= _data.Length)
            {
                throw new InvalidFormatException("truncated protobuf varint");
            }

            var b = _data[_position++];
            value |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new InvalidFormatException("protobuf varint too long");
    }

    public ReadOnlySpan<byte> ReadBytes()
    {
        var length = ReadVarint();
        if (length > (ulong)(_data.Length - _position))
        {
            throw new InvalidFormatException("protobuf length-delimited field runs past the end of the message");
        }

        var slice = _data.Slice(_position, (int)length);
        _position += (int)length;
        return slice;
    }

    public string ReadString()
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(ReadBytes());
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidFormatException("protobuf string is not valid UTF-8", e);
        }
    }

    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case WireVarint:
                ReadVarint();
                break;
            case WireFixed64:
                Advance(8);
                break;
            case WireLengthDelimited:
                ReadBytes();
                break;
            case WireFixed32:
                Advance(4);
                break;
            default:
                throw new InvalidFormatException($"unsupported protobuf wire type {wireType}");
        }
    }

    private void Advance(int count)
    {
        if (_data.Length - _position < count)
        {
            throw new InvalidFormatException("truncated protobuf field");
        }

        _position += count;
    }
}
