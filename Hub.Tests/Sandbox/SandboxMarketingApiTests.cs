using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Sandbox;

public sealed class SandboxMarketingApiTests
{
    private SandboxHost _host = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _host = await SandboxHost.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await _host.DisposeAsync();

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string title, string? detailContains = null)
    {
        Assert.That(response.StatusCode, Is.EqualTo(status));
        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/problem+json"));
        var body = await response.JsonAsync();
        Assert.That(body["title"]!.GetValue<string>(), Is.EqualTo(title));
        Assert.That(body["status"]!.GetValue<int>(), Is.EqualTo((int)status));
        Assert.That(body["type"]!.GetValue<string>(), Is.EqualTo("https://mailchimp.com/developer/marketing/docs/errors/"));
        Assert.That(body["instance"]!.GetValue<string>(), Is.Not.Empty);
        if (detailContains is not null) Assert.That(body["detail"]!.GetValue<string>(), Does.Contain(detailContains));
    }

    // ---- Authentication ----

    [Test]
    public async Task Ping_answers_with_basic_or_bearer_api_key_and_oauth_token()
    {
        var key = await _host.CreateAccountAsync("Auth Shop");
        var token = await _host.IssueTokenAsync(key.AccountId);
        using var basic = _host.Marketing(key);
        var ping = await (await basic.GetAsync("ping")).JsonAsync();
        Assert.That(ping["health_status"]!.GetValue<string>(), Is.EqualTo("Everything's Chimpy!"));

        foreach (var secret in new[] { key.Secret, token.Secret })
        {
            using var bearer = new HttpClient { BaseAddress = new Uri(_host.BaseUrl, "us21/3.0/") };
            bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            using var response = await bearer.GetAsync("ping");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
    }

    [Test]
    public async Task Unknown_revoked_or_wrong_datacenter_credentials_get_401_api_key_invalid()
    {
        var key = await _host.CreateAccountAsync("Revoked Shop");
        using var wrongDc = _host.Marketing(key, "us9");
        await AssertProblemAsync(await wrongDc.GetAsync("ping"), HttpStatusCode.Unauthorized, "API Key Invalid",
            "Your API key may be invalid, or you've attempted to access the wrong datacenter.");

        using var unknown = _host.Marketing(key with { Secret = "0123456789abcdef0123456789abcdef-us21" });
        await AssertProblemAsync(await unknown.GetAsync("ping"), HttpStatusCode.Unauthorized, "API Key Invalid");

        using var anonymous = new HttpClient { BaseAddress = new Uri(_host.BaseUrl, "us21/3.0/") };
        await AssertProblemAsync(await anonymous.GetAsync("ping"), HttpStatusCode.Unauthorized, "API Key Invalid");

        using var client = _host.Marketing(key);
        Assert.That((await client.GetAsync("ping")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await _host.RevokeAsync(key.Secret);
        await AssertProblemAsync(await client.GetAsync("ping"), HttpStatusCode.Unauthorized, "API Key Invalid");
    }

    [Test]
    public async Task Root_describes_the_account()
    {
        var key = await _host.CreateAccountAsync("Root Shop", "us7", loginEmail: "root@shop.test");
        using var client = _host.Marketing(key);
        var root = await (await client.GetAsync("")).JsonAsync();
        Assert.That(root["account_id"]!.GetValue<string>(), Is.EqualTo(key.AccountId));
        Assert.That(root["account_name"]!.GetValue<string>(), Is.EqualTo("Root Shop"));
        Assert.That(root["email"]!.GetValue<string>(), Is.EqualTo("root@shop.test"));
        Assert.That(root["login_id"]!.GetValue<string>(), Is.Not.Empty);
    }

    // ---- Lists ----

    [Test]
    public async Task Lists_page_with_count_offset_and_total_items()
    {
        var key = await _host.CreateAccountAsync("Paging Shop");
        for (var i = 0; i < 12; i++) await _host.CreateListAsync(key, $"List {i}");
        using var client = _host.Marketing(key);
        var first = await (await client.GetAsync("lists")).JsonAsync();
        Assert.That(first["lists"]!.AsArray(), Has.Count.EqualTo(10));
        Assert.That(first["total_items"]!.GetValue<int>(), Is.EqualTo(12));
        var last = await (await client.GetAsync("lists?count=5&offset=10")).JsonAsync();
        Assert.That(last["lists"]!.AsArray().Select(l => l!["name"]!.GetValue<string>()), Is.EqualTo(new[] { "List 10", "List 11" }));
    }

    [Test]
    public async Task Create_list_refuses_missing_required_fields_with_invalid_resource()
    {
        var key = await _host.CreateAccountAsync("Invalid Shop");
        using var client = _host.Marketing(key);
        var body = SandboxHost.ValidListBody();
        ((Dictionary<string, object>)body["contact"]).Remove("city");
        body.Remove("permission_reminder");
        using var response = await client.PostAsJsonAsync("lists", body);
        var problem = await response.JsonAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(problem["title"]!.GetValue<string>(), Is.EqualTo("Invalid Resource"));
        Assert.That(problem["errors"]!.AsArray().Select(e => e!["field"]!.GetValue<string>()), Is.EquivalentTo(new[] { "permission_reminder", "contact.city" }));
    }

    [Test]
    public async Task Audience_limit_of_one_emulates_the_free_plan_with_403()
    {
        var key = await _host.CreateAccountAsync("Free Shop", audienceLimit: 1);
        await _host.CreateListAsync(key);
        using var client = _host.Marketing(key);
        await AssertProblemAsync(await client.PostAsJsonAsync("lists", SandboxHost.ValidListBody("Second")), HttpStatusCode.Forbidden, "User action not permitted");
    }

    [Test]
    public async Task List_can_be_read_patched_and_deleted_and_unknown_lists_are_404()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        using var patch = await client.PatchAsJsonAsync($"lists/{listId}", new { name = "Renamed", permission_reminder = "Changed" });
        Assert.That((await patch.JsonAsync())["name"]!.GetValue<string>(), Is.EqualTo("Renamed"));
        var list = await (await client.GetAsync($"lists/{listId}")).JsonAsync();
        Assert.That(list["permission_reminder"]!.GetValue<string>(), Is.EqualTo("Changed"));
        Assert.That(list["stats"]!["member_count"]!.GetValue<int>(), Is.Zero);

        using var delete = await client.DeleteAsync($"lists/{listId}");
        Assert.That(delete.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        await AssertProblemAsync(await client.GetAsync($"lists/{listId}"), HttpStatusCode.NotFound, "Resource Not Found");
        await AssertProblemAsync(await client.GetAsync("lists/nope/members"), HttpStatusCode.NotFound, "Resource Not Found");
    }

    [Test]
    public async Task Lists_of_another_account_are_not_visible()
    {
        var (_, _, listId) = await _host.NewAudienceAsync();
        var (_, other, _) = await _host.NewAudienceAsync();
        await AssertProblemAsync(await other.GetAsync($"lists/{listId}"), HttpStatusCode.NotFound, "Resource Not Found");
    }

    // ---- Members ----

    [Test]
    public async Task Put_creates_with_status_if_new_under_the_md5_subscriber_hash()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        using var put = await client.PutAsJsonAsync($"lists/{listId}/members/{SandboxTestKit.Hash("Ann@Shop.test")}",
            new { email_address = "Ann@Shop.test", status_if_new = "subscribed", merge_fields = new { FNAME = "Ann" } });
        var member = await put.JsonAsync();
        Assert.That(put.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(member["id"]!.GetValue<string>(), Is.EqualTo(SandboxTestKit.Hash("ann@shop.test")));
        Assert.That(member["status"]!.GetValue<string>(), Is.EqualTo("subscribed"));
        Assert.That(member["merge_fields"]!["FNAME"]!.GetValue<string>(), Is.EqualTo("Ann"));

        var list = await (await client.GetAsync($"lists/{listId}")).JsonAsync();
        Assert.That(list["stats"]!["member_count"]!.GetValue<int>(), Is.EqualTo(1));
        var stored = await _host.GetMembersAsync(listId);
        Assert.That(stored.Select(m => (m.EmailAddress, m.Status)), Is.EqualTo(new[] { ("Ann@Shop.test", "subscribed") }));
    }

    [Test]
    public async Task Put_requires_email_and_status_if_new_and_a_matching_hash()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        using var missing = await client.PutAsJsonAsync($"lists/{listId}/members/{SandboxTestKit.Hash("a@shop.test")}", new { email_address = "a@shop.test" });
        await AssertProblemAsync(missing, HttpStatusCode.BadRequest, "Invalid Resource");
        using var mismatch = await client.PutAsJsonAsync($"lists/{listId}/members/{SandboxTestKit.Hash("b@shop.test")}", new { email_address = "a@shop.test", status_if_new = "subscribed" });
        Assert.That(mismatch.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        using var badEnum = await client.PutAsJsonAsync($"lists/{listId}/members/{SandboxTestKit.Hash("a@shop.test")}", new { email_address = "a@shop.test", status_if_new = "archived" });
        await AssertProblemAsync(badEnum, HttpStatusCode.BadRequest, "Invalid Resource");
    }

    [Test]
    public async Task Status_if_new_never_resubscribes_an_unsubscribed_member()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        await client.PutAsJsonAsync($"lists/{listId}/members/a@shop.test", new { email_address = "a@shop.test", status_if_new = "subscribed" });
        await _host.SetMemberStatusAsync(listId, "a@shop.test", "unsubscribed");
        using var put = await client.PutAsJsonAsync($"lists/{listId}/members/{SandboxTestKit.Hash("a@shop.test")}", new { email_address = "a@shop.test", status_if_new = "subscribed" });
        Assert.That((await put.JsonAsync())["status"]!.GetValue<string>(), Is.EqualTo("unsubscribed"));
    }

    [TestCase("unsubscribed")]
    [TestCase("cleaned")]
    public async Task Setting_subscribed_on_a_member_in_compliance_state_is_refused_but_pending_is_allowed(string current)
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        await _host.SetMemberStatusAsync(listId, "c@shop.test", current);
        var path = $"lists/{listId}/members/{SandboxTestKit.Hash("c@shop.test")}";
        await AssertProblemAsync(await client.PutAsJsonAsync(path, new { email_address = "c@shop.test", status_if_new = "subscribed", status = "subscribed" }),
            HttpStatusCode.BadRequest, "Member In Compliance State", "c@shop.test is in a compliance state");
        await AssertProblemAsync(await client.PatchAsJsonAsync(path, new { status = "subscribed" }), HttpStatusCode.BadRequest, "Member In Compliance State");
        using var pending = await client.PatchAsJsonAsync(path, new { status = "pending" });
        Assert.That((await pending.JsonAsync())["status"]!.GetValue<string>(), Is.EqualTo("pending"));
    }

    [Test]
    public async Task Status_overwrites_on_an_existing_member()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        var path = $"lists/{listId}/members/{SandboxTestKit.Hash("d@shop.test")}";
        await client.PutAsJsonAsync(path, new { email_address = "d@shop.test", status_if_new = "subscribed" });
        using var put = await client.PutAsJsonAsync(path, new { email_address = "d@shop.test", status_if_new = "subscribed", status = "unsubscribed" });
        Assert.That((await put.JsonAsync())["status"]!.GetValue<string>(), Is.EqualTo("unsubscribed"));
    }

    [Test]
    public async Task Post_member_creates_with_tags_and_refuses_an_existing_member()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        using var created = await client.PostAsJsonAsync($"lists/{listId}/members", new { email_address = "e@shop.test", status = "subscribed", tags = new[] { "vip", "2024" } });
        var member = await created.JsonAsync();
        Assert.That(member["tags_count"]!.GetValue<int>(), Is.EqualTo(2));
        Assert.That(member["tags"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()), Is.EqualTo(new[] { "vip", "2024" }));
        await AssertProblemAsync(await client.PostAsJsonAsync($"lists/{listId}/members", SandboxTestKit.Member("e@shop.test")),
            HttpStatusCode.BadRequest, "Member Exists", "e@shop.test is already a list member");
        await AssertProblemAsync(await client.PostAsJsonAsync($"lists/{listId}/members", new { email_address = "f@shop.test" }), HttpStatusCode.BadRequest, "Invalid Resource");
    }

    [TestCase("not-an-email")]
    [TestCase("fake.person@shop.test")]
    [TestCase("someone@example.invalid")]
    [TestCase("two@@shop.test")]
    public async Task Fake_or_invalid_emails_are_refused(string email)
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        await AssertProblemAsync(await client.PostAsJsonAsync($"lists/{listId}/members", SandboxTestKit.Member(email)),
            HttpStatusCode.BadRequest, "Invalid Resource", $"{email} looks fake or invalid, please enter a real email address.");
    }

    [Test]
    public async Task Get_unknown_member_is_404()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        await AssertProblemAsync(await client.GetAsync($"lists/{listId}/members/{SandboxTestKit.Hash("nobody@shop.test")}"), HttpStatusCode.NotFound, "Resource Not Found");
    }

    [Test]
    public async Task Members_filter_by_status_and_page()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        for (var i = 0; i < 15; i++)
            await client.PostAsJsonAsync($"lists/{listId}/members", SandboxTestKit.Member($"m{i}@shop.test", i < 12 ? "subscribed" : "unsubscribed"));
        var page = await (await client.GetAsync($"lists/{listId}/members")).JsonAsync();
        Assert.That(page["members"]!.AsArray(), Has.Count.EqualTo(10));
        Assert.That(page["total_items"]!.GetValue<int>(), Is.EqualTo(15));
        var unsubscribed = await (await client.GetAsync($"lists/{listId}/members?status=unsubscribed&count=2&offset=2")).JsonAsync();
        Assert.That(unsubscribed["total_items"]!.GetValue<int>(), Is.EqualTo(3));
        Assert.That(unsubscribed["members"]!.AsArray(), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Delete_archives_and_refuses_cleaned_pending_or_archived_members()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        await client.PostAsJsonAsync($"lists/{listId}/members", SandboxTestKit.Member("g@shop.test"));
        using var archived = await client.DeleteAsync($"lists/{listId}/members/{SandboxTestKit.Hash("g@shop.test")}");
        Assert.That(archived.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        var member = await (await client.GetAsync($"lists/{listId}/members/{SandboxTestKit.Hash("g@shop.test")}")).JsonAsync();
        Assert.That(member["status"]!.GetValue<string>(), Is.EqualTo("archived"));
        var listed = await (await client.GetAsync($"lists/{listId}/members?status=archived")).JsonAsync();
        Assert.That(listed["total_items"]!.GetValue<int>(), Is.EqualTo(1));

        await AssertProblemAsync(await client.DeleteAsync($"lists/{listId}/members/{SandboxTestKit.Hash("g@shop.test")}"), HttpStatusCode.MethodNotAllowed, "Method Not Allowed");
        await client.PostAsJsonAsync($"lists/{listId}/members", SandboxTestKit.Member("p@shop.test", "pending"));
        await AssertProblemAsync(await client.DeleteAsync($"lists/{listId}/members/{SandboxTestKit.Hash("p@shop.test")}"), HttpStatusCode.MethodNotAllowed, "Method Not Allowed");
        await _host.SetMemberStatusAsync(listId, "x@shop.test", "cleaned");
        await AssertProblemAsync(await client.DeleteAsync($"lists/{listId}/members/{SandboxTestKit.Hash("x@shop.test")}"), HttpStatusCode.MethodNotAllowed, "Method Not Allowed");

        using var readded = await client.PutAsJsonAsync($"lists/{listId}/members/{SandboxTestKit.Hash("g@shop.test")}", new { email_address = "g@shop.test", status_if_new = "subscribed" });
        Assert.That((await readded.JsonAsync())["status"]!.GetValue<string>(), Is.EqualTo("subscribed"));
    }

    [Test]
    public async Task Permanently_deleted_member_cannot_be_added_again()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        await client.PostAsJsonAsync($"lists/{listId}/members", SandboxTestKit.Member("h@shop.test"));
        using var deleted = await client.PostAsync($"lists/{listId}/members/{SandboxTestKit.Hash("h@shop.test")}/actions/delete-permanent", null);
        Assert.That(deleted.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        await AssertProblemAsync(await client.PostAsJsonAsync($"lists/{listId}/members", SandboxTestKit.Member("h@shop.test")),
            HttpStatusCode.BadRequest, "Forgotten Email Not Subscribed", "was permanently deleted and cannot be re-imported");
        await AssertProblemAsync(await client.PutAsJsonAsync($"lists/{listId}/members/{SandboxTestKit.Hash("h@shop.test")}", new { email_address = "h@shop.test", status_if_new = "subscribed" }),
            HttpStatusCode.BadRequest, "Forgotten Email Not Subscribed");
        Assert.That(await _host.GetMembersAsync(listId), Is.Empty);
    }

    [Test]
    public async Task Tags_are_added_and_removed_and_shown_on_reads()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        await client.PostAsJsonAsync($"lists/{listId}/members", new { email_address = "t@shop.test", status = "subscribed", tags = new[] { "old" } });
        var path = $"lists/{listId}/members/{SandboxTestKit.Hash("t@shop.test")}";
        using var response = await client.PostAsJsonAsync($"{path}/tags", new { tags = new[] { new { name = "new", status = "active" }, new { name = "old", status = "inactive" } }, is_syncing = true });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        var member = await (await client.GetAsync(path)).JsonAsync();
        Assert.That(member["tags"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()), Is.EqualTo(new[] { "new" }));
        Assert.That(member["tags"]![0]!["id"]!.GetValue<int>(), Is.Positive);
        Assert.That(member["tags_count"]!.GetValue<int>(), Is.EqualTo(1));
        await AssertProblemAsync(await client.PostAsJsonAsync($"{path}/tags", new { tags = new[] { new { name = "x", status = "maybe" } } }), HttpStatusCode.BadRequest, "Invalid Resource");
    }

    [Test]
    public async Task Member_tags_are_read_with_id_name_and_date_added_and_paged()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        await client.PostAsJsonAsync($"lists/{listId}/members", new { email_address = "g@shop.test", status = "subscribed", tags = new[] { "first" } });
        var path = $"lists/{listId}/members/{SandboxTestKit.Hash("g@shop.test")}";
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        using (var added = await client.PostAsJsonAsync($"{path}/tags", new { tags = new[] { new { name = "second", status = "active" } } }))
        {
            Assert.That(added.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        }

        var tags = await (await client.GetAsync($"{path}/tags")).JsonAsync();
        Assert.Multiple(() =>
        {
            Assert.That(tags["total_items"]!.GetValue<int>(), Is.EqualTo(2));
            Assert.That(tags["tags"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()), Is.EqualTo(new[] { "first", "second" }));
            Assert.That(tags["tags"]!.AsArray().Select(t => t!["id"]!.GetValue<int>()), Is.All.Positive);
            Assert.That(tags["tags"]!.AsArray().Select(t => t!["id"]!.GetValue<int>()), Is.Unique);
            Assert.That(tags["tags"]![1]!["date_added"]!.GetValue<DateTimeOffset>(), Is.GreaterThan(before));
        });

        var page = await (await client.GetAsync($"{path}/tags?count=1&offset=1")).JsonAsync();
        Assert.That(page["tags"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()), Is.EqualTo(new[] { "second" }));
        Assert.That(page["total_items"]!.GetValue<int>(), Is.EqualTo(2));
        await AssertProblemAsync(await client.GetAsync($"lists/{listId}/members/{SandboxTestKit.Hash("nobody@shop.test")}/tags"), HttpStatusCode.NotFound, "Resource Not Found");
        await AssertProblemAsync(await client.GetAsync($"lists/nope/members/{SandboxTestKit.Hash("g@shop.test")}/tags"), HttpStatusCode.NotFound, "Resource Not Found");
    }

    [Test]
    public async Task Unknown_routes_get_404_and_wrong_methods_405_with_Allow_as_Mailchimp_problems()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        await AssertProblemAsync(await client.GetAsync("campaigns"), HttpStatusCode.NotFound, "Resource Not Found");
        await AssertProblemAsync(await client.GetAsync($"lists/{listId}/segments/1/members"), HttpStatusCode.NotFound, "Resource Not Found");

        using var put = await client.PutAsJsonAsync($"lists/{listId}", new { name = "x" });
        Assert.That(put.Content.Headers.Allow, Is.EquivalentTo(new[] { "GET", "PATCH", "DELETE", "POST" }));
        await AssertProblemAsync(put, HttpStatusCode.MethodNotAllowed, "Method Not Allowed");
        await AssertProblemAsync(await client.DeleteAsync("ping"), HttpStatusCode.MethodNotAllowed, "Method Not Allowed");

        using var anonymous = new HttpClient { BaseAddress = new Uri(_host.BaseUrl, "us21/3.0/") };
        await AssertProblemAsync(await anonymous.GetAsync("campaigns"), HttpStatusCode.Unauthorized, "API Key Invalid");
        using var raw = new HttpClient { BaseAddress = _host.BaseUrl };
        await AssertProblemAsync(await raw.GetAsync("nothing/here"), HttpStatusCode.NotFound, "Resource Not Found");
        await AssertProblemAsync(await raw.DeleteAsync("_control/accounts"), HttpStatusCode.MethodNotAllowed, "Method Not Allowed");
        await AssertProblemAsync(await raw.PutAsync("oauth2/token", null), HttpStatusCode.MethodNotAllowed, "Method Not Allowed");
    }

    [TestCase("lists?count=ten", "count")]
    [TestCase("lists?offset=1.5", "offset")]
    public async Task A_count_or_offset_that_is_not_a_whole_number_is_invalid_resource(string query, string field)
    {
        var (_, client, _) = await _host.NewAudienceAsync();
        using var response = await client.GetAsync(query);
        var body = await response.Content.ReadAsStringAsync();
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "Invalid Resource");
        Assert.That(body, Does.Contain($"\"field\":\"{field}\""));
    }

    [Test]
    public async Task New_audience_has_default_merge_fields_and_required_ones_are_enforced()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        var fields = await (await client.GetAsync($"lists/{listId}/merge-fields")).JsonAsync();
        Assert.That(fields["merge_fields"]!.AsArray().Select(f => f!["tag"]!.GetValue<string>()), Is.EqualTo(new[] { "FNAME", "LNAME", "ADDRESS", "PHONE" }));

        using var added = await client.PostAsJsonAsync($"lists/{listId}/merge-fields", new { name = "Shoe size", type = "number", tag = "SHOE", required = true });
        Assert.That((await added.JsonAsync())["tag"]!.GetValue<string>(), Is.EqualTo("SHOE"));

        var path = $"lists/{listId}/members/{SandboxTestKit.Hash("s@shop.test")}";
        await AssertProblemAsync(await client.PutAsJsonAsync(path, new { email_address = "s@shop.test", status_if_new = "subscribed" }),
            HttpStatusCode.BadRequest, "Invalid Resource", "Your merge fields were invalid.");
        using var skipped = await client.PutAsJsonAsync(path + "?skip_merge_validation=true", new { email_address = "s@shop.test", status_if_new = "subscribed" });
        Assert.That(skipped.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using var complete = await client.PutAsJsonAsync(path, new { email_address = "s@shop.test", status_if_new = "subscribed", merge_fields = new { SHOE = 44 } });
        Assert.That(complete.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await AssertProblemAsync(await client.PostAsJsonAsync($"lists/{listId}/merge-fields", new { name = "Bad", type = "color" }), HttpStatusCode.BadRequest, "Invalid Resource");
    }

    // ---- Batch subscribe ----

    [Test]
    public async Task Batch_subscribe_refuses_more_than_500_members()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        var members = Enumerable.Range(0, 501).Select(i => SandboxTestKit.Member($"b{i}@shop.test")).ToArray();
        await AssertProblemAsync(await client.PostAsJsonAsync($"lists/{listId}", new { members }), HttpStatusCode.BadRequest, "Invalid Resource");
        Assert.That(await _host.GetMembersAsync(listId), Is.Empty);
    }

    [Test]
    public async Task Batch_subscribe_creates_500_members_in_one_call()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        var members = Enumerable.Range(0, 500).Select(i => SandboxTestKit.Member($"b{i}@shop.test")).ToArray();
        var result = await (await client.PostAsJsonAsync($"lists/{listId}", new { members })).JsonAsync();
        Assert.That(result["total_created"]!.GetValue<int>(), Is.EqualTo(500));
        Assert.That(result["error_count"]!.GetValue<int>(), Is.Zero);
        Assert.That(await _host.GetMembersAsync(listId), Has.Count.EqualTo(500));
    }

    [Test]
    public async Task Fields_keeps_and_exclude_fields_drops_named_properties_through_arrays()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        var members = new[] { SandboxTestKit.Member("p1@shop.test"), SandboxTestKit.Member("p2@shop.test") };
        var kept = await (await client.PostAsJsonAsync($"lists/{listId}?fields=new_members.email_address,total_created,errors", new { members })).JsonAsync();
        Assert.That(kept.Select(property => property.Key), Is.EquivalentTo(new[] { "new_members", "total_created", "errors" }));
        Assert.That(kept["new_members"]!.AsArray().Select(member => member!.AsObject().Select(property => property.Key).Single()), Is.All.EqualTo("email_address"));
        Assert.That(kept["new_members"]!.AsArray().Select(member => member!["email_address"]!.GetValue<string>()), Is.EquivalentTo(new[] { "p1@shop.test", "p2@shop.test" }));

        var page = await (await client.GetAsync($"lists/{listId}/members?exclude_fields=members._links,members.merge_fields,_links")).JsonAsync();
        Assert.That(page.ContainsKey("_links"), Is.False);
        Assert.That(page["total_items"]!.GetValue<int>(), Is.EqualTo(2));
        var member = page["members"]![0]!.AsObject();
        Assert.That(member.ContainsKey("email_address") && !member.ContainsKey("_links") && !member.ContainsKey("merge_fields"), Is.True, member.ToJsonString());

        await AssertProblemAsync(await client.GetAsync($"lists/{listId}/members?fields=members&exclude_fields=_links"), HttpStatusCode.BadRequest, "Invalid Resource");
        await AssertProblemAsync(await client.PostAsJsonAsync($"lists/{listId}?fields=errors&exclude_fields=_links", new { members = new[] { SandboxTestKit.Member("p3@shop.test") } }),
            HttpStatusCode.BadRequest, "Invalid Resource");
        Assert.That(await _host.GetMembersAsync(listId), Has.Count.EqualTo(2), "refused before the batch was applied");
        await AssertProblemAsync(await client.GetAsync($"lists/nope/members?fields=members"), HttpStatusCode.NotFound, "Resource Not Found");
    }

    [Test]
    public async Task Partial_responses_keep_values_as_they_were_and_whole_objects_whole()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        const string name = "Zoë \"Q\" <b>&amp; \\ \u2028 😀";
        using var put = await client.PutAsJsonAsync($"lists/{listId}/members/{SandboxTestKit.Hash("q@shop.test")}",
            new { email_address = "q@shop.test", status_if_new = "subscribed", merge_fields = new { FNAME = name } });
        Assert.That(put.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var kept = await (await client.GetAsync($"lists/{listId}/members?fields=members.merge_fields,members.stats,total_items")).JsonAsync();
        var member = kept["members"]![0]!.AsObject();
        Assert.That(member.Select(property => property.Key), Is.EquivalentTo(new[] { "merge_fields", "stats" }));
        Assert.That(member["merge_fields"]!["FNAME"]!.GetValue<string>(), Is.EqualTo(name));
        Assert.That(member["stats"]!.AsObject(), Has.Count.GreaterThan(1), "a kept object is kept whole");
        Assert.That(kept["total_items"]!.GetValue<int>(), Is.EqualTo(1));

        var dropped = await (await client.GetAsync($"lists/{listId}/members?exclude_fields=members.stats,members._links")).JsonAsync();
        Assert.That(dropped["members"]![0]!["merge_fields"]!["FNAME"]!.GetValue<string>(), Is.EqualTo(name));
        Assert.That(dropped["members"]![0]!.AsObject().ContainsKey("stats"), Is.False);
        Assert.That(dropped["members"]![0]!["location"]!.AsObject(), Has.Count.GreaterThan(1), "what is not named is kept whole");
    }

    [Test]
    public async Task Fields_keep_exactly_what_each_path_names_where_one_type_sits_under_several_paths()
    {
        // The sandbox leaves out, while serializing, what no path can keep (SandboxPartialResponse.Narrowed); what each path
        // keeps must still be exact, also for one type under two paths, a path into a dictionary and a value kept whole.
        var (_, client, listId) = await _host.NewAudienceAsync();
        await client.PostAsJsonAsync($"lists/{listId}/members", SandboxTestKit.Member("old@shop.test"));
        var members = new[] { SandboxTestKit.Member("old@shop.test"), SandboxTestKit.Member("new@shop.test") };

        var batch = await (await client.PostAsJsonAsync($"lists/{listId}?fields=new_members.email_address,updated_members.status,updated_members.location.latitude",
            new { members, update_existing = true })).JsonAsync();
        Assert.That(batch.Select(property => property.Key), Is.EquivalentTo(new[] { "new_members", "updated_members" }));
        Assert.That(batch["new_members"]!.AsArray().Single()!.AsObject().Select(property => property.Key), Is.EqualTo(new[] { "email_address" }));
        var updated = batch["updated_members"]!.AsArray().Single()!.AsObject();
        Assert.That(updated.Select(property => property.Key), Is.EquivalentTo(new[] { "status", "location" }));
        Assert.That(updated["location"]!.AsObject().Select(property => property.Key), Is.EqualTo(new[] { "latitude" }));

        var page = await (await client.GetAsync($"lists/{listId}/members?fields=members.merge_fields.FNAME,members.stats,total_items")).JsonAsync();
        Assert.That(page.Select(property => property.Key), Is.EquivalentTo(new[] { "members", "total_items" }));
        foreach (var member in page["members"]!.AsArray())
        {
            Assert.That(member!["merge_fields"]!.AsObject().Select(property => property.Key), Is.EqualTo(new[] { "FNAME" }));
            Assert.That(member["stats"]!.AsObject().Select(property => property.Key), Is.EquivalentTo(new[] { "avg_open_rate", "avg_click_rate" }), "kept whole");
        }

        var whole = await (await client.GetAsync($"lists/{listId}/members?fields=members,total_items")).JsonAsync();
        var full = await (await client.GetAsync($"lists/{listId}/members")).JsonAsync();
        Assert.That(whole["members"]!.ToJsonString(), Is.EqualTo(full["members"]!.ToJsonString()), "a list named alone is kept whole");

        // One type (a member) entered by one path and kept whole under another: kept whole there, cut down only where entered.
        var again = await (await client.PostAsJsonAsync($"lists/{listId}?fields=new_members.email_address,updated_members",
            new { members = new[] { SandboxTestKit.Member("old@shop.test"), SandboxTestKit.Member("third@shop.test") }, update_existing = true })).JsonAsync();
        Assert.That(again["new_members"]!.AsArray().Single()!.AsObject().Select(property => property.Key), Is.EqualTo(new[] { "email_address" }));
        var fullMember = full["members"]!.AsArray().First()!.AsObject().Select(property => property.Key);
        Assert.That(again["updated_members"]!.AsArray().Single()!.AsObject().Select(property => property.Key), Is.EquivalentTo(fullMember));
    }

    [Test]
    public async Task Batch_subscribe_reports_existing_members_unless_update_existing()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        await client.PostAsJsonAsync($"lists/{listId}/members", SandboxTestKit.Member("a@shop.test", "pending"));
        var members = new[] { SandboxTestKit.Member("a@shop.test"), SandboxTestKit.Member("new@shop.test") };

        var plain = await (await client.PostAsJsonAsync($"lists/{listId}", new { members })).JsonAsync();
        Assert.That(plain["total_created"]!.GetValue<int>(), Is.EqualTo(1));
        Assert.That(plain["error_count"]!.GetValue<int>(), Is.EqualTo(1));
        Assert.That(plain["errors"]![0]!["email_address"]!.GetValue<string>(), Is.EqualTo("a@shop.test"));
        Assert.That(plain["errors"]![0]!["error_code"]!.GetValue<string>(), Is.EqualTo("ERROR_CONTACT_EXISTS"));

        var update = await (await client.PostAsJsonAsync($"lists/{listId}", new { members, update_existing = true })).JsonAsync();
        Assert.That(update["total_updated"]!.GetValue<int>(), Is.EqualTo(2));
        Assert.That(update["updated_members"]!.AsArray().Select(m => m!["status"]!.GetValue<string>()), Is.All.EqualTo("subscribed"));
    }

    [Test]
    public async Task Batch_subscribe_members_need_status_as_documented_and_status_if_new_is_not_a_batch_field()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        // status_if_new is documented for the member PUT only (spec putListsIdMembersId); a batch member has status (postListsId).
        var members = new object[] { new { email_address = "if-new@shop.test", status_if_new = "subscribed" }, SandboxTestKit.Member("ok@shop.test") };

        var result = await (await client.PostAsJsonAsync($"lists/{listId}", new { members, update_existing = true })).JsonAsync();

        Assert.Multiple(() =>
        {
            Assert.That(result["total_created"]!.GetValue<int>(), Is.EqualTo(1));
            Assert.That(result["errors"]![0]!["email_address"]!.GetValue<string>(), Is.EqualTo("if-new@shop.test"));
            Assert.That(result["errors"]![0]!["error"]!.GetValue<string>(), Does.Contain("status"));
        });
    }

    [Test]
    public async Task Batch_subscribe_applies_compliance_forgotten_and_fake_rules_per_member()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        await _host.SetMemberStatusAsync(listId, "unsub@shop.test", "unsubscribed");
        await client.PostAsJsonAsync($"lists/{listId}/members", SandboxTestKit.Member("gone@shop.test"));
        await client.PostAsync($"lists/{listId}/members/{SandboxTestKit.Hash("gone@shop.test")}/actions/delete-permanent", null);
        var members = new[] { SandboxTestKit.Member("unsub@shop.test"), SandboxTestKit.Member("gone@shop.test"), SandboxTestKit.Member("fake1@shop.test"), SandboxTestKit.Member("ok@shop.test") };

        var result = await (await client.PostAsJsonAsync($"lists/{listId}", new { members, update_existing = true })).JsonAsync();
        Assert.That(result["total_created"]!.GetValue<int>(), Is.EqualTo(1));
        Assert.That(result["error_count"]!.GetValue<int>(), Is.EqualTo(3));
        var errors = result["errors"]!.AsArray().ToDictionary(e => e!["email_address"]!.GetValue<string>(), e => e!["error"]!.GetValue<string>());
        Assert.That(errors["unsub@shop.test"], Does.Contain("compliance state"));
        Assert.That(errors["gone@shop.test"], Does.Contain("permanently deleted"));
        Assert.That(errors["fake1@shop.test"], Does.Contain("looks fake or invalid"));
        Assert.That(result["errors"]!.AsArray().Select(e => e!["error_code"]!.GetValue<string>()), Is.All.EqualTo("ERROR_GENERIC"));
    }

    [Test]
    public async Task Batch_subscribe_adds_tags_and_sync_tags_replaces_them()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        await client.PostAsJsonAsync($"lists/{listId}/members", new { email_address = "t@shop.test", status = "subscribed", tags = new[] { "old" } });
        object Tagged(params string[] tags) => new { email_address = "t@shop.test", status = "subscribed", tags };

        await client.PostAsJsonAsync($"lists/{listId}", new { members = new[] { Tagged("added") }, update_existing = true });
        Assert.That((await _host.GetMembersAsync(listId))[0].Tags, Is.EqualTo(new[] { "old", "added" }));

        await client.PostAsJsonAsync($"lists/{listId}", new { members = new[] { Tagged("only") }, update_existing = true, sync_tags = true });
        Assert.That((await _host.GetMembersAsync(listId))[0].Tags, Is.EqualTo(new[] { "only" }));
    }

    [Test]
    public async Task Batch_subscribe_enforces_required_merge_fields_unless_skipped()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        await client.PostAsJsonAsync($"lists/{listId}/merge-fields", new { name = "City", type = "text", tag = "CITY", required = true });
        var members = new[] { SandboxTestKit.Member("m@shop.test") };
        var refused = await (await client.PostAsJsonAsync($"lists/{listId}", new { members })).JsonAsync();
        Assert.That(refused["errors"]![0]!["field"]!.GetValue<string>(), Is.EqualTo("CITY"));
        var skipped = await (await client.PostAsJsonAsync($"lists/{listId}?skip_merge_validation=true", new { members })).JsonAsync();
        Assert.That(skipped["total_created"]!.GetValue<int>(), Is.EqualTo(1));
    }

    [Test]
    public async Task Control_reads_and_sets_member_status_directly()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        await client.PostAsJsonAsync($"lists/{listId}/members", SandboxTestKit.Member("k@shop.test"));
        var changed = await _host.SetMemberStatusAsync(listId, "k@shop.test", "cleaned");
        Assert.That(changed.Status, Is.EqualTo("cleaned"));
        var member = await (await client.GetAsync($"lists/{listId}/members/k@shop.test")).JsonAsync();
        Assert.That(member["status"]!.GetValue<string>(), Is.EqualTo("cleaned"));
        var counters = await _host.GetCountersAsync();
        Assert.That(counters.MembersCreated, Is.Positive);
    }

    [TestCase("{not json")]
    [TestCase("")]
    [TestCase("[]")]
    [TestCase("\"a string\"")]
    [TestCase("{\"email_address\": \"a@shop.test\"} trailing")]
    [TestCase("{\"email_address\": \"a@shop.test\", \"email_address\": \"b@shop.test\"}")]
    [TestCase("{\"members\": [{\"email_address\": \"a@shop.test\"},]}")]
    public async Task A_body_that_is_not_one_json_object_is_a_json_parse_exception(string body)
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        await AssertProblemAsync(await client.PostAsync($"lists/{listId}/members", content), HttpStatusCode.BadRequest, "JSON Parse Exception");
        using var batch = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        await AssertProblemAsync(await client.PostAsync($"lists/{listId}", batch), HttpStatusCode.BadRequest, "JSON Parse Exception");
    }

    [Test]
    public async Task A_body_after_a_utf8_byte_order_mark_is_read()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        using var content = new ByteArrayContent([0xEF, 0xBB, 0xBF, .. System.Text.Encoding.UTF8.GetBytes("{\"email_address\": \"bom@shop.test\", \"status\": \"subscribed\"}")]);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var response = await client.PostAsync($"lists/{listId}/members", content);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task A_batch_body_read_element_by_element_keeps_every_member_and_its_values()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        var response = await client.PostAsJsonAsync($"lists/{listId}", new
        {
            members = new object[]
            {
                new { email_address = "one@shop.test", status = "subscribed", merge_fields = new { FNAME = "Ann", LNAME = "Lee" } },
                new { email_address = "two@shop.test", status = "unsubscribed" },
            },
            update_existing = false,
        });
        var answer = await response.JsonAsync();
        Assert.That(answer["total_created"]!.GetValue<int>(), Is.EqualTo(2), answer.ToJsonString());
        var one = await (await client.GetAsync($"lists/{listId}/members/one@shop.test")).JsonAsync();
        var two = await (await client.GetAsync($"lists/{listId}/members/two@shop.test")).JsonAsync();
        Assert.Multiple(() =>
        {
            Assert.That(one["merge_fields"]!["FNAME"]!.GetValue<string>(), Is.EqualTo("Ann"));
            Assert.That(one["merge_fields"]!["LNAME"]!.GetValue<string>(), Is.EqualTo("Lee"));
            Assert.That(two["status"]!.GetValue<string>(), Is.EqualTo("unsubscribed"));
        });
    }
}
