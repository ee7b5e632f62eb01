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
        var json = JsonSerializer.SerializeToUtf8Bytes(value, value.GetType(), SandboxJson.Options);
        var body = new ArrayBufferWriter<byte>(json.Length);
        using (var writer = new Utf8JsonWriter(body, new JsonWriterOptions { Encoder = SandboxJson.Options.Encoder, SkipValidation = true }))
        {
            var reader = new Utf8JsonReader(json);
            reader.Read();
            Write(ref reader, json, writer, paths, keep: fields.Length > 0);
        }
        return new JsonBytes(body.WrittenMemory, (result as IStatusCodeHttpResult)?.StatusCode ?? 200);
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

    private sealed class JsonBytes(ReadOnlyMemory<byte> body, int status) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => status;

        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.ContentType = "application/json; charset=utf-8";
            httpContext.Response.ContentLength = body.Length;
            await httpContext.Response.Body.WriteAsync(body);
        }
    }
}
