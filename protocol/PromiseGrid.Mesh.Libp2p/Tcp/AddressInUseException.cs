namespace PromiseGrid.Mesh.Tcp;

/// <summary>A listen address could not be bound because another socket already uses it.</summary>
public sealed class AddressInUseException : MeshException
{
    public AddressInUseException(string address, Exception? innerException = null)
        : base($"address {address} is already in use", innerException) => Address = address;

    /// <summary>The multiaddr that could not be bound.</summary>
    public string Address { get; }
}
