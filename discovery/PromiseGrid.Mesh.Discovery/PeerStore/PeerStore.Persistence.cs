using System.Text.Json;
using System.Text.Json.Serialization;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Multiformats;

namespace PromiseGrid.Mesh.Discovery;

public sealed partial class PeerStore
{
    /// <summary>Version written in the file; other versions are not read.</summary>
    public const int FileFormatVersion = 1;

    /// <summary>
    /// A store filled from <c>peers.json</c> in <see cref="PeerStoreOptions.DataDirectory"/>, if it
    /// exists. A missing, unreadable, oversized or corrupt file gives an empty store and a log line;
    /// bad entries are skipped; the limits apply while loading.
    /// </summary>
    public static async Task<PeerStore> LoadAsync(PeerStoreOptions options, CancellationToken cancellationToken = default)
    {
        var store = new PeerStore(options);
        var path = store.FilePath;
        if (path is null || !File.Exists(path))
        {
            return store;
        }

        PeerStoreFile? file;
        try
        {
            var length = new FileInfo(path).Length;
            if (length > PeerStoreOptions.MaxFileLength)
            {
                throw new LimitExceededException("peer store file size", length, PeerStoreOptions.MaxFileLength);
            }

            var stream = File.OpenRead(path);
            await using (stream.ConfigureAwait(false))
            {
                file = await JsonSerializer.DeserializeAsync(stream, PeerStoreJsonContext.Default.PeerStoreFile, cancellationToken).ConfigureAwait(false);
            }

            if (file is null || file.Version != FileFormatVersion)
            {
                throw new InvalidFormatException($"unsupported peer store version {file?.Version}");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or MeshException)
        {
            PeerStoreLog.LoadFailed(store._logger, path, e.Message);
            return store;
        }

        store.Import(file, path);
        PeerStoreLog.Loaded(store._logger, store.Count, path);
        return store;
    }

    /// <summary>Writes the store atomically (temp file in the same directory, flushed, then renamed over <c>peers.json</c>).</summary>
    /// <exception cref="InvalidOperationException">The store has no data directory.</exception>
    public async Task SaveAsync(CancellationToken cancellationToken = default)
    {
        var path = FilePath ?? throw new InvalidOperationException("the peer store has no data directory");
        PeerStoreFile file;
        lock (_gate)
        {
            file = Export();
        }

        await _saveLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Directory.CreateDirectory(_options.DataDirectory!);
            var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            try
            {
                var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous);
                await using (stream.ConfigureAwait(false))
                {
                    await JsonSerializer.SerializeAsync(stream, file, PeerStoreJsonContext.Default.PeerStoreFile, cancellationToken).ConfigureAwait(false);
                    await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                    stream.Flush(flushToDisk: true);
                }

                File.Move(temp, path, overwrite: true);
            }
            catch
            {
                File.Delete(temp);
                throw;
            }
        }
        finally
        {
            _saveLock.Release();
        }
    }

    private PeerStoreFile Export() => new()
    {
        Version = FileFormatVersion,
        Peers = [.. _peers.Select(p => new PeerStoreFile.Peer
        {
            Id = p.Key.ToString(),
            AgentVersion = p.Value.AgentVersion,
            Protocols = [.. p.Value.Protocols],
            LastSeen = p.Value.LastSeen,
            Addresses = [.. p.Value.Addresses.Values.Select(a => new PeerStoreFile.Address
            {
                Multiaddr = a.Address.ToString(),
                Source = a.Source,
                LastSeen = a.LastSeen,
            })],
        })],
    };

    private void Import(PeerStoreFile file, string path)
    {
        // Oldest first, so that when the file holds more than the limits allow, the most recent survive.
        foreach (var peer in (file.Peers ?? []).OrderBy(p => p.LastSeen).ToArray())
        {
            try
            {
                var peerId = PeerId.Parse(peer.Id ?? throw new InvalidFormatException("peer without id"));
                lock (_gate)
                {
                    var entry = GetOrAdd(peerId, peer.LastSeen);
                    entry.AgentVersion = peer.AgentVersion is null ? null : Truncate(peer.AgentVersion);
                    entry.Protocols = (peer.Protocols ?? []).Where(p => !string.IsNullOrEmpty(p)).Select(Truncate)
                        .Distinct(StringComparer.Ordinal).Take(_options.MaxProtocolsPerPeer).ToArray();
                    foreach (var a in (peer.Addresses ?? []).OrderBy(a => a.LastSeen))
                    {
                        if (!Multiaddr.TryParse(a.Multiaddr, out var address) || address is null)
                        {
                            PeerStoreLog.EntrySkipped(_logger, path, $"bad address of {peerId}");
                            continue;
                        }

                        try
                        {
                            address = Normalize(peerId, address);
                        }
                        catch (ArgumentException e)
                        {
                            PeerStoreLog.EntrySkipped(_logger, path, e.Message);
                            continue;
                        }

                        entry.Addresses[address] = new PeerAddress(address, Truncate(string.IsNullOrEmpty(a.Source) ? "store" : a.Source), a.LastSeen);
                    }

                    TrimAddresses(entry);
                }
            }
            catch (MeshException e)
            {
                PeerStoreLog.EntrySkipped(_logger, path, e.Message);
            }
        }
    }
}

/// <summary>The JSON shape of <c>peers.json</c>.</summary>
internal sealed class PeerStoreFile
{
    [JsonPropertyName("version")]
    public int Version { get; set; }

    [JsonPropertyName("peers")]
    public List<Peer>? Peers { get; set; }

    internal sealed class Peer
    {
        [JsonPropertyName("id")]
        public string? Id { get; set; }

        [JsonPropertyName("agentVersion")]
        public string? AgentVersion { get; set; }

        [JsonPropertyName("protocols")]
        public List<string>? Protocols { get; set; }

        [JsonPropertyName("lastSeen")]
        public DateTimeOffset LastSeen { get; set; }

        [JsonPropertyName("addrs")]
        public List<Address>? Addresses { get; set; }
    }

    internal sealed class Address
    {
        [JsonPropertyName("multiaddr")]
        public string? Multiaddr { get; set; }

        [JsonPropertyName("source")]
        public string? Source { get; set; }

        [JsonPropertyName("lastSeen")]
        public DateTimeOffset LastSeen { get; set; }
    }
}

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(PeerStoreFile))]
internal sealed partial class PeerStoreJsonContext : JsonSerializerContext;
