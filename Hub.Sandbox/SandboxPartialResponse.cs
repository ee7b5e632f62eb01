using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Hub.Sandbox;

/// <summary>
/// Mailchimp's partial responses: <c>fields</c> keeps only the named properties, <c>exclude_fields</c> drops
/// them; both are comma-separated with dot notation (<c>new_members.email_address</c>), a path into an
/// array applies to each element, and the two together are refused. Applied to successful JSON answers only.
/// Unlike Mailchimp, names that do not exist are ignored rather than refused. Source: the <c>fields</c> and
/// <c>exclude_fields</c> query parameters of the routes in marketing-openapi.json, and FACTS.md §6 (Mailchimp's
/// "Methods and parameters" guide: mutually exclusive, dot notation).
/// </summary>
internal static class SandboxPartialResponse
{
    /// <summary>The 400 for a request that asks for both (checked before the call does anything); null otherwise.</summary>
    public static IResult? Refusal(HttpRequest request) =>
        request.Query["fields"].ToString().Length > 0 && request.Query["exclude_fields"].ToString().Length > 0
            ? SandboxJson.InvalidResource([new FieldError("fields", "fields and exclude_fields cannot be used together.")])
            : null;

    public static object? Apply(HttpRequest request, object? result)
    {
        var fields = request.Query["fields"].ToString();
        var exclude = request.Query["exclude_fields"].ToString();
        if (fields.Length == 0 && exclude.Length == 0)
            return result;
        if (result is not IValueHttpResult { Value: { } value } || result is IStatusCodeHttpResult { StatusCode: < 200 or >= 300 })
            return result;

        var named = (fields.Length > 0 ? fields : exclude).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(path => path.Split('.')).ToList();
        // Each path as its segments in UTF-8, compared with the reader's property names without decoding them.
        var paths = named.Select(path => path.Select(Encoding.UTF8.GetBytes).ToArray()).ToList();
        var options = fields.Length > 0 ? Narrowed(value.GetType(), fields, named) : SandboxJson.Options;
        // Both buffers come from the shared pool: a batch answer is hundreds of kilobytes before filtering, and an array that
        // size allocated per call lands on the large object heap, whose churn forces full collections of the whole state.
        PooledBufferWriter body;
        using (var json = new PooledBufferWriter())
        {
            using (var serializer = new Utf8JsonWriter(json, new JsonWriterOptions { Encoder = SandboxJson.Options.Encoder, SkipValidation = true }))
                JsonSerializer.Serialize(serializer, value, value.GetType(), options);
            body = new PooledBufferWriter(json.WrittenSpan.Length); // the filtered answer is at most as long
            using var writer = new Utf8JsonWriter(body, new JsonWriterOptions { Encoder = SandboxJson.Options.Encoder, SkipValidation = true });
            var reader = new Utf8JsonReader(json.WrittenSpan);
            reader.Read();
            Write(ref reader, json.WrittenSpan, writer, paths, keep: fields.Length > 0);
        }
        return new JsonBytes(body, (result as IStatusCodeHttpResult)?.StatusCode ?? 200);
    }

    private const int MaxNarrowed = 64;
    private static readonly ConcurrentDictionary<(Type, string), JsonSerializerOptions> NarrowedOptions = new();
    private static int _narrowedCount;

    /// <summary>
    /// For <c>fields</c>: the sandbox's options with every property no path can keep left out while serializing, so a batch
    /// answer is not written whole (some 30 properties per member) only to be cut down to the two Hub names. The exact filter
    /// (<see cref="Write"/>) still runs on what is written. A type is narrowed to the union of what the paths name in it, and
    /// never when a value kept whole contains it; an <c>object</c>-typed property anywhere (whose runtime type could be
    /// anything) turns narrowing off. One per answer type and <c>fields</c> value, at most <see cref="MaxNarrowed"/>.
    /// </summary>
    private static JsonSerializerOptions Narrowed(Type root, string fields, IReadOnlyList<string[]> paths)
    {
        if (NarrowedOptions.TryGetValue((root, fields), out var cached)) return cached;
        if (Volatile.Read(ref _narrowedCount) >= MaxNarrowed) return SandboxJson.Options;
        return NarrowedOptions.GetOrAdd((root, fields), key =>
        {
            Interlocked.Increment(ref _narrowedCount);
            return Narrow(key.Item1, paths);
        });
    }

    private static JsonSerializerOptions Narrow(Type root, IReadOnlyList<string[]> paths)
    {
        var keep = new Dictionary<Type, HashSet<string>>();
        var whole = new HashSet<Type>();
        foreach (var path in paths)
        {
            var type = root;
            for (var i = 0; i < path.Length; i++)
            {
                if (ObjectInfo(type) is not { } info)
                {
                    Reach(type, whole);
                    break;
                }
                (keep.TryGetValue(info.Type, out var names) ? names : keep[info.Type] = new HashSet<string>(StringComparer.Ordinal)).Add(path[i]);
                if (info.Properties.FirstOrDefault(property => property.Name == path[i]) is not { } property)
                    break;
                if (i == path.Length - 1)
                    Reach(property.PropertyType, whole);
                type = property.PropertyType;
            }
        }

        var reachable = new HashSet<Type>();
        Reach(root, reachable);
        if (reachable.Contains(typeof(object))) return SandboxJson.Options; // cached too: the walk is not repeated
        var narrow = keep.Where(pair => !whole.Contains(pair.Key)).ToDictionary(pair => pair.Key, pair => pair.Value);
        return new JsonSerializerOptions(SandboxJson.Options)
        {
            TypeInfoResolver = new DefaultJsonTypeInfoResolver
            {
                Modifiers =
                {
                    info =>
                    {
                        if (!narrow.TryGetValue(info.Type, out var names)) return;
                        for (var i = info.Properties.Count - 1; i >= 0; i--)
                            if (!names.Contains(info.Properties[i].Name)) info.Properties.RemoveAt(i);
                    },
                },
            },
        };
    }

    /// <summary>The object contract of <paramref name="type"/>, or of its elements for a list; null for anything else (a dictionary, a value).</summary>
    private static JsonTypeInfo? ObjectInfo(Type type)
    {
        var info = SandboxJson.Options.GetTypeInfo(type);
        while (info.Kind == JsonTypeInfoKind.Enumerable) info = SandboxJson.Options.GetTypeInfo(info.ElementType!);
        return info.Kind == JsonTypeInfoKind.Object ? info : null;
    }

    /// <summary>Adds <paramref name="type"/> and every type its serialized form can contain to <paramref name="types"/>.</summary>
    private static void Reach(Type type, HashSet<Type> types)
    {
        if (!types.Add(type)) return;
        var info = SandboxJson.Options.GetTypeInfo(type);
        if (info.ElementType is { } element) Reach(element, types);
        if (info.KeyType is { } key) Reach(key, types);
        if (info.Kind == JsonTypeInfoKind.Object)
            foreach (var property in info.Properties) Reach(property.PropertyType, types);
    }

    /// <summary>
    /// Copies the value at <paramref name="reader"/> (on its first token) from <paramref name="json"/>, keeping (or dropping) the
    /// properties <paramref name="paths"/> name at this level. Streamed, token by token, with what is kept whole copied as it
    /// was serialized: a batch answer has hundreds of members with dozens of properties each.
    /// </summary>
    private static void Write(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, Utf8JsonWriter writer, IReadOnlyList<byte[][]> paths, bool keep)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartArray:
                writer.WriteStartArray();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    Write(ref reader, json, writer, paths, keep);
                writer.WriteEndArray();
                break;
            case JsonTokenType.StartObject:
                writer.WriteStartObject();
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var (named, whole) = (false, false);
                    List<byte[][]>? nested = null;
                    foreach (var path in paths)
                    {
                        if (!reader.ValueTextEquals(path[0]))
                            continue;
                        named = true;
                        if (path.Length == 1)
                            whole = true;
                        else
                            (nested ??= []).Add(path[1..]);
                    }
                    if (keep ? !named : whole)
                    {
                        reader.Read();
                        reader.Skip();
                        continue;
                    }
                    if (reader.ValueIsEscaped)
                        writer.WritePropertyName(reader.GetString()!);
                    else
                        writer.WritePropertyName(reader.ValueSpan);
                    reader.Read();
                    if ((keep && whole) || !named)
                    {
                        CopyValue(ref reader, json, writer);
                        continue;
                    }
                    Write(ref reader, json, writer, nested!, keep);
                }
                writer.WriteEndObject();
                break;
            default:
                CopyValue(ref reader, json, writer);
                break;
        }
    }

    /// <summary>Copies the value at <paramref name="reader"/> as it is in <paramref name="json"/>, and moves past it.</summary>
    private static void CopyValue(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, Utf8JsonWriter writer)
    {
        var start = (int)reader.TokenStartIndex;
        reader.Skip();
        writer.WriteRawValue(json[start..(int)reader.BytesConsumed], skipInputValidation: true);
    }

    /// <summary>The filtered answer; its buffer goes back to the pool once written (one not written is left to the collector).</summary>
    private sealed class JsonBytes(PooledBufferWriter body, int status) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => status;

        public async Task ExecuteAsync(HttpContext httpContext)
        {
            using (body)
            {
                httpContext.Response.StatusCode = status;
                httpContext.Response.ContentType = "application/json; charset=utf-8";
                httpContext.Response.ContentLength = body.WrittenMemory.Length;
                await httpContext.Response.Body.WriteAsync(body.WrittenMemory);
            }
        }
    }
}

/// <summary>An <see cref="IBufferWriter{T}"/> over arrays rented from <see cref="ArrayPool{T}.Shared"/>, returned on dispose.</summary>
internal sealed class PooledBufferWriter(int initialSize = 4096) : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initialSize, 256));
    private int _written;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsSpan(_written);
    }

    private void Reserve(int sizeHint)
    {
        if (_buffer.Length - _written >= Math.Max(sizeHint, 1)) return;
        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _written + sizeHint));
        _buffer.AsSpan(0, _written).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
        _written = 0;
    }
}
