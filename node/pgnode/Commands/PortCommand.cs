using System.CommandLine;
using System.Text;
using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;
using PromiseGrid.Mesh.Node;

namespace PromiseGrid.Mesh.Cli.Commands;

/// <summary>
/// <c>pgnode port serve|send</c>: ports across the mesh from the command line. <c>serve</c> runs a
/// node with one published port and prints every message it receives; <c>send</c> looks that
/// port up on its home node and sends it a stream of messages, acknowledged one by one.
/// </summary>
internal static class PortCommand
{
    public static Command Create() => new("port", "Serve a published port, or send messages to a port on another node.")
    {
        PortServeCommand.Create(),
        PortSendCommand.Create(),
    };

    /// <summary>Starts a node for a port command: no mDNS, no peer exchange, no persisted peer store.</summary>
    internal static Task<MeshNode> StartNodeAsync(IdentityKeyPair identity, IReadOnlyList<Multiaddr> listen, ILoggerFactory loggerFactory, CancellationToken cancellationToken) =>
        MeshNode.StartAsync(new MeshNodeOptions
        {
            Identity = identity,
            ListenAddresses = listen,
            EnableMdns = false,
            EnablePeerExchange = false,
            DialStoredPeers = false,
            LoggerFactory = loggerFactory,
        }, cancellationToken);

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Largest payload shown as text.</summary>
    internal const int MaxTextBytes = 256;

    /// <summary>
    /// The payload as text when it is valid UTF-8 of at most <see cref="MaxTextBytes"/> bytes and holds no
    /// control characters other than tab, CR and LF (so binary payloads such as <c>--size</c>'s are not shown as text).
    /// </summary>
    internal static string? PayloadText(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxTextBytes)
        {
            return null;
        }

        string text;
        try
        {
            text = StrictUtf8.GetString(payload);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }

        foreach (var c in text)
        {
            if (char.IsControl(c) && c is not ('\t' or '\r' or '\n'))
            {
                return null;
            }
        }

        return text;
    }
}
