using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Sandbox;

/// <summary>Checks the sandbox against Mailchimp's own OpenAPI spec (shared/mailchimp/marketing-openapi.json).</summary>
public sealed class SandboxConformanceTests
{
    private SandboxHost _host = null!;
    private JsonElement _spec;
    private JsonDocument _document = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _document = JsonDocument.Parse(await File.ReadAllBytesAsync(SpecPath()));
        _spec = _document.RootElement;
        _host = await SandboxHost.StartAsync();
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _host.DisposeAsync();
        _document.Dispose();
    }

    private static string SpecPath()
    {
        var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Hub.sln"))) dir = dir.Parent;
        var path = dir is null ? null : Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "mailchimp", "marketing-openapi.json"));
        if (path is null || !File.Exists(path))
            Assert.Fail($"Mailchimp OpenAPI spec not found: expected ../shared/mailchimp/marketing-openapi.json beside the folder holding Hub.sln (looked for {path ?? "Hub.sln above " + TestContext.CurrentContext.TestDirectory}).");
        return path!;
    }

    private JsonElement Operation(string path, string method) => _spec.GetProperty("paths").GetProperty(path).GetProperty(method);

    private JsonElement ResponseSchema(string path, string method, string status = "200") =>
        Resolve(Resolve(Operation(path, method).GetProperty("responses").GetProperty(status)).GetProperty("content").EnumerateObject().First().Value.GetProperty("schema"));

    private JsonElement RequestSchema(string path, string method) =>
        Resolve(Resolve(Operation(path, method).GetProperty("requestBody")).GetProperty("content").GetProperty("application/json").GetProperty("schema"));

    private JsonElement Resolve(JsonElement schema)
    {
        while (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("$ref", out var reference))
        {
            var target = _spec;
            foreach (var part in reference.GetString()!.TrimStart('#', '/').Split('/')) target = target.GetProperty(part.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal));
            schema = target;
        }
        return schema;
    }

    /// <summary>The OpenAPI 3.0 subset Mailchimp's spec uses: type, properties, required, enum, items, nullable, additionalProperties.</summary>
    private void Validate(JsonElement schema, JsonNode? value, string at, List<string> problems)
    {
        schema = Resolve(schema);
        if (value is null)
        {
            if (!(schema.TryGetProperty("nullable", out var nullable) && nullable.GetBoolean())) problems.Add($"{at}: null but not nullable");
            return;
        }
        var kind = value.GetValueKind();
        if (schema.TryGetProperty("type", out var typeElement))
        {
            var type = typeElement.GetString();
            if (!SpecRequestValidator.MatchesType(type, value))
            {
                problems.Add($"{at}: expected {type}, got {kind}");
                return;
            }
        }
        if (schema.TryGetProperty("enum", out var allowed) && !allowed.EnumerateArray().Any(e => JsonNode.DeepEquals(JsonNode.Parse(e.GetRawText()), value)))
            problems.Add($"{at}: {value.ToJsonString()} not in enum");
        if (value is JsonObject obj)
        {
            var properties = schema.TryGetProperty("properties", out var p) ? p : default;
            if (schema.TryGetProperty("required", out var required))
                foreach (var name in required.EnumerateArray().Select(r => r.GetString()!))
                    if (!obj.ContainsKey(name)) problems.Add($"{at}: missing required {name}");
            foreach (var (name, child) in obj)
            {
                if (properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(name, out var childSchema)) Validate(childSchema, child, $"{at}.{name}", problems);
                else if (schema.TryGetProperty("additionalProperties", out var additional))
                {
                    if (additional.ValueKind == JsonValueKind.False) problems.Add($"{at}: unexpected property {name}");
                    else if (additional.ValueKind == JsonValueKind.Object) Validate(additional, child, $"{at}.{name}", problems);
                }
            }
        }
        if (value is JsonArray array && schema.TryGetProperty("items", out var items))
            for (var i = 0; i < array.Count; i++) Validate(items, array[i], $"{at}[{i}]", problems);
    }

    private async Task AssertConformsAsync(HttpResponseMessage response, string path, string method, string status = "200", int expectedStatus = 200)
    {
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync());
        Assert.That((int)response.StatusCode, Is.EqualTo(expectedStatus), body?.ToJsonString());
        var problems = new List<string>();
        Validate(ResponseSchema(path, method, status), body, $"{method.ToUpperInvariant()} {path}", problems);
        Assert.That(problems, Is.Empty);
    }

    [Test]
    public async Task Responses_match_the_spec_response_schemas()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        var hash = SandboxTestKit.Hash("conform@shop.test");
        await AssertConformsAsync(await client.GetAsync("ping"), "/ping", "get");
        await AssertConformsAsync(await client.GetAsync(""), "/", "get");
        await AssertConformsAsync(await client.PostAsJsonAsync("lists", SandboxHost.ValidListBody("Second")), "/lists", "post");
        await AssertConformsAsync(await client.GetAsync("lists"), "/lists", "get");
        await AssertConformsAsync(await client.GetAsync($"lists/{listId}"), "/lists/{list_id}", "get");
        await AssertConformsAsync(await client.PatchAsJsonAsync($"lists/{listId}", new { name = "Patched" }), "/lists/{list_id}", "patch");
        await AssertConformsAsync(await client.PostAsJsonAsync($"lists/{listId}/members", new { email_address = "post@shop.test", status = "subscribed", tags = new[] { "a" }, merge_fields = new { FNAME = "P" } }),
            "/lists/{list_id}/members", "post");
        await AssertConformsAsync(await client.PutAsJsonAsync($"lists/{listId}/members/{hash}", new { email_address = "conform@shop.test", status_if_new = "subscribed" }),
            "/lists/{list_id}/members/{subscriber_hash}", "put");
        await AssertConformsAsync(await client.PatchAsJsonAsync($"lists/{listId}/members/{hash}", new { merge_fields = new { LNAME = "Q" } }),
            "/lists/{list_id}/members/{subscriber_hash}", "patch");
        await AssertConformsAsync(await client.GetAsync($"lists/{listId}/members/{hash}"), "/lists/{list_id}/members/{subscriber_hash}", "get");
        await AssertConformsAsync(await client.GetAsync($"lists/{listId}/members"), "/lists/{list_id}/members", "get");
        await AssertConformsAsync(await client.PostAsJsonAsync($"lists/{listId}", new
        {
            members = new object[] { SandboxTestKit.Member("conform@shop.test"), SandboxTestKit.Member("batch@shop.test"), SandboxTestKit.Member("fake@shop.test") },
            update_existing = true,
        }), "/lists/{list_id}", "post");
        await AssertConformsAsync(await client.GetAsync($"lists/{listId}/members/{hash}/tags"), "/lists/{list_id}/members/{subscriber_hash}/tags", "get");
        await AssertConformsAsync(await client.GetAsync($"lists/{listId}/merge-fields"), "/lists/{list_id}/merge-fields", "get");
        await AssertConformsAsync(await client.PostAsJsonAsync($"lists/{listId}/merge-fields", new { name = "Birthday", type = "birthday" }), "/lists/{list_id}/merge-fields", "post");
        var mergeId = (await (await client.GetAsync($"lists/{listId}/merge-fields")).JsonAsync())["merge_fields"]![0]!["merge_id"]!.GetValue<int>();
        await AssertConformsAsync(await client.GetAsync($"lists/{listId}/merge-fields/{mergeId}"), "/lists/{list_id}/merge-fields/{merge_id}", "get");
        await AssertConformsAsync(await client.PatchAsJsonAsync($"lists/{listId}/merge-fields/{mergeId}", new { name = "Given name" }),
            "/lists/{list_id}/merge-fields/{merge_id}", "patch");

        // List webhooks; the URL is the sandbox's own (it answers the validation GET), and no event reaches it (no user source change).
        var hookUrl = new Uri(_host.BaseUrl, "_control/accounts").ToString();
        await AssertConformsAsync(await client.PostAsJsonAsync($"lists/{listId}/webhooks", new { url = hookUrl, events = new { unsubscribe = true, campaign = false }, sources = new { user = true } }),
            "/lists/{list_id}/webhooks", "post");
        var webhookId = (await _host.GetWebhooksAsync(listId)).Single().Id;
        await AssertConformsAsync(await client.GetAsync($"lists/{listId}/webhooks"), "/lists/{list_id}/webhooks", "get");
        await AssertConformsAsync(await client.GetAsync($"lists/{listId}/webhooks/{webhookId}"), "/lists/{list_id}/webhooks/{webhook_id}", "get");
        await AssertConformsAsync(await client.PatchAsJsonAsync($"lists/{listId}/webhooks/{webhookId}", new { events = new { cleaned = true } }), "/lists/{list_id}/webhooks/{webhook_id}", "patch");
        using var deleted = await client.DeleteAsync($"lists/{listId}/webhooks/{webhookId}");
        Assert.That(deleted.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
    }

    [Test]
    public void Schema_validator_flags_wrong_types_missing_required_and_enum_values()
    {
        var problems = new List<string>();
        Validate(ResponseSchema("/lists/{list_id}/members/{subscriber_hash}", "get"), JsonNode.Parse("""{"status":"gone","tags_count":"1","stats":{"avg_open_rate":"x"}}"""), "member", problems);
        Validate(ResponseSchema("/lists", "get"), JsonNode.Parse("""{"total_items":1}"""), "lists", problems);
        Assert.That(problems, Has.Count.EqualTo(4));
    }

    [Test]
    public async Task Error_responses_match_the_spec_problem_schema()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        await AssertConformsAsync(await client.GetAsync($"lists/{listId}/members/{SandboxTestKit.Hash("none@shop.test")}"), "/lists/{list_id}/members/{subscriber_hash}", "get", "default", 404);
        await AssertConformsAsync(await client.PostAsJsonAsync("lists", new { name = "x" }), "/lists", "post", "default", 400);
        using var wrongKey = _host.Marketing(new SandboxCredential("x", "us21", "0123456789abcdef0123456789abcdef-us21"));
        await AssertConformsAsync(await wrongKey.GetAsync("ping"), "/ping", "get", "default", 401);
        await AssertConformsAsync(await client.GetAsync($"lists/{listId}/members/{SandboxTestKit.Hash("none@shop.test")}/tags"), "/lists/{list_id}/members/{subscriber_hash}/tags", "get", "default", 404);
        await AssertConformsAsync(await client.PutAsJsonAsync($"lists/{listId}", new { name = "x" }), "/lists/{list_id}", "get", "default", 405);
        await AssertConformsAsync(await client.GetAsync($"lists/{listId}/webhooks/0123456789"), "/lists/{list_id}/webhooks/{webhook_id}", "get", "default", 404);
        await AssertConformsAsync(await client.GetAsync($"lists/{listId}/merge-fields/999"), "/lists/{list_id}/merge-fields/{merge_id}", "get", "default", 404);
        await AssertConformsAsync(await client.PutAsJsonAsync($"lists/{listId}/members/{SandboxTestKit.Hash("m@shop.test")}",
            new { email_address = "m@shop.test", status_if_new = "subscribed", merge_fields = new { NOPE = "x" } }), "/lists/{list_id}/members/{subscriber_hash}", "put", "default", 400);
        await AssertConformsAsync(await client.PostAsJsonAsync($"lists/{listId}/webhooks", new { url = "not a url" }), "/lists/{list_id}/webhooks", "post", "default", 400);
    }

    [Test]
    public void The_spec_documents_the_list_webhook_bodies_the_sandbox_takes()
    {
        var validator = SpecRequestValidator.Load();
        var full = JsonNode.Parse("""
            {"url":"https://hub.example/mailchimp/events/abc",
             "events":{"subscribe":true,"unsubscribe":true,"profile":true,"cleaned":true,"upemail":true,"campaign":false},
             "sources":{"user":true,"admin":true,"api":false}}
            """);
        Assert.Multiple(() =>
        {
            Assert.That(validator.Validate("POST", "/lists/abc123/webhooks", [], full), Is.Empty);
            Assert.That(validator.Validate("PATCH", "/lists/abc123/webhooks/5d9a5e3f7b", [], JsonNode.Parse("""{"events":{"cleaned":false}}""")), Is.Empty);
            Assert.That(validator.Validate("PATCH", "/lists/abc123/webhooks/5d9a5e3f7b", [], JsonNode.Parse("""{"events":{"bounce":true}}""")).Single().JsonPath,
                Is.EqualTo("$.events.bounce"));
            Assert.That(validator.Validate("GET", "/lists/abc123/webhooks", [], null), Is.Empty);
            Assert.That(validator.Validate("DELETE", "/lists/abc123/webhooks/5d9a5e3f7b", [], null), Is.Empty);
        });
    }

    private static IEnumerable<TestCaseData> RequiredFieldCases()
    {
        yield return new TestCaseData("/lists", "post").SetName("Create_list_rejects_a_body_missing_each_spec_required_field");
        yield return new TestCaseData("/lists/{list_id}/members", "post").SetName("Add_member_rejects_a_body_missing_each_spec_required_field");
        yield return new TestCaseData("/lists/{list_id}/members/{subscriber_hash}", "put").SetName("Put_member_rejects_a_body_missing_each_spec_required_field");
        yield return new TestCaseData("/lists/{list_id}/merge-fields", "post").SetName("Add_merge_field_rejects_a_body_missing_each_spec_required_field");
    }

    private static IEnumerable<TestCaseData> EnumCases()
    {
        yield return new TestCaseData("/lists/{list_id}/members", "post").SetName("Add_member_rejects_values_outside_each_spec_enum");
        yield return new TestCaseData("/lists/{list_id}/members/{subscriber_hash}", "put").SetName("Put_member_rejects_values_outside_each_spec_enum");
        yield return new TestCaseData("/lists/{list_id}/members/{subscriber_hash}", "patch").SetName("Patch_member_rejects_values_outside_each_spec_enum");
        yield return new TestCaseData("/lists/{list_id}/merge-fields", "post").SetName("Add_merge_field_rejects_values_outside_each_spec_enum");
    }

    private static JsonObject ValidBody(string path, string method) => (path, method) switch
    {
        ("/lists", "post") => JsonSerializer.SerializeToNode(SandboxHost.ValidListBody())!.AsObject(),
        ("/lists/{list_id}/members", "post") => new JsonObject { ["email_address"] = "req@shop.test", ["status"] = "subscribed" },
        ("/lists/{list_id}/members/{subscriber_hash}", _) => new JsonObject { ["email_address"] = "req@shop.test", ["status_if_new"] = "subscribed", ["status"] = "subscribed" },
        ("/lists/{list_id}/merge-fields", "post") => new JsonObject { ["name"] = "Extra", ["type"] = "text" },
        _ => throw new ArgumentOutOfRangeException(nameof(path)),
    };

    private async Task<HttpResponseMessage> SendAsync(HttpClient client, string listId, string path, string method, JsonObject body)
    {
        var url = path.TrimStart('/').Replace("{list_id}", listId, StringComparison.Ordinal).Replace("{subscriber_hash}", SandboxTestKit.Hash("req@shop.test"), StringComparison.Ordinal);
        return await client.SendJsonAsync(new HttpMethod(method.ToUpperInvariant()), url, body);
    }

    /// <summary>Every (dotted path, required field) pair declared in the request schema, nested objects included.</summary>
    private IEnumerable<string[]> RequiredPaths(JsonElement schema, string[] prefix)
    {
        schema = Resolve(schema);
        if (schema.TryGetProperty("required", out var required))
            foreach (var name in required.EnumerateArray()) yield return [.. prefix, name.GetString()!];
        if (schema.TryGetProperty("properties", out var properties))
            foreach (var property in properties.EnumerateObject())
                if (Resolve(property.Value).TryGetProperty("required", out _))
                    foreach (var nested in RequiredPaths(property.Value, [.. prefix, property.Name])) yield return nested;
    }

    [TestCaseSource(nameof(RequiredFieldCases))]
    public async Task Request_validation_follows_spec_required_fields(string path, string method)
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        var paths = RequiredPaths(RequestSchema(path, method), []).ToList();
        Assert.That(paths, Is.Not.Empty);
        foreach (var missing in paths)
        {
            var body = ValidBody(path, method);
            var parent = missing[..^1].Aggregate((JsonNode)body, (node, key) => node[key]!).AsObject();
            parent.Remove(missing[^1]);
            using var response = await SendAsync(client, listId, path, method, body);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), $"{method} {path} without {string.Join('.', missing)}");
        }
    }

    [TestCaseSource(nameof(EnumCases))]
    public async Task Request_validation_follows_spec_enums(string path, string method)
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        var properties = RequestSchema(path, method).GetProperty("properties").EnumerateObject()
            .Where(p => Resolve(p.Value).TryGetProperty("enum", out _)).Select(p => p.Name).ToList();
        Assert.That(properties, Is.Not.Empty);
        foreach (var property in properties)
        {
            var body = ValidBody(path, method);
            body[property] = "not-in-the-enum";
            using var response = await SendAsync(client, listId, path, method, body);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), $"{method} {path} with {property} out of enum");
        }
    }
}
