using NSec.Cryptography;

namespace PromiseGrid.Mesh.Identity;

/// <summary>
/// The node's own Ed25519 identity key. Persisted as the libp2p <c>PrivateKey</c> protobuf
/// (<c>08 01 12 40 seed||public</c>) in a file readable only by its owner.
/// </summary>
public sealed class IdentityKeyPair : IDisposable
{
    private readonly Key _key;

    private IdentityKeyPair(Key key)
    {
        _key = key;
        PublicKey = PeerPublicKey.FromEd25519(key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
        PeerId = PublicKey.ToPeerId();
    }

    public PeerPublicKey PublicKey { get; }

    public PeerId PeerId { get; }

    /// <summary>A fresh random key.</summary>
    public static IdentityKeyPair Generate() => new(Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    /// <summary>A key from its 32-byte seed.</summary>
    public static IdentityKeyPair FromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != 32)
        {
            throw new InvalidFormatException($"an Ed25519 seed has 32 bytes, not {seed.Length}");
        }

        return new(Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));
    }

    /// <summary>Decodes the libp2p <c>PrivateKey</c> protobuf (Ed25519 only; 64-byte and legacy 96-byte forms).</summary>
    public static IdentityKeyPair Decode(ReadOnlySpan<byte> protobuf)
    {
        var (type, data) = KeyProtobuf.Decode(protobuf);
        if (type != KeyType.Ed25519)
        {
            throw new InvalidFormatException($"only Ed25519 identity keys are supported, not {type}");
        }

        if (data.Length is not (64 or 96))
        {
            throw new InvalidFormatException($"an Ed25519 private key has 64 bytes, not {data.Length}");
        }

        if (data.Length == 96 && !data.AsSpan(32, 32).SequenceEqual(data.AsSpan(64, 32)))
        {
            throw new InvalidFormatException("legacy 96-byte Ed25519 key whose two public copies differ");
        }

        var pair = FromSeed(data.AsSpan(0, 32));
        if (!pair.PublicKey.Data.Span.SequenceEqual(data.AsSpan(32, 32)))
        {
            pair.Dispose();
            throw new InvalidFormatException("Ed25519 private key whose public half does not match its seed");
        }

        return pair;
    }

    /// <summary>The libp2p <c>PrivateKey</c> protobuf: seed followed by the public key.</summary>
    public byte[] Encode()
    {
        var data = new byte[64];
        _key.Export(KeyBlobFormat.RawPrivateKey).CopyTo(data, 0);
        PublicKey.Data.Span.CopyTo(data.AsSpan(32));
        return KeyProtobuf.Encode(KeyType.Ed25519, data);
    }

    /// <summary>Signs <paramref name="data"/> (pure Ed25519, 64-byte signature).</summary>
    public byte[] Sign(ReadOnlySpan<byte> data) => SignatureAlgorithm.Ed25519.Sign(_key, data);

    /// <summary>
    /// Loads the key at <paramref name="path"/>, or creates it (mode 0600 on Unix) when missing.
    /// </summary>
    public static IdentityKeyPair LoadOrCreate(string path)
    {
        if (File.Exists(path))
        {
            return Decode(File.ReadAllBytes(path));
        }

        var pair = Generate();
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var file = new FileStream(path, options))
        {
            file.Write(pair.Encode());
        }

        return pair;
    }

    public void Dispose() => _key.Dispose();
}
