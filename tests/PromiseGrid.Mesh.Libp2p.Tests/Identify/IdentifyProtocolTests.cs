using System.Buffers;
using PromiseGrid.Mesh.Identify;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Libp2p.Tests.Testing;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Libp2p.Tests.Identify;

public class IdentifyProtocolTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static IdentifyInfo Sample(IdentityKeyPair key) => new()
    {
        ProtocolVersion = IdentifyInfo.DefaultProtocolVersion,
        AgentVersion = "promisegrid-mesh/0.1.0",
        PublicKey = key.PublicKey,
        ListenAddrs = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001"), Multiaddr.Parse("/ip6/::1/tcp/4001")],
        ObservedAddr = Multiaddr.Parse("/ip4/10.0.0.1/tcp/5555"),
        Protocols = [IdentifyProtocol.ProtocolId, "/ipfs/ping/1.0.0"],
    };

    [Fact]
    public void Encode_KnownFields_UsesSpecTags()
    {
        var info = new IdentifyInfo { ProtocolVersion = "ipfs/0.1.0", AgentVersion = "a/1", Protocols = ["/x"], ObservedAddr = Multiaddr.Parse("/ip4/127.0.0.1/tcp/4321") };
        var bytes = IdentifyCodec.Encode(info);
        // protocols (0x1a), observedAddr (0x22), protocolVersion (0x2a), agentVersion (0x32)
        Assert.Equal("1a022f78" + "2208047f0000010610e1" + "2a0a697066732f302e312e30" + "3203612f31", Convert.ToHexStringLower(bytes));
    }

    [Fact]
    public void Decode_RoundTrip_PreservesFields()
    {
        using var key = IdentityKeyPair.Generate();
        var info = Sample(key);
        var decoded = IdentifyCodec.Decode(IdentifyCodec.Encode(info));

        Assert.Equal(info.ProtocolVersion, decoded.ProtocolVersion);
        Assert.Equal(info.AgentVersion, decoded.AgentVersion);
        Assert.Equal(info.PublicKey, decoded.PublicKey);
        Assert.Equal(info.ListenAddrs, decoded.ListenAddrs);
        Assert.Equal(info.ObservedAddr, decoded.ObservedAddr);
        Assert.Equal(info.Protocols, decoded.Protocols);
    }

    [Fact]
    public void Decode_SignedPeerRecordAndUnknownFields_Tolerated()
    {
        // field 8 bytes, unknown field 9 varint, unknown field 7 bytes
        var bytes = Convert.FromHexString("4203010203" + "4805" + "3a00" + "3203612f31");
        var decoded = IdentifyCodec.Decode(bytes);
        Assert.Equal(new byte[] { 1, 2, 3 }, decoded.SignedPeerRecord!.Value.ToArray());
        Assert.Equal("a/1", decoded.AgentVersion);
    }

    [Fact]
    public void Decode_UnknownMultiaddrCode_SkipsThatAddress()
    {
        // listenAddrs: code 0x7f (unknown) then a valid /ip4/127.0.0.1/tcp/4321
        var bytes = Convert.FromHexString("12027f00" + "1208047f0000010610e1");
        var decoded = IdentifyCodec.Decode(bytes);
        Assert.Equal([Multiaddr.Parse("/ip4/127.0.0.1/tcp/4321")], decoded.ListenAddrs);
    }

    [Fact]
    public void Decode_Truncated_ThrowsInvalidFormat()
    {
        Assert.Throws<InvalidFormatException>(() => IdentifyCodec.Decode(Convert.FromHexString("3205612f")));
    }

    [Fact]
    public async Task WriteAsync_ThenReadAsync_RoundTrips()
    {
        using var key = IdentityKeyPair.Generate();
        var (a, b) = DuplexPipePair.Create();
        await IdentifyProtocol.WriteAsync(a, Sample(key)).AsTask().WaitAsync(Timeout);
        var read = await IdentifyProtocol.ReadAsync(b).AsTask().WaitAsync(Timeout);

        Assert.Equal("promisegrid-mesh/0.1.0", read.AgentVersion);
        read.VerifyPeer(key.PeerId);
    }

    [Fact]
    public async Task ReadAsync_TwoMessages_Merged()
    {
        var (a, b) = DuplexPipePair.Create();
        Frame(a.Output, IdentifyCodec.Encode(new IdentifyInfo { AgentVersion = "x/1", Protocols = ["/a"] }));
        Frame(a.Output, IdentifyCodec.Encode(new IdentifyInfo { SignedPeerRecord = new byte[] { 9 }, Protocols = ["/b"] }));
        await a.Output.CompleteAsync();

        var read = await IdentifyProtocol.ReadAsync(b).AsTask().WaitAsync(Timeout);
        Assert.Equal("x/1", read.AgentVersion);
        Assert.Equal(["/a", "/b"], read.Protocols);
        Assert.NotNull(read.SignedPeerRecord);
    }

    [Fact]
    public async Task ReadAsync_MessageAboveLimit_ThrowsLimitExceeded()
    {
        var (a, b) = DuplexPipePair.Create();
        Varint.Write(a.Output, IdentifyProtocol.MaxIncomingMessageSize + 1);
        await a.Output.FlushAsync();
        await Assert.ThrowsAsync<LimitExceededException>(() => IdentifyProtocol.ReadAsync(b).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task ReadAsync_MessageAtLimit_Accepted()
    {
        var (a, b) = DuplexPipePair.Create();
        var body = new ProtobufWriterHelper().AgentOfSize(IdentifyProtocol.MaxIncomingMessageSize);
        Frame(a.Output, body);
        await a.Output.CompleteAsync();
        var read = await IdentifyProtocol.ReadAsync(b).AsTask().WaitAsync(Timeout);
        Assert.NotNull(read.AgentVersion);
    }

    [Fact]
    public async Task ReadAsync_TooManyMessages_ThrowsLimitExceeded()
    {
        var (a, b) = DuplexPipePair.Create();
        for (var i = 0; i <= IdentifyProtocol.MaxMessages; i++)
        {
            Frame(a.Output, IdentifyCodec.Encode(new IdentifyInfo { AgentVersion = "x/1" }));
        }

        await a.Output.CompleteAsync();
        await Assert.ThrowsAsync<LimitExceededException>(() => IdentifyProtocol.ReadAsync(b).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task ReadAsync_EofInsideMessage_ThrowsInvalidFormat()
    {
        var (a, b) = DuplexPipePair.Create();
        await a.Output.WriteAsync(new byte[] { 10, 1, 2 });
        await a.Output.CompleteAsync();
        await Assert.ThrowsAsync<InvalidFormatException>(() => IdentifyProtocol.ReadAsync(b).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task WriteAsync_AboveOutgoingLimit_ThrowsLimitExceeded()
    {
        var (a, _) = DuplexPipePair.Create();
        var info = new IdentifyInfo { Protocols = Enumerable.Range(0, 200).Select(i => $"/some/long/protocol/name/{i}").ToList() };
        await Assert.ThrowsAsync<LimitExceededException>(() => IdentifyProtocol.WriteAsync(a, info).AsTask());
    }

    [Fact]
    public void VerifyPeer_KeyOfAnotherPeer_ThrowsProtocolViolation()
    {
        using var key = IdentityKeyPair.Generate();
        using var other = IdentityKeyPair.Generate();
        Assert.Throws<ProtocolViolationException>(() => Sample(key).VerifyPeer(other.PeerId));
    }

    [Fact]
    public void ApplyPush_PartialPush_ReplacesOnlyPresentFields()
    {
        using var key = IdentityKeyPair.Generate();
        var original = Sample(key);
        var updated = original.ApplyPush(new IdentifyInfo { Protocols = ["/new/1.0.0"] });
        Assert.Equal(["/new/1.0.0"], updated.Protocols);
        Assert.Equal(original.ListenAddrs, updated.ListenAddrs);
        Assert.Equal(original.AgentVersion, updated.AgentVersion);
    }

    private static void Frame(IBufferWriter<byte> writer, byte[] message)
    {
        Varint.Write(writer, (ulong)message.Length);
        writer.Write(message);
    }

    private sealed class ProtobufWriterHelper
    {
        public byte[] AgentOfSize(int total)
        {
            // tag (1) + length varint (2) + text
            var text = new string('a', total - 3);
            var bytes = IdentifyCodec.Encode(new IdentifyInfo { AgentVersion = text });
            Assert.Equal(total, bytes.Length);
            return bytes;
        }
    }
}
