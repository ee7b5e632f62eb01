using System.Buffers;
using System.Text;
using System.Text.Json;

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

        // Each path as its segments in UTF-8, compared with the reader's property names without decoding them.
        var paths = (fields.Length > 0 ? fields : exclude).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(path => path.Split('.').Select(Encoding.UTF8.GetBytes).ToArray()).ToList();
        // Both buffers come from the shared pool: a batch answer is hundreds of kilobytes before filtering, and an array that
        // size allocated per call lands on the large object heap, whose churn forces full collections of the whole state.
        var body = new PooledBufferWriter();
        using (var json = new PooledBufferWriter())
        {
            using (var serializer = new Utf8JsonWriter(json, new JsonWriterOptions { Encoder = SandboxJson.Options.Encoder, SkipValidation = true }))
                JsonSerializer.Serialize(serializer, value, value.GetType(), SandboxJson.Options);
            using var writer = new Utf8JsonWriter(body, new JsonWriterOptions { Encoder = SandboxJson.Options.Encoder, SkipValidation = true });
            var reader = new Utf8JsonReader(json.WrittenSpan);
            reader.Read();
            Write(ref reader, json.WrittenSpan, writer, paths, keep: fields.Length > 0);
        }
        return new JsonBytes(body, (result as IStatusCodeHttpResult)?.StatusCode ?? 200);
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
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(4096);
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
