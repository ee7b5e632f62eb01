using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hub.Sandbox;

/// <summary>
/// Mailchimp's partial responses: <c>fields</c> keeps only the named properties, <c>exclude_fields</c> drops
/// them; both are comma-separated with dot notation (<c>new_members.email_address</c>), a path into an
/// array applies to each element, and the two together are refused. Applied to successful JSON answers only.
/// Unlike Mailchimp, names that do not exist are ignored rather than refused.
/// </summary>
internal static class SandboxPartialResponse
{
    public static object? Apply(HttpRequest request, object? result)
    {
        var fields = request.Query["fields"].ToString();
        var exclude = request.Query["exclude_fields"].ToString();
        if (fields.Length == 0 && exclude.Length == 0)
            return result;
        if (fields.Length > 0 && exclude.Length > 0)
            return SandboxJson.InvalidResource([new FieldError("fields", "fields and exclude_fields cannot be used together.")]);
        if (result is not IValueHttpResult { Value: { } value } || result is IStatusCodeHttpResult { StatusCode: < 200 or >= 300 })
            return result;

        var node = JsonSerializer.SerializeToNode(value, value.GetType(), SandboxJson.Options);
        var paths = (fields.Length > 0 ? fields : exclude).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(path => path.Split('.')).ToList();
        var filtered = fields.Length > 0 ? Keep(node, paths) : Drop(node, paths);
        return TypedResults.Json(filtered, SandboxJson.Options, statusCode: (result as IStatusCodeHttpResult)?.StatusCode);
    }

    private static JsonNode? Keep(JsonNode? node, IReadOnlyList<string[]> paths)
    {
        switch (node)
        {
            case JsonArray array:
                return new JsonArray([.. array.Select(item => Keep(item, paths))]);
            case JsonObject obj:
                var kept = new JsonObject();
                foreach (var (name, child) in obj.ToList())
                {
                    var here = paths.Where(path => path[0] == name).ToList();
                    if (here.Count == 0)
                        continue;
                    obj.Remove(name);
                    kept[name] = here.Any(path => path.Length == 1) ? child : Keep(child, [.. here.Select(path => path[1..])]);
                }
                return kept;
            default:
                return node;
        }
    }

    private static JsonNode? Drop(JsonNode? node, IReadOnlyList<string[]> paths)
    {
        switch (node)
        {
            case JsonArray array:
                foreach (var item in array)
                    Drop(item, paths);
                break;
            case JsonObject obj:
                foreach (var path in paths)
                {
                    if (path.Length == 1)
                        obj.Remove(path[0]);
                    else if (obj[path[0]] is { } child)
                        Drop(child, [path[1..]]);
                }
                break;
        }
        return node;
    }
}
