using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hub.Core.Mailchimp;
using Hub.Sandbox;
using Hub.Tests.Infrastructure;
using Hub.Tests.Mailchimp;
using Hub.Tests.Sync;

namespace Hub.Tests.Sandbox;

/// <summary>
/// Runs every flow that makes Hub call Mailchimp against a strict sandbox that captures each request, then checks every
/// captured request against Mailchimp's OpenAPI spec (<see cref="SpecRequestValidator"/>). The passthrough is left out:
/// it forwards the caller's own requests.
/// </summary>
[NonParallelizable]
public sealed class SpecConformanceTests
{
    /// <summary>Every kind of request <see cref="MailchimpClient"/> sends (passthrough excluded), by its method.</summary>
    private static readonly (string ClientMethod, string Method, string Route)[] ClientOperations =
    [
        (nameof(MailchimpClient.PingAsync), "GET", "/ping"),
        (nameof(MailchimpClient.GetAccountAsync), "GET", "/"),
        (nameof(MailchimpClient.GetListsAsync), "GET", "/lists"),
        (nameof(MailchimpClient.GetListAsync), "GET", "/lists/{list_id}"),
        (nameof(MailchimpClient.CreateListAsync), "POST", "/lists"),
        (nameof(MailchimpClient.UpdateListAsync), "PATCH", "/lists/{list_id}"),
        (nameof(MailchimpClient.DeleteListAsync), "DELETE", "/lists/{list_id}"),
        (nameof(MailchimpClient.GetMemberAsync), "GET", "/lists/{list_id}/members/{subscriber_hash}"),
        (nameof(MailchimpClient.GetMembersAsync), "GET", "/lists/{list_id}/members"),
        (nameof(MailchimpClient.GetMemberStatusesAsync), "GET", "/lists/{list_id}/members"),
        (nameof(MailchimpClient.UpsertMemberAsync), "PUT", "/lists/{list_id}/members/{subscriber_hash}"),
        (nameof(MailchimpClient.CreateMemberAsync), "POST", "/lists/{list_id}/members"),
        (nameof(MailchimpClient.ArchiveMemberAsync), "DELETE", "/lists/{list_id}/members/{subscriber_hash}"),
        (nameof(MailchimpClient.DeleteMemberPermanentlyAsync), "POST", "/lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent"),
        (nameof(MailchimpClient.UpdateMemberTagsAsync), "POST", "/lists/{list_id}/members/{subscriber_hash}/tags"),
        (nameof(MailchimpClient.BatchSubscribeAsync), "POST", "/lists/{list_id}"),
        (nameof(MailchimpClient.GetMergeFieldsAsync), "GET", "/lists/{list_id}/merge-fields"),
        (nameof(MailchimpClient.CreateMergeFieldAsync), "POST", "/lists/{list_id}/merge-fields"),
        (nameof(MailchimpClient.UpdateMergeFieldAsync), "PATCH", "/lists/{list_id}/merge-fields/{merge_id}"),
        (nameof(MailchimpClient.ChangeMemberEmailAsync), "PATCH", "/lists/{list_id}/members/{subscriber_hash}"),
        (nameof(MailchimpClient.CreateListWebhookAsync), "POST", "/lists/{list_id}/webhooks"),
        (nameof(MailchimpClient.GetListWebhookAsync), "GET", "/lists/{list_id}/webhooks/{webhook_id}"),
        (nameof(MailchimpClient.DeleteListWebhookAsync), "DELETE", "/lists/{list_id}/webhooks/{webhook_id}"),
    ];

    private SpecRequestValidator _validator = null!;

    [OneTimeSetUp]
    public void LoadSpec() => _validator = SpecRequestValidator.Load();

    [Test]
    public void The_operation_list_covers_every_public_MailchimpClient_call_but_the_passthrough()
    {
        var methods = typeof(MailchimpClient).GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.DeclaredOnly)
            .Where(m => m.Name.EndsWith("Async", StringComparison.Ordinal) && m.Name != nameof(MailchimpClient.SendAsync))
            .Select(m => m.Name).ToHashSet();
        Assert.That(methods, Is.EquivalentTo(ClientOperations.Select(o => o.ClientMethod).ToHashSet()),
            "A MailchimpClient method was added or removed: add its route to ClientOperations and a flow that exercises it.");
    }

    [Test]
    public async Task Every_request_Hub_sends_to_Mailchimp_matches_the_spec()
    {
        // List webhooks on (every flow's) managed audiences too.
        await using var env = await SyncEnvironment.StartAsync(new() { ["Hub:Events:Enabled"] = "true", ["Hub:Events:PollInterval"] = "00:00:00.100" }, options =>
        {
            options.StrictRequestBodies = true;
            options.CaptureRequests = true;
        });
        var flowProblems = new List<string>();
        await RunEveryFlowAsync(env, flowProblems);

        var captured = env.Sandbox.State.GetCapturedRequests();
        var violations = new List<SpecViolation>();
        foreach (var request in captured)
        {
            var found = _validator.Validate(request.Method, request.Path, request.Query, request.Body);
            if (request.BodyText is not null) found.Add(new SpecViolation($"{request.Method} {request.Route}", "$", "the body is not JSON"));
            if (_validator.MatchPath(request.Path) is { } template && template != request.Route)
                found.Add(new SpecViolation($"{request.Method} {request.Route}", "(path)", $"the sandbox matched {request.Route}, the spec {template}"));
            violations.AddRange(found);
        }

        var distinct = violations.GroupBy(v => v.ToString()).Select(g => $"{g.Key} (x{g.Count()})").ToList();
        var seen = captured.Select(r => (r.Method, r.Route)).ToHashSet();
        var missing = ClientOperations.Where(o => !seen.Contains((o.Method, o.Route))).Select(o => $"{o.ClientMethod} ({o.Method} {o.Route})").ToList();
        TestContext.Out.WriteLine($"{captured.Count} requests captured, {seen.Count} kinds; {distinct.Count} distinct violations.");
        foreach (var line in distinct) TestContext.Out.WriteLine("VIOLATION " + line);
        foreach (var line in flowProblems) TestContext.Out.WriteLine("FLOW " + line);

        Assert.Multiple(() =>
        {
            Assert.That(distinct, Is.Empty, "Requests Hub sends that Mailchimp's spec (3.0.55, read strictly) does not document:\n" + string.Join("\n", distinct));
            Assert.That(flowProblems, Is.Empty, "Flows that did not go as expected against the strict sandbox:\n" + string.Join("\n", flowProblems));
            Assert.That(missing, Is.Empty, "MailchimpClient calls no flow exercised:\n" + string.Join("\n", missing));
        });
    }

    [Test]
    public void Validator_flags_status_if_new_in_a_batch_member_and_accepts_the_changelog_tags()
    {
        var body = JsonNode.Parse("""
            {"members":[{"email_address":"a@shop.test","status":"subscribed","tags":["vip"]},
                        {"email_address":"b@shop.test","status":"subscribed","status_if_new":"subscribed"}],
             "update_existing":false,"sync_tags":false}
            """);
        var violations = _validator.Validate("POST", "/lists/abc123", ["fields", "skip_merge_validation"], body);
        Assert.That(violations.Select(v => (v.Operation, v.JsonPath)), Is.EqualTo(new[] { ("POST /lists/{list_id}", "$.members[1].status_if_new") }), string.Join("\n", violations));
    }

    [Test]
    public void Validator_flags_unknown_paths_methods_query_parameters_types_and_enums()
    {
        Assert.Multiple(() =>
        {
            Assert.That(_validator.Validate("GET", "/lists/abc/nothing-here", [], null).Single().JsonPath, Is.EqualTo("(path)"));
            Assert.That(_validator.Validate("PUT", "/ping", [], null).Single().JsonPath, Is.EqualTo("(method)"));
            Assert.That(_validator.Validate("GET", "/lists/abc/members", ["count", "fields", "sort"], null).Single().JsonPath, Is.EqualTo("?sort"));
            Assert.That(_validator.Validate("PUT", "/lists/abc/members/0123", [],
                JsonNode.Parse("""{"email_address":"a@shop.test","status_if_new":"gone","vip":"yes","tags":["x"]}""")).Select(v => v.JsonPath),
                Is.EquivalentTo(new[] { "$.status_if_new", "$.vip", "$.tags" }));
            Assert.That(_validator.Validate("POST", "/lists/abc/members/0123/tags", [],
                JsonNode.Parse("""{"tags":[{"name":"a","status":"active","colour":"red"}],"is_syncing":true}""")).Single().JsonPath,
                Is.EqualTo("$.tags[0].colour"));
            Assert.That(_validator.Validate("PUT", "/lists/abc/members/0123", [],
                JsonNode.Parse("""{"email_address":"a@shop.test","status_if_new":"subscribed","merge_fields":{"ANY":"thing"}}""")), Is.Empty);
        });
    }

    // ---- The flows ----

    private static async Task RunEveryFlowAsync(SyncEnvironment env, List<string> problems)
    {
        var (tenant, account) = await env.ConnectedTenantAsync(); // ping and GET / (the account)
        using var client = env.Hub.Client(tenant.ApiKey);

        async Task ExpectAsync(string what, Task<HttpResponseMessage> call, params HttpStatusCode[] expected)
        {
            using var response = await call;
            if (!expected.Contains(response.StatusCode))
                problems.Add($"{what}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        async Task SyncAsync(string key, IEnumerable<object> members)
        {
            var job = await env.SyncAsync(tenant, key, members);
            if (job.GetProperty("state").GetString() != "succeeded" || job.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0)
                problems.Add($"sync of {key}: {job}");
        }

        // Audiences: create, list, read, update, delete.
        string? audience = null;
        using (var created = await client.PostAsJsonAsync("/api/v1/audiences", new { name = "Conformance audience" }))
        {
            var text = await created.Content.ReadAsStringAsync();
            if (created.StatusCode == HttpStatusCode.Created) audience = JsonDocument.Parse(text).RootElement.GetProperty("id").GetString();
            else problems.Add($"create audience: {(int)created.StatusCode} {text}");
        }
        await ExpectAsync("list audiences", client.GetAsync("/api/v1/audiences"), HttpStatusCode.OK);
        if (audience is not null)
        {
            await ExpectAsync("get audience", client.GetAsync($"/api/v1/audiences/{audience}"), HttpStatusCode.OK);
            await ExpectAsync("update audience", client.PatchAsJsonAsync($"/api/v1/audiences/{audience}", new { name = "Renamed", permissionReminder = "You asked for it." }), HttpStatusCode.OK);
            await ExpectAsync("delete audience", client.DeleteAsync($"/api/v1/audiences/{audience}?confirm={audience}"), HttpStatusCode.NoContent);
        }

        // Audience mode: a full sync with new members, then one with changed, new and removed members.
        var audienceId = await env.LinkNewAudienceAsync(tenant, "shop");
        await SyncAsync("shop", [
            SyncEnvironment.Member("ann@shop.test", "Ann", ["vip"]), SyncEnvironment.Member("bob@shop.test", "Bob"),
            SyncEnvironment.Member("cy@shop.test"), new { email = "dee@shop.test", status = "pending", language = "fr", vip = true }]);
        await SyncAsync("shop", [
            SyncEnvironment.Member("ann@shop.test", "Annie", ["vip", "gold"]), SyncEnvironment.Member("cy@shop.test", "Cy"),
            SyncEnvironment.Member("eve@shop.test", "Eve", ["new"])]);
        // Contacts that were in the audience before Hub (batch subscribe answers ERROR_CONTACT_EXISTS): the subscribed one
        // goes out in a batch with update_existing after a read of the audience's statuses, the pending one by PUT and tags.
        using (var direct = env.Sandbox.Marketing(account))
        {
            using (await direct.PutAsJsonAsync($"lists/{audienceId}/members/{SandboxTestKit.Hash("old@shop.test")}", new { email_address = "old@shop.test", status_if_new = "subscribed" }))
            using (await direct.PutAsJsonAsync($"lists/{audienceId}/members/{SandboxTestKit.Hash("pen@shop.test")}", new { email_address = "pen@shop.test", status_if_new = "pending" }))
            {
            }
        }
        await SyncAsync("shop", [
            SyncEnvironment.Member("ann@shop.test", "Annie", ["vip", "gold"]), SyncEnvironment.Member("cy@shop.test", "Cy"),
            SyncEnvironment.Member("eve@shop.test", "Eve", ["new"]), SyncEnvironment.Member("old@shop.test", "Old", ["found"]),
            SyncEnvironment.Member("pen@shop.test", "Pen", ["found"])]);

        // Removal by unsubscribing.
        await env.LinkNewAudienceAsync(tenant, "leavers", removalPolicy: "unsubscribe");
        await SyncAsync("leavers", [SyncEnvironment.Member("a@shop.test"), SyncEnvironment.Member("b@shop.test")]);
        await SyncAsync("leavers", [SyncEnvironment.Member("a@shop.test")]);

        // Tag mode: a list that is a tag in an audience Hub created.
        string clubAudience;
        using (var created = await client.PostAsJsonAsync("/api/v1/audiences", new { name = "Club audience" }))
            clubAudience = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        await env.LinkTagAsync(tenant, "club", clubAudience, "club");
        await SyncAsync("club", [SyncEnvironment.Member("ann@shop.test"), SyncEnvironment.Member("zed@shop.test", "Zed"), SyncEnvironment.Member("yan@shop.test")]);
        await SyncAsync("club", [SyncEnvironment.Member("ann@shop.test"), SyncEnvironment.Member("xia@shop.test")]);

        // Inline batch: adds (new and existing) and a removal.
        await ExpectAsync("inline batch", client.PostAsJsonAsync("/api/v1/lists/shop/members/batch", new
        {
            add = new object[]
            {
                new { email = "inline@shop.test", mergeFields = new Dictionary<string, string> { ["FNAME"] = "In" }, tags = new[] { "inline" } },
                new { email = "ann@shop.test", mergeFields = new Dictionary<string, string> { ["LNAME"] = "Smith" } },
            },
            remove = new[] { "cy@shop.test" },
        }), HttpStatusCode.OK, HttpStatusCode.Accepted);
        await ExpectAsync("inline batch in tag mode", client.PostAsJsonAsync("/api/v1/lists/club/members/batch", new
        {
            add = new object[] { new { email = "wu@shop.test" } },
            remove = new[] { "xia@shop.test" },
        }), HttpStatusCode.OK, HttpStatusCode.Accepted);

        // Single members: create (POST), upsert (PUT), read, page, and each removal mode.
        foreach (var email in new[] { "one@shop.test", "two@shop.test", "three@shop.test" })
            await ExpectAsync($"add {email}", client.PostAsJsonAsync("/api/v1/lists/shop/members", new { email, mergeFields = new Dictionary<string, string> { ["FNAME"] = "Single" }, tags = new[] { "single" } }), HttpStatusCode.OK, HttpStatusCode.Created);
        await ExpectAsync("upsert again", client.PostAsJsonAsync("/api/v1/lists/shop/members", new { email = "one@shop.test", language = "de", vip = true }), HttpStatusCode.OK);
        await ExpectAsync("upsert a contact Hub did not add", client.PostAsJsonAsync("/api/v1/lists/shop/members", new { email = "old@shop.test", tags = new[] { "again" } }), HttpStatusCode.OK);
        await ExpectAsync("get member", client.GetAsync("/api/v1/lists/shop/members/one@shop.test"), HttpStatusCode.OK);
        await ExpectAsync("change a member's address", client.PatchAsJsonAsync("/api/v1/lists/shop/members/inline@shop.test", new { email = "inline.new@shop.test" }), HttpStatusCode.OK);
        await ExpectAsync("page members", client.GetAsync("/api/v1/lists/shop/members?limit=5"), HttpStatusCode.OK);
        await ExpectAsync("archive", client.DeleteAsync("/api/v1/lists/shop/members/one@shop.test?mode=archive"), HttpStatusCode.NoContent);
        await ExpectAsync("archive again", client.DeleteAsync("/api/v1/lists/shop/members/one@shop.test"), HttpStatusCode.NoContent);
        await ExpectAsync("unsubscribe", client.DeleteAsync("/api/v1/lists/shop/members/two@shop.test?mode=unsubscribe"), HttpStatusCode.NoContent);
        await ExpectAsync("permanent", client.DeleteAsync("/api/v1/lists/shop/members/three@shop.test?mode=permanent"), HttpStatusCode.NoContent);
        await ExpectAsync("add in tag mode", client.PostAsJsonAsync("/api/v1/lists/club/members", new { email = "vee@shop.test" }), HttpStatusCode.OK, HttpStatusCode.Created);
        await ExpectAsync("remove in tag mode", client.DeleteAsync("/api/v1/lists/club/members/vee@shop.test"), HttpStatusCode.NoContent);

        // Merge fields: declared on a list (read, created), then changed (Hub's own field is updated), and a value sent.
        await ExpectAsync("declare fields", client.PatchAsJsonAsync("/api/v1/lists/shop", new
        {
            fields = new object[]
            {
                new { tag = "FNAME", name = "First Name", type = "text" },
                new { tag = "BDAY", name = "Birthday", type = "birthday", dateFormat = "DD/MM" },
                new { tag = "LEVEL", name = "Level", type = "dropdown", choices = new[] { "Bronze", "Gold" } },
            },
        }), HttpStatusCode.OK);
        await ExpectAsync("change declared fields", client.PatchAsJsonAsync("/api/v1/lists/shop", new
        {
            fields = new object[] { new { tag = "LEVEL", name = "Member level", type = "dropdown", required = false, choices = new[] { "Bronze", "Silver", "Gold" } } },
        }), HttpStatusCode.OK);
        await ExpectAsync("a member with declared fields", client.PostAsJsonAsync("/api/v1/lists/shop/members",
            new { email = "fields@shop.test", mergeFields = new Dictionary<string, string> { ["BDAY"] = "25/04", ["LEVEL"] = "Silver" } }), HttpStatusCode.OK);

        // List webhooks: registered on each managed audience (above), checked by a repair, removed before a disconnect.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((await client.GetFromJsonAsync<JsonElement>($"/api/v1/audiences/{audienceId}/events")).GetProperty("state").GetString() != "registered")
        {
            if (DateTime.UtcNow > deadline)
            {
                problems.Add("the list webhook on the shop audience was not registered");
                break;
            }

            await Task.Delay(50);
        }

        await ExpectAsync("repair the list webhook", client.PostAsync($"/api/v1/audiences/{audienceId}/events/repair", null), HttpStatusCode.OK);
        await ExpectAsync("disconnect", client.DeleteAsync("/api/v1/connection"), HttpStatusCode.NoContent);
    }
}
