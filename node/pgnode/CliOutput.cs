using System.Text.Encodings.Web;
using System.Text.Json;

namespace PromiseGrid.Mesh.Cli;

/// <summary>
/// Everything pgnode prints goes through here: with <c>--json</c> one JSON object per line on
/// stdout (machine-readable, the first key is always "event"), otherwise short human lines.
/// Errors go to stderr as one line.
/// </summary>
internal sealed class CliOutput(bool json)
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
    };

    private readonly Lock _gate = new();

    public bool Json { get; } = json;

    /// <summary>Prints one event: in JSON as <c>{"event":name, ...fields}</c>, else <paramref name="human"/>.</summary>
    public void Event(string name, IReadOnlyDictionary<string, object?> fields, string human)
    {
        string line;
        if (Json)
        {
            var record = new Dictionary<string, object?>(fields.Count + 1) { ["event"] = name };
            foreach (var (key, value) in fields)
            {
                record[key] = value;
            }

            line = JsonSerializer.Serialize(record, JsonOptions);
        }
        else
        {
            line = human;
        }

        lock (_gate)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }
    }

    /// <summary>Prints one error line to stderr (JSON with <c>"event":"error"</c> under --json).</summary>
    public void Error(string message, string kind)
    {
        var line = Json
            ? JsonSerializer.Serialize(new Dictionary<string, object?> { ["event"] = "error", ["error"] = kind, ["message"] = message }, JsonOptions)
            : $"pgnode: {message}";
        lock (_gate)
        {
            Console.Error.WriteLine(line);
            Console.Error.Flush();
        }
    }
}
