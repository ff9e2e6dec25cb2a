using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Cli.Commands;

/// <summary>Options and plumbing shared by every pgnode command.</summary>
internal static class CommonOptions
{
    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Print one JSON object per line (machine-readable).",
        Recursive = true,
    };

    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Log debug details to stderr.",
        Recursive = true,
    };

    public static Option<string?> Key(string description) => new("--key")
    {
        Description = description,
    };

    public static CliOutput Output(ParseResult parse) => new(parse.GetValue(Json));

    public static ILoggerFactory Logging(ParseResult parse) => LoggerFactory.Create(builder => builder
        .SetMinimumLevel(parse.GetValue(Verbose) ? LogLevel.Debug : LogLevel.Warning)
        .AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        })
        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));

    /// <summary>Parses a multiaddr argument, turning a bad one into a <see cref="CliUsageException"/>.</summary>
    public static Multiaddr ParseAddress(string text, bool requirePeerId)
    {
        Multiaddr address;
        try
        {
            address = Multiaddr.Parse(text);
        }
        catch (InvalidFormatException e)
        {
            throw new CliUsageException($"bad multiaddr '{text}': {e.Message}");
        }

        if (requirePeerId && address.PeerId is null)
        {
            throw new CliUsageException($"multiaddr '{text}' must end with /p2p/<peer id>");
        }

        return address;
    }

    /// <summary>The identity of a one-shot client: the given key file, or a fresh key.</summary>
    public static IdentityKeyPair ClientIdentity(string? keyFile) =>
        keyFile is null ? IdentityKeyPair.Generate() : IdentityKeyPair.LoadOrCreate(keyFile);

    /// <summary>A token cancelled by Ctrl-C (SIGINT) or SIGTERM, for a clean shutdown.</summary>
    public static CancellationTokenSource CancelOnSignals(CancellationToken linked, out IDisposable registrations)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(linked);
        void Handler(PosixSignalContext context)
        {
            context.Cancel = true;
            cts.Cancel();
        }

        var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handler);
        var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handler);
        registrations = new CompositeDisposable(sigint, sigterm);
        return cts;
    }

    private sealed class CompositeDisposable(params IDisposable[] items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items)
            {
                item.Dispose();
            }
        }
    }
}

/// <summary>A user error in the command line (bad multiaddr, missing /p2p): exit code 2.</summary>
internal sealed class CliUsageException(string message) : Exception(message);
