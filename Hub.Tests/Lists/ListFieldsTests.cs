using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Lists;

/// <summary>
/// Issue 15, part 2, over real HTTP with the sandbox: a list declares its contact fields, Hub provisions them as the
/// audience's merge fields, and member values are checked against the declared types before anything is sent.
/// </summary>
[TestFixture]
public sealed class ListFieldsTests() : EnvironmentFixture<FacadeEnvironment>(() => FacadeEnvironment.StartAsync())
{
    private static readonly object[] AllTypes =
    [
        new { tag = "FNAME", name = "First name", type = "text" },
        new { tag = "company", name = "Company", type = "text", required = false },
        new { tag = "SCORE", name = "Score", type = "number" },
        new { tag = "JOINED", name = "Joined", type = "date", dateFormat = "DD/MM/YYYY" },
        new { tag = "BIRTHDAY", name = "Birthday", type = "birthday" },
        new { tag = "HOME", name = "Home address", type = "address" },
        new { tag = "MOBILE", name = "Mobile", type = "phone" },
        new { tag = "SITE", name = "Website", type = "url" },
        new { tag = "LEVEL", name = "Level", type = "dropdown", choices = new[] { "Bronze", "Silver", "Gold" } },
        new { tag = "SOURCE", name = "Source", type = "radio", choices = new[] { "web", "fair" } },
    ];

    private async Task<JsonArray> AudienceFieldsAsync(FacadeTenant tenant, string audienceId)
    {
        using var marketing = _env.Sandbox.Marketing(tenant.Mailchimp);
        var page = await marketing.GetFromJsonAsync<JsonObject>($"lists/{audienceId}/merge-fields?count=100");
        return page!["merge_fields"]!.AsArray();
    }

    private static JsonNode? FieldWithTag(JsonArray fields, string tag) => fields.SingleOrDefault(field => (string?)field!["tag"] == tag);

    private async Task<(FacadeTenant Tenant, string AudienceId, JsonElement List)> ListWithFieldsAsync(object[] fields, string key = "crm")
    {
        var tenant = await _env.CreateTenantAsync();
        var list = await FacadeEnvironment.LinkListAsync(tenant, key, extra: new { fields });
        return (tenant, list.GetProperty("audienceId").GetString()!, list);
    }

    [Test]
    public async Task Declared_fields_are_provisioned_once_with_their_merge_ids_and_a_repeat_changes_nothing()
    {
        var (tenant, audienceId, linked) = await ListWithFieldsAsync(AllTypes);
        using var _ = tenant;
        var before = await AudienceFieldsAsync(tenant, audienceId);

        Assert.Multiple(() =>
        {
            var declared = linked.GetProperty("fields").EnumerateArray().ToDictionary(field => field.GetProperty("tag").GetString()!);
            Assert.That(declared.Keys, Is.EquivalentTo(new[] { "FNAME", "COMPANY", "SCORE", "JOINED", "BIRTHDAY", "HOME", "MOBILE", "SITE", "LEVEL", "SOURCE" }));
            foreach (var (tag, field) in declared)
            {
                var inAudience = FieldWithTag(before, tag);
                Assert.That(inAudience, Is.Not.Null, tag);
                Assert.That(field.GetProperty("mergeId").GetInt64(), Is.EqualTo((long)inAudience!["merge_id"]!), tag);
                Assert.That((string?)inAudience["type"], Is.EqualTo(field.GetProperty("type").GetString()), tag);
            }

            // FNAME is the audience's own (every new audience has it): used as it is, not Hub's.
            Assert.That(declared["FNAME"].GetProperty("createdByHub").GetBoolean(), Is.False);
            Assert.That(declared["FNAME"].GetProperty("name").GetString(), Is.EqualTo((string?)FieldWithTag(before, "FNAME")!["name"]));
            Assert.That(declared["COMPANY"].GetProperty("createdByHub").GetBoolean(), Is.True);
            Assert.That(declared["JOINED"].GetProperty("dateFormat").GetString(), Is.EqualTo("DD/MM/YYYY"));
            Assert.That(declared["BIRTHDAY"].GetProperty("dateFormat").GetString(), Is.EqualTo("MM/DD"));
            Assert.That(declared["LEVEL"].GetProperty("choices").EnumerateArray().Select(c => c.GetString()), Is.EqualTo(new[] { "Bronze", "Silver", "Gold" }));
            Assert.That((string?)FieldWithTag(before, "JOINED")!["options"]!["date_format"], Is.EqualTo("DD/MM/YYYY"));
        });

        // The same declaration again, and GET: the same fields, nothing created twice.
        using var again = await tenant.Client.PatchAsJsonAsync("/api/v1/lists/crm", new { fields = AllTypes });
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.OK), await again.Content.ReadAsStringAsync());
        var after = await AudienceFieldsAsync(tenant, audienceId);
        Assert.That(after.ToJsonString(), Is.EqualTo(before.ToJsonString()));
        var shown = await tenant.Client.GetFromJsonAsync<JsonElement>("/api/v1/lists/crm");
        Assert.That(shown.GetProperty("fields").ToString(), Is.EqualTo(linked.GetProperty("fields").ToString()));
    }

    [Test]
    public async Task Hub_changes_name_required_and_choices_only_of_the_fields_it_created_and_never_deletes_one()
    {
        var tenant = await _env.CreateTenantAsync();
        using var _ = tenant;
        var audienceId = await FacadeEnvironment.CreateAudienceAsync(tenant);
        using (var marketing = _env.Sandbox.Marketing(tenant.Mailchimp))
        using (var foreign = await marketing.PostAsJsonAsync($"lists/{audienceId}/merge-fields",
            new { name = "Organisation", type = "dropdown", tag = "ORG", options = new { choices = new[] { "A", "B" } } }))
        {
            Assert.That(foreign.StatusCode, Is.EqualTo(HttpStatusCode.OK), await foreign.Content.ReadAsStringAsync());
        }

        await FacadeEnvironment.LinkListAsync(tenant, "crm", audienceId, mode: "tag", extra: new
        {
            fields = new object[]
            {
                new { tag = "ORG", name = "Company", type = "dropdown", choices = new[] { "A", "B", "C" } },
                new { tag = "LEVEL", name = "Level", type = "dropdown", choices = new[] { "Bronze" } },
            },
        });
        using var changed = await tenant.Client.PatchAsJsonAsync("/api/v1/lists/crm", new
        {
            fields = new object[]
            {
                new { tag = "ORG", name = "Employer", type = "dropdown", choices = new[] { "X" } },
                new { tag = "LEVEL", name = "Member level", type = "dropdown", required = true, choices = new[] { "Bronze", "Gold" } },
            },
        });
        var body = await changed.Content.ReadAsStringAsync();
        Assert.That(changed.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);

        var fields = await AudienceFieldsAsync(tenant, audienceId);
        var shown = JsonDocument.Parse(body).RootElement.GetProperty("fields").EnumerateArray().ToDictionary(field => field.GetProperty("tag").GetString()!);
        Assert.Multiple(() =>
        {
            Assert.That((string?)FieldWithTag(fields, "ORG")!["name"], Is.EqualTo("Organisation"));
            Assert.That(FieldWithTag(fields, "ORG")!["options"]!["choices"]!.AsArray().Select(c => (string?)c), Is.EqualTo(new[] { "A", "B" }));
            Assert.That((string?)FieldWithTag(fields, "LEVEL")!["name"], Is.EqualTo("Member level"));
            Assert.That((bool)FieldWithTag(fields, "LEVEL")!["required"]!, Is.True);
            Assert.That(FieldWithTag(fields, "LEVEL")!["options"]!["choices"]!.AsArray().Select(c => (string?)c), Is.EqualTo(new[] { "Bronze", "Gold" }));

            // What the list shows, and checks values against, is what the audience holds.
            Assert.That(shown["ORG"].GetProperty("createdByHub").GetBoolean(), Is.False);
            Assert.That(shown["ORG"].GetProperty("choices").EnumerateArray().Select(c => c.GetString()), Is.EqualTo(new[] { "A", "B" }));
            Assert.That(shown["LEVEL"].GetProperty("createdByHub").GetBoolean(), Is.True);
        });

        // Declaring no fields, or unlinking the list, leaves every field in the audience.
        using (var none = await tenant.Client.PatchAsJsonAsync("/api/v1/lists/crm", new { fields = Array.Empty<object>() }))
        {
            Assert.That((await none.JsonAsync()).GetProperty("fields").GetArrayLength(), Is.EqualTo(0));
        }

        using (await tenant.Client.DeleteAsync("/api/v1/lists/crm"))
        {
        }

        var left = await AudienceFieldsAsync(tenant, audienceId);
        Assert.That(left.Select(field => (string?)field!["tag"]), Does.Contain("ORG").And.Contain("LEVEL"));
    }

    [Test]
    public async Task A_declared_type_that_differs_from_the_audience_is_a_409_naming_both_and_nothing_changes()
    {
        var tenant = await _env.CreateTenantAsync();
        using var _ = tenant;
        var audienceId = await FacadeEnvironment.CreateAudienceAsync(tenant);
        var before = await AudienceFieldsAsync(tenant, audienceId);

        // Every new audience has ADDRESS as an address field.
        var clash = new { key = "crm", audienceId, fields = new object[] { new { tag = "COMPANY", name = "Company", type = "text" }, new { tag = "ADDRESS", name = "Street", type = "text" } } };
        using var refused = await tenant.Client.PostAsJsonAsync("/api/v1/lists", clash);
        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Conflict, "merge_field_conflict");
        Assert.Multiple(() =>
        {
            Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("has ADDRESS as type address; the list declares it as type text"));
            Assert.That(problem.GetProperty("errors").TryGetProperty("fields[1].type", out var _), Is.True, problem.ToString());
        });
        Assert.That((await AudienceFieldsAsync(tenant, audienceId)).ToJsonString(), Is.EqualTo(before.ToJsonString()));
        using (var missing = await tenant.Client.GetAsync("/api/v1/lists/crm"))
        {
            Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        }

        // The same on PATCH: the list keeps its fields.
        await FacadeEnvironment.LinkListAsync(tenant, "crm", audienceId, extra: new { fields = new object[] { new { tag = "FNAME", name = "First", type = "text" } } });
        using var patched = await tenant.Client.PatchAsJsonAsync("/api/v1/lists/crm", new { fields = new object[] { new { tag = "FNAME", name = "First", type = "number" } } });
        await ProblemAssert.IsProblemAsync(patched, HttpStatusCode.Conflict, "merge_field_conflict");
        var list = await tenant.Client.GetFromJsonAsync<JsonElement>("/api/v1/lists/crm");
        Assert.That(list.GetProperty("fields")[0].GetProperty("type").GetString(), Is.EqualTo("text"));
    }

    [Test]
    public async Task Bad_declarations_get_a_validation_problem_and_change_nothing()
    {
        var tenant = await _env.CreateTenantAsync();
        using var _ = tenant;
        var audienceId = await FacadeEnvironment.CreateAudienceAsync(tenant);
        var before = await AudienceFieldsAsync(tenant, audienceId);
        var bad = new (object Field, string Error)[]
        {
            (new { tag = "TOO_LONG_TAG", name = "X", type = "text" }, "fields[0].tag"),
            (new { tag = "A-B", name = "X", type = "text" }, "fields[0].tag"),
            (new { tag = "email", name = "X", type = "text" }, "fields[0].tag"),
            (new { tag = "", name = "X", type = "text" }, "fields[0].tag"),
            (new { tag = "X", name = "", type = "text" }, "fields[0].name"),
            (new { tag = "X", name = new string('n', 101), type = "text" }, "fields[0].name"),
            (new { tag = "X", name = "X", type = "imageurl" }, "fields[0].type"),
            (new { tag = "X", name = "X" }, "fields[0].type"),
            (new { tag = "X", name = "X", type = "dropdown" }, "fields[0].choices"),
            (new { tag = "X", name = "X", type = "radio", choices = new[] { "a", "a" } }, "fields[0].choices"),
            (new { tag = "X", name = "X", type = "radio", choices = new[] { "" } }, "fields[0].choices"),
            (new { tag = "X", name = "X", type = "text", choices = new[] { "a" } }, "fields[0].choices"),
            (new { tag = "X", name = "X", type = "date", dateFormat = "YYYY-MM-DD" }, "fields[0].dateFormat"),
            (new { tag = "X", name = "X", type = "birthday", dateFormat = "DD/MM/YYYY" }, "fields[0].dateFormat"),
            (new { tag = "X", name = "X", type = "text", dateFormat = "MM/DD" }, "fields[0].dateFormat"),
        };
        foreach (var (field, error) in bad)
        {
            using var refused = await tenant.Client.PostAsJsonAsync("/api/v1/lists", new { key = "crm", audienceId, fields = new[] { field } });
            var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.BadRequest, "validation");
            Assert.That(problem.GetProperty("errors").TryGetProperty(error, out var _), Is.True, $"{JsonSerializer.Serialize(field)}: {problem}");
        }

        using (var twice = await tenant.Client.PostAsJsonAsync("/api/v1/lists", new { key = "crm", audienceId, fields = new[] { new { tag = "X", name = "X", type = "text" }, new { tag = "x", name = "Y", type = "text" } } }))
        {
            await ProblemAssert.IsProblemAsync(twice, HttpStatusCode.BadRequest, "validation");
        }

        foreach (var raw in new[] { """{"key":"crm","audienceId":"%","fields":{}}""", """{"key":"crm","audienceId":"%","fields":[{"tag":"X","name":"X","type":"text","required":"yes"}]}""",
            """{"key":"crm","audienceId":"%","fields":[null]}""", """{"key":"crm","audienceId":"%","fields":[{"tag":"X","name":"X","type":"dropdown","choices":[1]}]}""" })
        {
            using var refused = await tenant.Client.PostAsync("/api/v1/lists", new StringContent(raw.Replace("%", audienceId), System.Text.Encoding.UTF8, "application/json"));
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), raw);
            Assert.That(refused.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), raw);
        }

        Assert.That((await AudienceFieldsAsync(tenant, audienceId)).ToJsonString(), Is.EqualTo(before.ToJsonString()));
        using var none = await tenant.Client.GetAsync("/api/v1/lists/crm");
        Assert.That(none.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    private static readonly (string Tag, object Value)[] BadValues =
    [
        ("COMPANY", new string('é', 128)), // 256 bytes
        ("SCORE", "many"),
        ("JOINED", "12/25/2024"), // the field is DD/MM/YYYY
        ("JOINED", "2024-02-30"),
        ("BIRTHDAY", "25/04"), // MM/DD
        ("BIRTHDAY", "1990-04-25"),
        ("HOME", new { addr1 = "Main St 1", city = "Utrecht" }),
        ("HOME", "Main St 1, Utrecht"),
        ("SITE", "not a url"),
        ("LEVEL", "Platinum"),
        ("SOURCE", 3),
        ("MOBILE", new { number = "1" }),
    ];

    [Test]
    public async Task A_bad_value_for_a_declared_field_is_refused_before_anything_is_sent_naming_the_field()
    {
        var (tenant, audienceId, _) = await ListWithFieldsAsync(AllTypes);
        using var __ = tenant;
        foreach (var (tag, value) in BadValues)
        {
            var member = new Dictionary<string, object> { ["email"] = "bad@shop.test", ["mergeFields"] = new Dictionary<string, object> { [tag] = value } };
            using var refused = await tenant.Client.PostAsJsonAsync("/api/v1/lists/crm/members", member);
            var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.BadRequest, "validation");
            Assert.That(problem.GetProperty("errors").TryGetProperty("mergeFields." + tag, out _), Is.True, $"{tag}={JsonSerializer.Serialize(value)}: {problem}");
        }

        Assert.That(await _env.Sandbox.GetMembersAsync(audienceId), Is.Empty, "no bad value reached Mailchimp");

        // Good values of every type, in the forms Mailchimp takes, pass (and the sandbox, which checks like Mailchimp, agrees).
        var good = await FacadeEnvironment.UpsertAsync(tenant, "crm", new
        {
            email = "good@shop.test",
            mergeFields = new Dictionary<string, object>
            {
                ["FNAME"] = "Ann", ["COMPANY"] = new string('é', 127), ["SCORE"] = "12.5", ["JOINED"] = "25/12/2024", ["BIRTHDAY"] = "02/29",
                ["HOME"] = new { addr1 = "Main St 1", city = "Utrecht", state = "UT", zip = "3511", country = "NL" },
                ["MOBILE"] = "+31 6 1234 5678", ["SITE"] = "https://ann.example", ["LEVEL"] = "Gold", ["SOURCE"] = "fair",
            },
        });
        Assert.That(good.GetProperty("email").GetString(), Is.EqualTo("good@shop.test"));
        var stored = await _env.SandboxMemberAsync(audienceId, "good@shop.test");
        Assert.That(stored!.MergeFields["JOINED"]!.ToString(), Is.EqualTo("25/12/2024"));
    }

    [Test]
    public async Task In_a_batch_a_bad_value_fails_that_member_and_the_rest_are_written()
    {
        var (tenant, audienceId, _) = await ListWithFieldsAsync(AllTypes);
        using var __ = tenant;
        using var response = await tenant.Client.PostAsJsonAsync("/api/v1/lists/crm/members/batch", new
        {
            add = new object[]
            {
                new { email = "a@shop.test", mergeFields = new { BIRTHDAY = "04/25" } },
                new { email = "b@shop.test", mergeFields = new { BIRTHDAY = "25/04" } },
                new { email = "c@shop.test", mergeFields = new { LEVEL = "Silver", SCORE = 3 } },
            },
        });
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        var result = JsonDocument.Parse(body).RootElement;
        var failed = result.GetProperty("results").EnumerateArray().Single(r => r.GetProperty("result").GetString() == "failed");
        Assert.Multiple(async () =>
        {
            Assert.That(result.GetProperty("succeeded").GetInt32(), Is.EqualTo(2));
            Assert.That(failed.GetProperty("email").GetString(), Is.EqualTo("b@shop.test"));
            Assert.That(failed.GetProperty("error").GetProperty("errors").GetProperty("mergeFields.BIRTHDAY")[0].GetString(), Does.Contain("MM/DD"));
            Assert.That((await _env.Sandbox.GetMembersAsync(audienceId)).Select(m => m.EmailAddress).Order(), Is.EqualTo(new[] { "a@shop.test", "c@shop.test" }));
        });
    }

    [Test]
    public async Task In_a_full_sync_a_bad_value_is_that_members_error_the_rest_are_written_and_the_member_is_not_removed()
    {
        var (tenant, audienceId, _) = await ListWithFieldsAsync(AllTypes);
        using var __ = tenant;
        var first = await SyncAsync(tenant, [new { email = "a@shop.test", mergeFields = new { SCORE = 1 } }, new { email = "b@shop.test", mergeFields = new { SCORE = 1 } }]);
        Assert.That(first.GetProperty("state").GetString(), Is.EqualTo("succeeded"), first.ToString());

        // b's row now has a bad value: b fails and stays as it was (not archived as if the host had dropped b); c is added.
        var second = await SyncAsync(tenant,
        [
            new { email = "a@shop.test", mergeFields = new { SCORE = 2 } },
            new { email = "B@shop.test", mergeFields = new { SCORE = "lots" } },
            new { email = "c@shop.test", mergeFields = new { HOME = new { addr1 = "x" } } },
            new { email = "d@shop.test", mergeFields = new { SCORE = 4 } },
        ]);
        var errors = second.GetProperty("errors").EnumerateArray().ToList();
        Assert.Multiple(async () =>
        {
            Assert.That(second.GetProperty("state").GetString(), Is.EqualTo("partially_succeeded"), second.ToString());
            Assert.That(second.GetProperty("counts").GetProperty("failed").GetInt64(), Is.EqualTo(2));
            Assert.That(second.GetProperty("counts").GetProperty("removed").GetInt64(), Is.EqualTo(0));
            Assert.That(errors.Select(e => (e.GetProperty("email").GetString(), e.GetProperty("field").GetString())),
                Is.EquivalentTo(new[] { ("B@shop.test", "mergeFields.SCORE"), ("c@shop.test", "mergeFields.HOME") }));
            var members = (await _env.Sandbox.GetMembersAsync(audienceId)).ToDictionary(m => m.EmailAddress);
            Assert.That(members.Keys, Is.EquivalentTo(new[] { "a@shop.test", "b@shop.test", "d@shop.test" }));
            Assert.That(members["b@shop.test"].Status, Is.EqualTo("subscribed"));
            Assert.That(members["b@shop.test"].MergeFields["SCORE"]!.ToString(), Is.EqualTo("1"));
            Assert.That(members["a@shop.test"].MergeFields["SCORE"]!.ToString(), Is.EqualTo("2"));
        });

        // A later valid row of the same address in one body replaces the bad one.
        var third = await SyncAsync(tenant,
        [
            new { email = "a@shop.test", mergeFields = new { SCORE = 2 } },
            new { email = "b@shop.test", mergeFields = new { SCORE = "lots" } },
            new { email = "b@shop.test", mergeFields = new { SCORE = 5 } },
            new { email = "d@shop.test", mergeFields = new { SCORE = 4 } },
        ]);
        Assert.That(third.GetProperty("counts").GetProperty("updated").GetInt64(), Is.EqualTo(1), third.ToString());
        Assert.That((await _env.SandboxMemberAsync(audienceId, "b@shop.test"))!.MergeFields["SCORE"]!.ToString(), Is.EqualTo("5"));
    }

    private async Task<JsonElement> SyncAsync(FacadeTenant tenant, object[] members)
    {
        using var started = await tenant.Client.PutAsJsonAsync("/api/v1/lists/crm/members", members);
        Assert.That(started.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await started.Content.ReadAsStringAsync());
        var statusUrl = (await started.JsonAsync()).GetProperty("statusUrl").GetString()!;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var job = await tenant.Client.GetFromJsonAsync<JsonElement>(statusUrl);
            if (job.GetProperty("state").GetString() is not ("queued" or "running"))
            {
                return job;
            }

            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), job.ToString());
            await Task.Delay(50);
        }
    }
}
