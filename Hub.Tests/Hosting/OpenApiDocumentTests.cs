using System.Net.Http.Json;
using System.Text.Json;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Hosting;

/// <summary>
/// The OpenAPI document a host developer works from, walked whole: any gap (an operation, parameter or property without a
/// description, a body or 2xx answer without an example, an error without the problem schema, an error status the route can
/// give but does not list, a long schema name, a missing probe) fails the test, which names every gap at once.
/// </summary>
[TestFixture]
public sealed class OpenApiDocumentTests
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch"];

    private JsonElement _document;

    [OneTimeSetUp]
    public async Task FetchDocument()
    {
        await using var hub = await HubHost.StartAsync();
        using var client = hub.Client();
        _document = await client.GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");
    }

    [Test]
    public void The_document_has_no_gaps()
    {
        var gaps = new List<string>();
        var schemas = _document.GetProperty("components").GetProperty("schemas");
        foreach (var schema in schemas.EnumerateObject())
        {
            if (schema.Name.Contains('.', StringComparison.Ordinal) || schema.Name.Contains('`', StringComparison.Ordinal) || schema.Name.Length > 40
                || schema.Name.StartsWith("System", StringComparison.Ordinal) || schema.Name.StartsWith("Microsoft", StringComparison.Ordinal)
                || schema.Name.StartsWith("JsonNode", StringComparison.Ordinal) || schema.Name.StartsWith("KeyValuePair", StringComparison.Ordinal))
            {
                gaps.Add($"schema name '{schema.Name}' is not a short contract name");
            }

            PropertyGaps(schema.Value, schema.Name, gaps);
        }

        foreach (var path in _document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject().Where(operation => Methods.Contains(operation.Name)))
            {
                OperationGaps(path.Name, operation.Name, operation.Value, gaps);
            }
        }

        foreach (var probe in new[] { "/health/live", "/health/ready" })
        {
            if (!_document.GetProperty("paths").TryGetProperty(probe, out var item) || !item.TryGetProperty("get", out _))
            {
                gaps.Add($"GET {probe} is not documented");
            }
        }

        var introduction = _document.GetProperty("info").GetProperty("description").GetString() ?? "";
        if (introduction.Contains("<code>", StringComparison.Ordinal) || introduction.Contains(":<", StringComparison.Ordinal))
        {
            gaps.Add("info.description has an angle-bracket placeholder that renders as an HTML tag (\"(urn:hub:problem:)\")");
        }

        Assert.That(gaps, Is.Empty, $"{gaps.Count} gaps in the OpenAPI document:\n" + string.Join("\n", gaps));
    }

    [TestCase("ListResponse", "mode", "audience,tag")]
    [TestCase("ListResponse", "removalPolicy", "archive,unsubscribe,none")]
    [TestCase("ListResponse", "defaultStatus", "subscribed,pending")]
    [TestCase("LinkListRequest", "mode", "audience,tag")]
    [TestCase("JobResponse", "state", "queued,running,succeeded,partially_succeeded,failed,cancelled")]
    [TestCase("JobResponse", "kind", "sync,erasure")]
    [TestCase("ConnectionResponse", "state", "not_configured,awaiting_consent,connected,reauthorization_required,disabled")]
    [TestCase("ConnectionResponse", "mode", "oauth,api_key")]
    [TestCase("WebhookDeliveryResponse", "status", "pending,delivered,failed")]
    [TestCase("BatchMembersRequest", "removeMode", "archive,unsubscribe,permanent")]
    public void Fixed_values_are_enums(string schema, string property, string values)
    {
        var member = _document.GetProperty("components").GetProperty("schemas").GetProperty(schema).GetProperty("properties").GetProperty(property);
        Assert.That(member.TryGetProperty("enum", out var listed) ? listed.EnumerateArray().Select(value => value.GetString()).Where(value => value is not null) : [],
            Is.EqualTo(values.Split(',')));
    }

    [Test]
    public void The_member_removal_mode_is_an_enum()
    {
        var mode = _document.GetProperty("paths").GetProperty("/api/v1/lists/{key}/members/{email}").GetProperty("delete").GetProperty("parameters")
            .EnumerateArray().Single(parameter => parameter.GetProperty("name").GetString() == "mode");
        Assert.That(mode.GetProperty("schema").GetProperty("enum").EnumerateArray().Select(value => value.GetString()), Is.EqualTo(new[] { "archive", "unsubscribe", "permanent" }));
    }

    private static void PropertyGaps(JsonElement schema, string where, List<string> gaps)
    {
        if (!schema.TryGetProperty("properties", out var properties))
        {
            return;
        }

        foreach (var property in properties.EnumerateObject())
        {
            if (!HasText(property.Value, "description"))
            {
                gaps.Add($"property {where}.{property.Name} has no description");
            }

            PropertyGaps(property.Value, $"{where}.{property.Name}", gaps);
        }
    }

    private static void OperationGaps(string path, string method, JsonElement operation, List<string> gaps)
    {
        var name = $"{method.ToUpperInvariant()} {path}";
        if (!HasText(operation, "summary"))
        {
            gaps.Add($"{name} has no summary");
        }

        if (!HasText(operation, "description"))
        {
            gaps.Add($"{name} has no description");
        }

        foreach (var parameter in operation.TryGetProperty("parameters", out var parameters) ? parameters.EnumerateArray() : default)
        {
            if (!HasText(parameter, "description"))
            {
                gaps.Add($"{name}: parameter {parameter.GetProperty("name").GetString()} has no description");
            }
        }

        var hasBody = operation.TryGetProperty("requestBody", out var body);
        if (hasBody)
        {
            foreach (var media in body.GetProperty("content").EnumerateObject().Where(media => !HasExample(media.Value)))
            {
                gaps.Add($"{name}: request body {media.Name} has no example");
            }
        }

        var responses = operation.GetProperty("responses");
        foreach (var response in responses.EnumerateObject())
        {
            var status = int.Parse(response.Name, System.Globalization.CultureInfo.InvariantCulture);
            var content = response.Value.TryGetProperty("content", out var found) ? found : default;
            if (status is >= 200 and < 300 && content.ValueKind == JsonValueKind.Object)
            {
                foreach (var media in content.EnumerateObject().Where(media => !HasExample(media.Value)))
                {
                    gaps.Add($"{name}: {status} {media.Name} has no example");
                }
            }

            if (status >= 400 && !IsProblem(content) && !(path.StartsWith("/oauth2/", StringComparison.Ordinal) && HasMedia(content, "text/html"))
                && !(path.StartsWith("/health/", StringComparison.Ordinal) && HasMedia(content, "text/plain")))
            {
                gaps.Add($"{name}: {status} is not application/problem+json with the Problem or ValidationProblem schema");
            }
        }

        var secured = operation.TryGetProperty("security", out var security) ? security.EnumerateArray().SelectMany(requirement => requirement.EnumerateObject()).Select(scheme => scheme.Name).ToList() : [];
        var expected = new List<int>();
        if (secured.Count > 0)
        {
            expected.Add(401);
        }

        if (secured.Contains("TenantKey"))
        {
            expected.AddRange([403, 429]);
        }

        if (hasBody)
        {
            expected.AddRange([400, 413]);
        }

        if (path.StartsWith("/api/", StringComparison.Ordinal) || path.StartsWith("/mailchimp/", StringComparison.Ordinal))
        {
            expected.Add(503);
        }

        if (path.Contains("{key}", StringComparison.Ordinal) || path.Contains("Id}", StringComparison.Ordinal))
        {
            expected.Add(404);
        }

        foreach (var status in expected.Distinct().Where(status => !responses.TryGetProperty(status.ToString(System.Globalization.CultureInfo.InvariantCulture), out _)))
        {
            gaps.Add($"{name} does not list {status}");
        }
    }

    private static bool HasText(JsonElement element, string property) =>
        element.TryGetProperty(property, out var text) && !string.IsNullOrWhiteSpace(text.GetString());

    private static bool HasExample(JsonElement media) => media.TryGetProperty("example", out _) || media.TryGetProperty("examples", out _);

    private static bool HasMedia(JsonElement content, string mediaType) =>
        content.ValueKind == JsonValueKind.Object && content.TryGetProperty(mediaType, out _);

    private static bool IsProblem(JsonElement content) =>
        content.ValueKind == JsonValueKind.Object && content.TryGetProperty("application/problem+json", out var media)
        && media.TryGetProperty("schema", out var schema) && schema.TryGetProperty("$ref", out var reference)
        && reference.GetString() is "#/components/schemas/Problem" or "#/components/schemas/ValidationProblem";
}
