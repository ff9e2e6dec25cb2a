namespace PromiseGrid.Mesh.Noise;

/// <summary>
/// A Noise transport message failed authentication (tampered, truncated or replayed ciphertext).
/// The connection it arrived on is closed; nothing else is affected.
/// </summary>
public sealed class NoiseDecryptionException : MeshException
{
    public NoiseDecryptionException(string message) : base(message) { }

    public NoiseDecryptionException(string message, Exception? innerException) : base(message, innerException) { }
}
