using System.Buffers;
using System.Text.Json;

namespace Hub.Sandbox;

/// <summary>
/// Mailchimp's partial responses: <c>fields</c> keeps only the named properties, <c>exclude_fields</c> drops
/// them; both are comma-separated with dot notation (<c>new_members.email_address</c>), a path into an
/// array applies to each element, and the two together are refused. Applied to successful JSON answers only.
/// Unlike Mailchimp, names that do not exist are ignored rather than refused.
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

        var paths = (fields.Length > 0 ? fields : exclude).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(path => path.Split('.')).ToList();
        using var document = JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(value, value.GetType(), SandboxJson.Options));
        var body = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(body, new JsonWriterOptions { Encoder = SandboxJson.Options.Encoder }))
            Write(writer, document.RootElement, paths, keep: fields.Length > 0);
        return new JsonBytes(body.WrittenMemory, (result as IStatusCodeHttpResult)?.StatusCode ?? 200);
    }

    /// <summary>Writes <paramref name="element"/> keeping (or dropping) the properties <paramref name="paths"/> name at this level.</summary>
    private static void Write(Utf8JsonWriter writer, JsonElement element, IReadOnlyList<string[]> paths, bool keep)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                    Write(writer, item, paths, keep);
                writer.WriteEndArray();
                break;
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject())
                {
                    // Without a list per property: a batch answer has hundreds of members with dozens of properties each.
                    var (named, whole) = (false, false);
                    foreach (var path in paths)
                    {
                        if (property.NameEquals(path[0]))
                            (named, whole) = (true, whole || path.Length == 1);
                    }
                    if (keep ? !named : whole)
                        continue;
                    if ((keep && whole) || !named)
                    {
                        property.WriteTo(writer);
                        continue;
                    }
                    writer.WritePropertyName(property.Name);
                    Write(writer, property.Value, [.. paths.Where(path => property.NameEquals(path[0]) && path.Length > 1).Select(path => path[1..])], keep);
                }
                writer.WriteEndObject();
                break;
            default:
                element.WriteTo(writer);
                break;
        }
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
