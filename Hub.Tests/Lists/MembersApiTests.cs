using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Lists;

[TestFixture]
public sealed class MembersApiTests() : EnvironmentFixture<FacadeEnvironment>(() => FacadeEnvironment.StartAsync())
{
    private Task<(FacadeTenant Tenant, string AudienceId)> AudienceListAsync(string key = "members") => _env.TenantWithAudienceListAsync(key);

    [Test]
    public async Task Adding_a_member_sends_merge_fields_tags_language_and_vip()
    {
        var (tenant, audienceId) = await AudienceListAsync();
        using var _ = tenant;
        var member = await FacadeEnvironment.UpsertAsync(tenant, "members", new
        {
            email = "Ann@Shop.test",
            mergeFields = new { fname = "Ann", LNAME = "Lee" },
            tags = new[] { "gold" },
            language = "de",
            vip = true,
        });

        Assert.Multiple(() =>
        {
            Assert.That(member.GetProperty("email").GetString(), Is.EqualTo("Ann@Shop.test").IgnoreCase);
            Assert.That(member.GetProperty("status").GetString(), Is.EqualTo("subscribed"));
            Assert.That(member.GetProperty("mergeFields").GetProperty("FNAME").GetString(), Is.EqualTo("Ann"));
            Assert.That(member.GetProperty("tags").EnumerateArray().Select(tag => tag.GetString()), Is.EquivalentTo(new[] { "gold" }));
            Assert.That(member.GetProperty("language").GetString(), Is.EqualTo("de"));
            Assert.That(member.GetProperty("vip").GetBoolean(), Is.True);
        });

        var stored = await _env.SandboxMemberAsync(audienceId, "ann@shop.test");
        Assert.Multiple(() =>
        {
            Assert.That(stored!.Status, Is.EqualTo("subscribed"));
            Assert.That(stored.MergeFields["FNAME"]!.GetValue<string>(), Is.EqualTo("Ann"));
            Assert.That(stored.MergeFields["LNAME"]!.GetValue<string>(), Is.EqualTo("Lee"));
            Assert.That(stored.Tags, Is.EquivalentTo(new[] { "gold" }));
        });

        var updated = await FacadeEnvironment.UpsertAsync(tenant, "members", new { email = "ann@shop.test", mergeFields = new { FNAME = "Anna" }, vip = false });
        Assert.That(updated.GetProperty("vip").GetBoolean(), Is.False);
        stored = await _env.SandboxMemberAsync(audienceId, "ann@shop.test");
        Assert.Multiple(() =>
        {
            Assert.That(stored!.MergeFields["FNAME"]!.GetValue<string>(), Is.EqualTo("Anna"));
            Assert.That(stored.MergeFields["LNAME"]!.GetValue<string>(), Is.EqualTo("Lee"), "a field not sent stays");
        });

        var read = await tenant.Client.GetFromJsonAsync<JsonElement>("/api/v1/lists/members/members/ann@shop.test");
        Assert.That(read.GetProperty("mergeFields").GetProperty("FNAME").GetString(), Is.EqualTo("Anna"));
        var list = await tenant.Client.GetFromJsonAsync<JsonElement>("/api/v1/lists/members");
        Assert.That(list.GetProperty("memberCount").GetInt64(), Is.EqualTo(1));
    }

    [Test]
    public async Task An_unsubscribed_member_is_never_resubscribed()
    {
        var (tenant, audienceId) = await AudienceListAsync();
        using var _ = tenant;
        await FacadeEnvironment.UpsertAsync(tenant, "members", new { email = "gone@shop.test" });
        await _env.Sandbox.SetMemberStatusAsync(audienceId, "gone@shop.test", "unsubscribed");

        var again = await FacadeEnvironment.UpsertAsync(tenant, "members", new { email = "gone@shop.test", mergeFields = new { FNAME = "Gone" } });
        Assert.That(again.GetProperty("status").GetString(), Is.EqualTo("unsubscribed"));
        var stored = await _env.SandboxMemberAsync(audienceId, "gone@shop.test");
        Assert.Multiple(() =>
        {
            Assert.That(stored!.Status, Is.EqualTo("unsubscribed"));
            Assert.That(stored.MergeFields["FNAME"]!.GetValue<string>(), Is.EqualTo("Gone"));
        });

        var subscribedAgain = await FacadeEnvironment.UpsertAsync(tenant, "members", new { email = "gone@shop.test", status = "subscribed" });
        Assert.That(subscribedAgain.GetProperty("status").GetString(), Is.EqualTo("unsubscribed"), "status is only the status for a new member");
    }

    [TestCase("fake.person@shop.test", "invalid_email", HttpStatusCode.BadRequest)]
    [TestCase("someone@example.invalid", "invalid_email", HttpStatusCode.BadRequest)]
    public async Task Mailchimp_refusals_map_to_problem_types(string email, string code, HttpStatusCode status)
    {
        var (tenant, audienceId) = await AudienceListAsync();
        using var _ = tenant;
        using var response = await tenant.Client.PostAsJsonAsync("/api/v1/lists/members/members", new { email });
        var problem = await ProblemAssert.IsProblemAsync(response, status, code);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain(email));
        Assert.That(await _env.Sandbox.GetMembersAsync(audienceId), Is.Empty);
    }

    [Test]
    public async Task A_cleaned_member_cannot_be_subscribed_and_a_forgotten_one_cannot_be_readded()
    {
        var (tenant, audienceId) = await AudienceListAsync();
        using var _ = tenant;
        await FacadeEnvironment.UpsertAsync(tenant, "members", new { email = "bounced@shop.test" });
        await _env.Sandbox.SetMemberStatusAsync(audienceId, "bounced@shop.test", "cleaned");
        var bounced = await FacadeEnvironment.UpsertAsync(tenant, "members", new { email = "bounced@shop.test", status = "subscribed" });
        Assert.That(bounced.GetProperty("status").GetString(), Is.EqualTo("cleaned"), "a bounced address is never set back to subscribed");

        await FacadeEnvironment.UpsertAsync(tenant, "members", new { email = "erased@shop.test" });
        using var erased = await tenant.Client.DeleteAsync("/api/v1/lists/members/members/erased@shop.test?mode=permanent");
        Assert.That(erased.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await erased.Content.ReadAsStringAsync());

        using var readded = await tenant.Client.PostAsJsonAsync("/api/v1/lists/members/members", new { email = "erased@shop.test" });
        var problem = await ProblemAssert.IsProblemAsync(readded, HttpStatusCode.Conflict, "forgotten_email");
        Assert.That(problem.GetProperty("mailchimpStatus").GetInt32(), Is.EqualTo(400));
        Assert.That(await _env.SandboxMemberAsync(audienceId, "erased@shop.test"), Is.Null);
    }

    [Test]
    public async Task Removal_modes_archive_unsubscribe_and_erase()
    {
        var (tenant, audienceId) = await AudienceListAsync();
        using var _ = tenant;
        foreach (var email in new[] { "a@shop.test", "u@shop.test", "p@shop.test" })
        {
            await FacadeEnvironment.UpsertAsync(tenant, "members", new { email });
        }

        using var archived = await tenant.Client.DeleteAsync("/api/v1/lists/members/members/a@shop.test");
        using var unsubscribed = await tenant.Client.DeleteAsync("/api/v1/lists/members/members/u@shop.test?mode=unsubscribe");
        using var erased = await tenant.Client.DeleteAsync("/api/v1/lists/members/members/p@shop.test?mode=permanent");
        Assert.Multiple(() =>
        {
            Assert.That(archived.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
            Assert.That(unsubscribed.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
            Assert.That(erased.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        });

        var members = (await _env.Sandbox.GetMembersAsync(audienceId)).ToDictionary(member => member.EmailAddress);
        Assert.Multiple(() =>
        {
            Assert.That(members["a@shop.test"].Status, Is.EqualTo("archived"));
            Assert.That(members["u@shop.test"].Status, Is.EqualTo("unsubscribed"));
            Assert.That(members.ContainsKey("p@shop.test"), Is.False);
        });
        var list = await tenant.Client.GetFromJsonAsync<JsonElement>("/api/v1/lists/members");
        Assert.That(list.GetProperty("memberCount").GetInt64(), Is.Zero, "the ledger forgot all three");

        using var again = await tenant.Client.DeleteAsync("/api/v1/lists/members/members/a@shop.test");
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), "archiving an archived member is done already");
        using var missing = await tenant.Client.DeleteAsync("/api/v1/lists/members/members/nobody@shop.test");
        await ProblemAssert.IsProblemAsync(missing, HttpStatusCode.NotFound, "member_not_in_list");
        using var badMode = await tenant.Client.DeleteAsync("/api/v1/lists/members/members/a@shop.test?mode=shred");
        await ProblemAssert.IsProblemAsync(badMode, HttpStatusCode.BadRequest, "validation");
    }

    [Test]
    public async Task In_tag_mode_removal_untags_while_another_list_holds_the_member_and_archives_when_none_does()
    {
        using var tenant = await _env.CreateTenantAsync();
        var audienceId = await FacadeEnvironment.CreateAudienceAsync(tenant);
        await FacadeEnvironment.LinkListAsync(tenant, "one", audienceId, "tag");
        await FacadeEnvironment.LinkListAsync(tenant, "two", audienceId, "tag");
        await FacadeEnvironment.UpsertAsync(tenant, "one", new { email = "ann@shop.test" });
        await FacadeEnvironment.UpsertAsync(tenant, "two", new { email = "ann@shop.test" });

        using var fromOne = await tenant.Client.DeleteAsync("/api/v1/lists/one/members/ann@shop.test");
        Assert.That(fromOne.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await fromOne.Content.ReadAsStringAsync());
        var ann = await _env.SandboxMemberAsync(audienceId, "ann@shop.test");
        Assert.Multiple(() =>
        {
            Assert.That(ann!.Status, Is.EqualTo("subscribed"));
            Assert.That(ann.Tags, Is.EquivalentTo(new[] { "two" }));
        });
        using var readOne = await tenant.Client.GetAsync("/api/v1/lists/one/members/ann@shop.test");
        await ProblemAssert.IsProblemAsync(readOne, HttpStatusCode.NotFound, "member_not_in_list");

        using var fromTwo = await tenant.Client.DeleteAsync("/api/v1/lists/two/members/ann@shop.test");
        Assert.That(fromTwo.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await fromTwo.Content.ReadAsStringAsync());
        ann = await _env.SandboxMemberAsync(audienceId, "ann@shop.test");
        Assert.Multiple(() =>
        {
            Assert.That(ann!.Status, Is.EqualTo("archived"));
            Assert.That(ann.Tags, Is.Empty);
        });
    }

    [Test]
    public async Task In_tag_mode_a_contact_Hub_did_not_add_is_only_untagged()
    {
        using var tenant = await _env.CreateTenantAsync();
        var audienceId = await FacadeEnvironment.CreateAudienceAsync(tenant);
        await FacadeEnvironment.LinkListAsync(tenant, "tagged", audienceId, "tag");
        await _env.Sandbox.SetMemberStatusAsync(audienceId, "own@shop.test", "subscribed");
        await FacadeEnvironment.UpsertAsync(tenant, "tagged", new { email = "own@shop.test" });

        using var removed = await tenant.Client.DeleteAsync("/api/v1/lists/tagged/members/own@shop.test");
        Assert.That(removed.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        var own = await _env.SandboxMemberAsync(audienceId, "own@shop.test");
        Assert.Multiple(() =>
        {
            Assert.That(own!.Status, Is.EqualTo("subscribed"), "Hub never removes a contact it did not add");
            Assert.That(own.Tags, Is.Empty);
        });
    }

    [Test]
    public async Task Reading_one_member_and_a_tagless_one_in_tag_mode()
    {
        using var tenant = await _env.CreateTenantAsync();
        var audienceId = await FacadeEnvironment.CreateAudienceAsync(tenant);
        await FacadeEnvironment.LinkListAsync(tenant, "tagged", audienceId, "tag");
        await FacadeEnvironment.UpsertAsync(tenant, "tagged", new { email = "in@shop.test" });
        await _env.Sandbox.SetMemberStatusAsync(audienceId, "out@shop.test", "subscribed");

        var member = await tenant.Client.GetFromJsonAsync<JsonElement>("/api/v1/lists/tagged/members/IN@shop.test");
        Assert.That(member.GetProperty("tags").EnumerateArray().Select(tag => tag.GetString()), Is.EquivalentTo(new[] { "tagged" }));
        using var tagless = await tenant.Client.GetAsync("/api/v1/lists/tagged/members/out@shop.test");
        await ProblemAssert.IsProblemAsync(tagless, HttpStatusCode.NotFound, "member_not_in_list");
        using var absent = await tenant.Client.GetAsync("/api/v1/lists/tagged/members/none@shop.test");
        await ProblemAssert.IsProblemAsync(absent, HttpStatusCode.NotFound, "member_not_in_list");
    }

    [Test]
    public async Task Paging_with_the_cursor_visits_every_member_once()
    {
        var (tenant, audienceId) = await AudienceListAsync();
        using var _ = tenant;
        var emails = Enumerable.Range(0, 7).Select(i => $"p{i}@shop.test").ToList();
        using (var batch = await tenant.Client.PostAsJsonAsync("/api/v1/lists/members/members/batch", new { add = emails.Select(email => new { email }) }))
        {
            Assert.That(batch.StatusCode, Is.EqualTo(HttpStatusCode.OK), await batch.Content.ReadAsStringAsync());
        }

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await tenant.Client.GetFromJsonAsync<JsonElement>($"/api/v1/lists/members/members?limit=3{(cursor is null ? "" : "&cursor=" + cursor)}");
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("email").GetString()!));
            Assert.That(page.GetProperty("total").GetInt64(), Is.EqualTo(7), "an audience list has its total");
            cursor = page.GetProperty("nextCursor").GetString();
            pages++;
        }
        while (cursor is not null && pages < 10);

        Assert.That(pages, Is.EqualTo(3));
        Assert.That(seen, Is.EquivalentTo(emails));
        using var badCursor = await tenant.Client.GetAsync("/api/v1/lists/members/members?cursor=abc");
        Assert.That((await ProblemAssert.IsProblemAsync(badCursor, HttpStatusCode.BadRequest, "validation")).GetProperty("errors").TryGetProperty("cursor", out JsonElement _), Is.True);
        // Another collection's cursor (a position by time and id) is not an offset into Mailchimp's members.
        using var foreign = await tenant.Client.GetAsync("/api/v1/lists/members/members?cursor=" + new Hub.Core.Storage.PageCursor(1764762544000, "job_x").Encode());
        Assert.That((await ProblemAssert.IsProblemAsync(foreign, HttpStatusCode.BadRequest, "validation")).GetProperty("errors").TryGetProperty("cursor", out JsonElement _), Is.True);
        using var badLimit = await tenant.Client.GetAsync("/api/v1/lists/members/members?limit=0");
        Assert.That((await ProblemAssert.IsProblemAsync(badLimit, HttpStatusCode.BadRequest, "validation")).GetProperty("errors").TryGetProperty("limit", out JsonElement _), Is.True);
    }

    [Test]
    public async Task A_batch_of_200_is_answered_inline_per_member()
    {
        var (tenant, audienceId) = await AudienceListAsync();
        using var _ = tenant;
        await FacadeEnvironment.UpsertAsync(tenant, "members", new { email = "existing@shop.test" });
        await FacadeEnvironment.UpsertAsync(tenant, "members", new { email = "leaver@shop.test" });
        var add = Enumerable.Range(0, 195).Select(i => (object)new { email = $"b{i}@shop.test", mergeFields = new { FNAME = $"B{i}" } }).ToList();
        add.Add(new { email = "existing@shop.test", tags = new[] { "again" } });
        add.Add(new { email = "fake.one@shop.test" });
        add.Add(new { email = "not-an-email" });
        add.Add(new { email = "b0@shop.test" });

        using var response = await tenant.Client.PostAsJsonAsync("/api/v1/lists/members/members/batch", new { add, remove = new[] { "leaver@shop.test" } });
        var body = await response.JsonAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());

        var results = body.GetProperty("results").EnumerateArray().ToList();
        var byResult = results.GroupBy(result => result.GetProperty("result").GetString()!).ToDictionary(group => group.Key, group => group.Count());
        Assert.Multiple(() =>
        {
            Assert.That(results, Has.Count.EqualTo(200));
            Assert.That(byResult, Is.EquivalentTo(new Dictionary<string, int> { ["added"] = 195, ["updated"] = 1, ["removed"] = 1, ["failed"] = 3 }));
            Assert.That(body.GetProperty("succeeded").GetInt32(), Is.EqualTo(197));
            Assert.That(body.GetProperty("failed").GetInt32(), Is.EqualTo(3));
        });
        var failures = results.Where(result => result.GetProperty("result").GetString() == "failed")
            .ToDictionary(result => result.GetProperty("email").GetString()!, result => result.GetProperty("error").GetProperty("type").GetString());
        Assert.That(failures, Is.EquivalentTo(new Dictionary<string, string?>
        {
            ["fake.one@shop.test"] = "urn:hub:problem:invalid_email",
            ["not-an-email"] = "urn:hub:problem:validation",
            ["b0@shop.test"] = "urn:hub:problem:validation",
        }));

        var members = (await _env.Sandbox.GetMembersAsync(audienceId)).ToDictionary(member => member.EmailAddress);
        Assert.Multiple(() =>
        {
            Assert.That(members.Values.Count(member => member.Status == "subscribed"), Is.EqualTo(196));
            Assert.That(members["b7@shop.test"].MergeFields["FNAME"]!.GetValue<string>(), Is.EqualTo("B7"));
            Assert.That(members["existing@shop.test"].Tags, Is.EquivalentTo(new[] { "again" }));
            Assert.That(members["leaver@shop.test"].Status, Is.EqualTo("archived"));
        });
        var list = await tenant.Client.GetFromJsonAsync<JsonElement>("/api/v1/lists/members");
        var lastSync = list.GetProperty("lastSync");
        Assert.Multiple(() =>
        {
            Assert.That(list.GetProperty("memberCount").GetInt64(), Is.EqualTo(196));
            // The batch is the list's last sync, as a job's would be; answered inline, it has no job id.
            Assert.That(lastSync.GetProperty("jobId").ValueKind, Is.EqualTo(JsonValueKind.Null), list.ToString());
            Assert.That(lastSync.GetProperty("state").GetString(), Is.EqualTo("partially_succeeded"));
            Assert.That(lastSync.GetProperty("finishedAt").GetDateTimeOffset(), Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(1)));
        });
    }

    [Test]
    public async Task A_batch_of_201_becomes_a_job_that_adds_and_removes()
    {
        var (tenant, audienceId) = await AudienceListAsync();
        using var _ = tenant;
        var add = Enumerable.Range(0, 200).Select(i => new { email = $"x{i}@shop.test" });
        using var response = await tenant.Client.PostAsJsonAsync("/api/v1/lists/members/members/batch", new { add, remove = new[] { "y@shop.test" } });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await response.Content.ReadAsStringAsync());
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        var statusUrl = accepted.GetProperty("statusUrl").GetString()!;
        Assert.Multiple(() =>
        {
            // Absolute, on Hub's public base URL, like a webhook's jobUrl.
            Assert.That(statusUrl, Is.EqualTo($"{_env.PublicBaseUrl}/api/v1/jobs/{accepted.GetProperty("jobId").GetString()}"));
            Assert.That(response.Headers.Location?.ToString(), Is.EqualTo(statusUrl));
        });

        JsonElement job;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        do
        {
            await Task.Delay(200);
            job = await tenant.Client.GetFromJsonAsync<JsonElement>(statusUrl);
        }
        while (job.GetProperty("state").GetString() is "queued" or "running" && DateTime.UtcNow < deadline);

        Assert.Multiple(async () =>
        {
            Assert.That(job.GetProperty("state").GetString(), Is.EqualTo("succeeded"), job.GetRawText());
            Assert.That(job.GetProperty("counts").GetProperty("added").GetInt64(), Is.EqualTo(200));
            Assert.That(job.GetProperty("statusUrl").GetString(), Is.EqualTo(statusUrl));
            Assert.That((await _env.Sandbox.GetMembersAsync(audienceId)).Count(member => member.Status == "subscribed"), Is.EqualTo(200));
        });

        using var empty = await tenant.Client.PostAsJsonAsync("/api/v1/lists/members/members/batch", new { add = Array.Empty<object>() });
        await ProblemAssert.IsProblemAsync(empty, HttpStatusCode.BadRequest, "validation");
    }
}
