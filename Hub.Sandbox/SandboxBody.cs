using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hub.Sandbox;

/// <summary>
/// Reads a JSON request body and checks fields the way the spec declares them, collecting every error. It records
/// which properties were read (or declared <see cref="Ignore">ignored</see>), so strict mode can refuse the rest.
/// </summary>
internal sealed class SandboxBody(JsonObject body, List<FieldError> errors, string prefix = "")
{
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);
    private readonly List<SandboxBody> _nested = [];

    public List<FieldError> Errors => errors;

    public JsonObject Json => body;

    /// <summary>
    /// Reads the body as a JSON object. The bytes go into a pooled buffer, and each top-level property's value (each element,
    /// for an array) is parsed on its own: the nodes then hold small copies, where parsing the whole body at once would copy a
    /// batch of 500 members into one new array of some hundreds of kilobytes per request, on the large object heap, whose
    /// churn makes the runtime collect the sandbox's whole state (every audience's members) again and again.
    /// </summary>
    public static async Task<(SandboxBody? Body, IResult? Error)> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        using var buffer = new PooledBufferWriter(16 * 1024);
        while (true)
        {
            var read = await request.Body.ReadAsync(buffer.GetMemory(16 * 1024), ct);
            if (read == 0) break;
            buffer.Advance(read);
        }

        // A UTF-8 byte order mark is allowed before the JSON, as the stream parser allowed it.
        var json = buffer.WrittenSpan;
        if (json.StartsWith("\uFEFF"u8)) json = json[3..];
        return TryParseObject(json) is { } obj
            ? (new SandboxBody(obj, []), null)
            : (null, SandboxJson.Problem(400, "JSON Parse Exception", "We encountered an unspecified JSON parsing error.")); // FACTS.md §8
    }

    /// <summary>The JSON object <paramref name="json"/> holds, or null when it is not one (not JSON, another kind of value, a property named twice).</summary>
    internal static JsonObject? TryParseObject(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
            var obj = new JsonObject();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                JsonNode? value;
                if (reader.TokenType == JsonTokenType.StartArray)
                {
                    var array = new JsonArray();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray) array.Add(JsonNode.Parse(ref reader));
                    value = array;
                }
                else
                {
                    value = JsonNode.Parse(ref reader);
                }

                // Mailchimp documents nothing for a property named twice; the sandbox refuses it with its parse error (below),
                // strictly, so that a client sending one finds out here. Hub's serializer never writes one.
                obj.Add(name, value);
            }

            // The object's end, and nothing after it but whitespace (the reader refuses anything else).
            return reader.TokenType == JsonTokenType.EndObject && !reader.Read() ? obj : null;
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            return null;
        }
    }

    public SandboxBody Nested(JsonObject child, string name)
    {
        var nested = new SandboxBody(child, errors, $"{prefix}{name}.");
        _nested.Add(nested);
        return nested;
    }

    /// <summary>Documented properties the sandbox accepts but does not act on (the spec lists them for this route).</summary>
    public SandboxBody Ignore(params string[] names)
    {
        foreach (var name in names) _known.Add(name);
        return this;
    }

    /// <summary>
    /// Strict mode: every property neither read nor declared ignored (here or in a nested object read through
    /// <see cref="Nested"/>) becomes a field error, the way Mailchimp refuses input its schema does not describe.
    /// </summary>
    public void RejectUnknown(bool strict)
    {
        if (!strict) return;
        foreach (var (name, _) in body)
            if (!_known.Contains(name))
                errors.Add(new FieldError(prefix + name, $"Schema does not describe the property '{name}'; it is not allowed here."));
        foreach (var nested in _nested) nested.RejectUnknown(strict);
    }

    public string? String(string name, bool required = false, IReadOnlyList<string>? allowed = null)
    {
        if (!Present(name, required, out var node)) return null;
        if (node is JsonValue v && v.TryGetValue<string>(out var s))
        {
            if (allowed is null || allowed.Contains(s)) return s;
            errors.Add(new FieldError(prefix + name, $"Value must be one of: {string.Join(", ", allowed)}."));
            return null;
        }
        errors.Add(new FieldError(prefix + name, "Schema describes string, " + Kind(node) + " found instead"));
        return null;
    }

    public bool? Bool(string name, bool required = false)
    {
        if (!Present(name, required, out var node)) return null;
        if (node is JsonValue v && v.TryGetValue<bool>(out var b)) return b;
        errors.Add(new FieldError(prefix + name, "Schema describes boolean, " + Kind(node) + " found instead"));
        return null;
    }

    public int? Int(string name, bool required = false)
    {
        if (!Present(name, required, out var node)) return null;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<int>(out var i)) return i;
        errors.Add(new FieldError(prefix + name, "Schema describes integer, " + Kind(node) + " found instead"));
        return null;
    }

    public JsonObject? Object(string name, bool required = false)
    {
        if (!Present(name, required, out var node)) return null;
        if (node is JsonObject o) return o;
        errors.Add(new FieldError(prefix + name, "Schema describes object, " + Kind(node) + " found instead"));
        return null;
    }

    public JsonArray? Array(string name, bool required = false)
    {
        if (!Present(name, required, out var node)) return null;
        if (node is JsonArray a) return a;
        errors.Add(new FieldError(prefix + name, "Schema describes array, " + Kind(node) + " found instead"));
        return null;
    }

    public IReadOnlyList<string>? StringArray(string name)
    {
        if (Array(name) is not { } array) return null;
        var values = new List<string>();
        foreach (var item in array)
        {
            if (item is JsonValue v && v.TryGetValue<string>(out var s)) values.Add(s);
            else errors.Add(new FieldError(prefix + name, "Schema describes string, " + Kind(item) + " found instead"));
        }
        return values;
    }

    private bool Present(string name, bool required, out JsonNode? node)
    {
        _known.Add(name);
        if (body.TryGetPropertyValue(name, out node) && node is not null) return true;
        if (required) errors.Add(new FieldError(prefix + name, $"Required fields were not provided: {name}"));
        return false;
    }

    private static string Kind(JsonNode? node) => node?.GetValueKind().ToString().ToLowerInvariant() ?? "null";
}
