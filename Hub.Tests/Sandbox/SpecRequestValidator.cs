using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hub.Tests.Sandbox;

/// <summary>A request that does not match Mailchimp's spec: which operation, where in the request, and why.</summary>
public sealed record SpecViolation(string Operation, string JsonPath, string Message)
{
    public override string ToString() => $"{Operation} {JsonPath}: {Message}";
}

/// <summary>
/// Checks a request against Mailchimp's OpenAPI spec (shared/mailchimp/marketing-openapi.json, 3.0.55): the path and
/// method must be an operation of the spec, every query parameter one the operation lists (or <c>fields</c> /
/// <c>exclude_fields</c>, which Mailchimp documents for every response: FACTS.md §6), and the JSON body must validate
/// against the operation's requestBody schema read strictly: every object schema that declares no
/// <c>additionalProperties</c> is taken as <c>additionalProperties: false</c>. Supports the subset the spec uses for
/// request bodies: $ref, type, properties, required, enum, items, nullable, additionalProperties.
/// </summary>
public sealed class SpecRequestValidator
{
    /// <summary>Query parameters documented for every operation (FACTS.md §6, [FD: api-concepts/methods-and-parameters.mdx]).</summary>
    private static readonly string[] UniversalQuery = ["fields", "exclude_fields"];

    /// <summary>
    /// Properties Mailchimp documents in a dated changelog entry but spec 3.0.55 does not (or not everywhere): key
    /// "METHOD /spec/path" plus the JSON path with [] for any array index; the value is the schema to check them by and
    /// the entry that documents them.
    /// </summary>
    public static readonly IReadOnlyList<(string Operation, string JsonPath, string Schema, string Source)> ChangelogAllowList =
    [
        ("POST /lists/{list_id}", "$.members[].tags", """{"type":"array","items":{"type":"string"}}""",
            "Mailchimp changelog 2022-01-24: batch subscribe members accept tags (FACTS.md §5, [FD: CL:2022-01-24-…])"),
        ("POST /lists/{list_id}", "$.sync_tags", """{"type":"boolean"}""",
            "Mailchimp changelog 2022-01-24: sync_tags on batch subscribe (FACTS.md §5, [FD: CL:2022-01-24-…]); spec 3.0.55 also lists it"),
    ];

    private readonly JsonElement _spec;
    private readonly List<(string Template, string[] Segments)> _paths;

    public SpecRequestValidator(JsonElement spec)
    {
        _spec = spec;
        _paths = spec.GetProperty("paths").EnumerateObject()
            .Select(p => (p.Name, p.Name.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries))).ToList();
    }

    /// <summary>Loads ../shared/mailchimp/marketing-openapi.json beside the folder holding Hub.sln.</summary>
    public static SpecRequestValidator Load()
    {
        var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Hub.sln"))) dir = dir.Parent;
        var path = dir is null ? null : Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "mailchimp", "marketing-openapi.json"));
        if (path is null || !File.Exists(path))
            Assert.Fail($"Mailchimp OpenAPI spec not found: expected ../shared/mailchimp/marketing-openapi.json beside the folder holding Hub.sln (looked for {path}).");
        return new SpecRequestValidator(JsonDocument.Parse(File.ReadAllBytes(path!)).RootElement);
    }

    /// <summary>The spec path template a concrete path (below <c>/3.0</c>) matches, preferring literal segments over parameters.</summary>
    public string? MatchPath(string path)
    {
        var segments = path.Split('?')[0].Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        return _paths
            .Where(p => p.Segments.Length == segments.Length
                && p.Segments.Zip(segments).All(pair => IsParameter(pair.First) || pair.First == Uri.UnescapeDataString(pair.Second)))
            .OrderByDescending(p => p.Segments.Count(s => !IsParameter(s)))
            .Select(p => p.Template)
            .FirstOrDefault();
    }

    public List<SpecViolation> Validate(string method, string path, IEnumerable<string> queryNames, JsonNode? body)
    {
        var violations = new List<SpecViolation>();
        var template = MatchPath(path);
        if (template is null)
        {
            violations.Add(new SpecViolation($"{method} {path}", "(path)", "no path of the spec matches"));
            return violations;
        }

        var operationName = $"{method.ToUpperInvariant()} {template}";
        var pathItem = _spec.GetProperty("paths").GetProperty(template);
        if (!pathItem.TryGetProperty(method.ToLowerInvariant(), out var operation))
        {
            violations.Add(new SpecViolation(operationName, "(method)", $"the spec has no {method} for this path"));
            return violations;
        }

        var documented = Parameters(pathItem).Concat(Parameters(operation))
            .Where(p => p.GetProperty("in").GetString() == "query").Select(p => p.GetProperty("name").GetString()!)
            .Concat(UniversalQuery).ToHashSet(StringComparer.Ordinal);
        foreach (var name in queryNames.Where(name => !documented.Contains(name)))
            violations.Add(new SpecViolation(operationName, $"?{name}", "query parameter not documented for this operation"));

        var schema = RequestSchema(operation);
        if (body is not null && schema is null)
            violations.Add(new SpecViolation(operationName, "$", "the operation documents no request body, yet one was sent"));
        else if (schema is { } s && body is null && Resolve(operation.GetProperty("requestBody")).TryGetProperty("required", out var required) && required.ValueKind == JsonValueKind.True)
            violations.Add(new SpecViolation(operationName, "$", "the operation requires a request body"));
        else if (schema is { } bodySchema)
            ValidateNode(operationName, bodySchema, body, "$", violations);
        return violations;
    }

    private IEnumerable<JsonElement> Parameters(JsonElement owner) =>
        owner.TryGetProperty("parameters", out var parameters) ? parameters.EnumerateArray().Select(Resolve) : [];

    private JsonElement? RequestSchema(JsonElement operation)
    {
        if (!operation.TryGetProperty("requestBody", out var requestBody)) return null;
        var content = Resolve(requestBody).GetProperty("content");
        return content.TryGetProperty("application/json", out var json) ? json.GetProperty("schema") : content.EnumerateObject().First().Value.GetProperty("schema");
    }

    private JsonElement Resolve(JsonElement schema)
    {
        while (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("$ref", out var reference))
        {
            var target = _spec;
            foreach (var part in reference.GetString()!.TrimStart('#', '/').Split('/'))
                target = target.GetProperty(part.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal));
            schema = target;
        }
        return schema;
    }

    /// <summary>Whether <paramref name="value"/> is of the spec's <paramref name="type"/> (an unknown type matches anything).</summary>
    internal static bool MatchesType(string? type, JsonNode value) => (type, value.GetValueKind()) switch
    {
        ("object", var kind) => kind == JsonValueKind.Object,
        ("array", var kind) => kind == JsonValueKind.Array,
        ("string", var kind) => kind == JsonValueKind.String,
        ("boolean", var kind) => kind is JsonValueKind.True or JsonValueKind.False,
        ("integer", var kind) => kind == JsonValueKind.Number && value.GetValue<JsonElement>().TryGetInt64(out _),
        ("number", var kind) => kind == JsonValueKind.Number,
        _ => true,
    };

    private void ValidateNode(string operation, JsonElement schema, JsonNode? value, string at, List<SpecViolation> violations)
    {
        schema = Resolve(schema);
        if (value is null)
        {
            if (!(schema.TryGetProperty("nullable", out var nullable) && nullable.ValueKind == JsonValueKind.True))
                violations.Add(new SpecViolation(operation, at, "null, but the schema is not nullable"));
            return;
        }

        var kind = value.GetValueKind();
        if (schema.TryGetProperty("type", out var typeElement) && typeElement.GetString() is { } type)
        {
            if (!MatchesType(type, value))
            {
                violations.Add(new SpecViolation(operation, at, $"schema describes {type}, {kind.ToString().ToLowerInvariant()} found"));
                return;
            }
        }

        if (schema.TryGetProperty("enum", out var allowed)
            && !allowed.EnumerateArray().Any(e => JsonNode.DeepEquals(JsonNode.Parse(e.GetRawText()), value)))
            violations.Add(new SpecViolation(operation, at, $"{value.ToJsonString()} is not one of {allowed.GetRawText()}"));

        if (value is JsonObject obj)
        {
            var properties = schema.TryGetProperty("properties", out var p) ? p : default;
            if (schema.TryGetProperty("required", out var required))
                foreach (var name in required.EnumerateArray().Select(r => r.GetString()!).Where(name => !obj.ContainsKey(name)))
                    violations.Add(new SpecViolation(operation, at, $"required property {name} is missing"));
            foreach (var (name, child) in obj)
            {
                var childAt = $"{at}.{name}";
                if (properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(name, out var childSchema))
                {
                    ValidateNode(operation, childSchema, child, childAt, violations);
                }
                else if (schema.TryGetProperty("additionalProperties", out var additional) && additional.ValueKind != JsonValueKind.False)
                {
                    if (additional.ValueKind == JsonValueKind.Object) ValidateNode(operation, additional, child, childAt, violations);
                }
                else if (Allowed(operation, childAt) is { } allowedSchema)
                {
                    ValidateNode(operation, allowedSchema, child, childAt, violations);
                }
                else
                {
                    violations.Add(new SpecViolation(operation, childAt, "property not in the spec's request schema (additionalProperties: false)"));
                }
            }
        }

        if (value is JsonArray array && schema.TryGetProperty("items", out var items))
            for (var i = 0; i < array.Count; i++) ValidateNode(operation, items, array[i], $"{at}[{i}]", violations);
    }

    private static JsonElement? Allowed(string operation, string at)
    {
        var normalized = System.Text.RegularExpressions.Regex.Replace(at, @"\[\d+\]", "[]");
        foreach (var entry in ChangelogAllowList)
            if (entry.Operation == operation && entry.JsonPath == normalized)
                return JsonDocument.Parse(entry.Schema).RootElement;
        return null;
    }

    private static bool IsParameter(string segment) => segment.StartsWith('{') && segment.EndsWith('}');
}
