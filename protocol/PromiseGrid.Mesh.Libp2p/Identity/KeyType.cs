namespace PromiseGrid.Mesh.Identity;

/// <summary>libp2p key types (peer-ids spec, <c>KeyType</c> enum of the <c>PublicKey</c> protobuf).</summary>
public enum KeyType
{
    Rsa = 0,
    Ed25519 = 1,
    Secp256k1 = 2,
    Ecdsa = 3,
}
