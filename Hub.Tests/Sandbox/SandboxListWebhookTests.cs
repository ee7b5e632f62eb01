using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Sandbox;

/// <summary>
/// The sandbox's Mailchimp list webhooks over real HTTP: the marketing routes, the validation GET, and the signed,
/// form-encoded deliveries that member changes fire (FACTS.md §9), received by a loopback <see cref="ListWebhookReceiver"/>.
/// </summary>
public sealed class SandboxListWebhookTests
{
    private static readonly object AllEvents = new { subscribe = true, unsubscribe = true, profile = true, cleaned = true, upemail = true };
    private static readonly object AllSources = new { user = true, admin = true, api = true };
    private static readonly string[] MemberKeys =
        ["data[id]", "data[list_id]", "data[email]", "data[email_type]", "data[merges][EMAIL]", "data[merges][FNAME]", "data[merges][LNAME]",
         "data[merges][ADDRESS]", "data[merges][PHONE]", "data[ip_opt]", "data[ip_signup]"];

    private SandboxHost _host = null!;
    private ListWebhookReceiver _receiver = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _host = await SandboxHost.StartAsync(o => o.WebhookFirstRetryDelay = TimeSpan.FromMilliseconds(100));
        _receiver = await ListWebhookReceiver.StartAsync();
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _receiver.DisposeAsync();
        await _host.DisposeAsync();
    }

    private static async Task<JsonObject> CreateWebhookAsync(HttpClient client, string listId, string url, object? events = null, object? sources = null)
    {
        using var response = await client.PostAsJsonAsync($"lists/{listId}/webhooks", new { url, events = events ?? AllEvents, sources = sources ?? AllSources });
        var body = await response.JsonAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        return body;
    }

    private static async Task AssertInvalidUrlAsync(HttpResponseMessage response)
    {
        var body = await response.JsonAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body.ToJsonString());
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That((string?)body["title"], Is.EqualTo("Invalid Resource"));
            Assert.That((string?)body["detail"], Does.StartWith("The resource submitted could not be validated."));
            Assert.That(body["errors"]!.AsArray().Select(e => (string?)e!["field"]), Is.EqualTo(new[] { "url" }));
        });
    }

    private static Dictionary<string, string> Merge(string first, string last) => new() { ["FNAME"] = first, ["LNAME"] = last };

    // ---- The marketing routes ----

    [Test]
    public async Task Create_checks_the_url_with_a_validation_GET_and_shows_the_signing_secret_only_once()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        var url = _receiver.NewUrl();
        var created = await CreateWebhookAsync(client, listId, url, new { unsubscribe = true, cleaned = true }, new { user = true });
        var id = (string)created["id"]!;

        Assert.Multiple(() =>
        {
            Assert.That(_receiver.Gets, Does.Contain((url[(url.LastIndexOf('/') + 1)..], "MailChimp.com WebHook Validator")));
            Assert.That((string?)created["url"], Is.EqualTo(url));
            Assert.That((string?)created["list_id"], Is.EqualTo(listId));
            Assert.That(JsonNode.DeepEquals(created["events"], JsonNode.Parse("""{"subscribe":false,"unsubscribe":true,"profile":false,"cleaned":true,"upemail":false,"campaign":false}""")),
                created["events"]!.ToJsonString());
            Assert.That(JsonNode.DeepEquals(created["sources"], JsonNode.Parse("""{"user":true,"admin":false,"api":false}""")), created["sources"]!.ToJsonString());
            Assert.That((string?)created["signing_secret"], Has.Length.EqualTo(64));
            Assert.That((bool?)created["signing_enabled"], Is.True);
            Assert.That(created["_links"]!.AsArray().Select(l => $"{l!["rel"]} {l["method"]} {l["href"]}"),
                Does.Contain($"self GET {_host.ApiBase("us21")}/lists/{listId}/webhooks/{id}"));
        });

        var one = await (await client.GetAsync($"lists/{listId}/webhooks/{id}")).JsonAsync();
        var all = await (await client.GetAsync($"lists/{listId}/webhooks")).JsonAsync();
        Assert.Multiple(() =>
        {
            Assert.That((string?)one["signing_secret"], Is.Empty);
            Assert.That((bool?)one["signing_enabled"], Is.True);
            Assert.That(JsonNode.DeepEquals(one["events"], created["events"]), Is.True);
            Assert.That((int?)all["total_items"], Is.EqualTo(1));
            Assert.That((string?)all["list_id"], Is.EqualTo(listId));
            Assert.That(all["webhooks"]!.AsArray().Select(w => (string?)w!["id"]), Is.EqualTo(new[] { id }));
            Assert.That((string?)all["webhooks"]![0]!["signing_secret"], Is.Empty);
            Assert.That(all["_links"]!.AsArray().Select(l => (string?)l!["rel"]), Does.Contain("create"));
        });
    }

    [Test]
    public async Task A_url_that_fails_the_validation_GET_or_is_not_absolute_http_is_refused_and_nothing_is_stored()
    {
        await using var failing = await ListWebhookReceiver.StartAsync();
        failing.GetStatus = 500;
        var (_, client, listId) = await _host.NewAudienceAsync();

        await AssertInvalidUrlAsync(await client.PostAsJsonAsync($"lists/{listId}/webhooks", new { url = failing.NewUrl(), events = AllEvents, sources = AllSources }));
        await AssertInvalidUrlAsync(await client.PostAsJsonAsync($"lists/{listId}/webhooks", new { url = "http://127.0.0.1:1/nobody-listens", events = AllEvents }));
        await AssertInvalidUrlAsync(await client.PostAsJsonAsync($"lists/{listId}/webhooks", new { url = "/relative/hook" }));
        await AssertInvalidUrlAsync(await client.PostAsJsonAsync($"lists/{listId}/webhooks", new { url = "ftp://127.0.0.1/hook" }));
        await AssertInvalidUrlAsync(await client.PostAsJsonAsync($"lists/{listId}/webhooks", new { events = AllEvents }));

        Assert.That(failing.Gets, Has.Count.EqualTo(1));
        var all = await (await client.GetAsync($"lists/{listId}/webhooks")).JsonAsync();
        Assert.That((int?)all["total_items"], Is.EqualTo(0));
        Assert.That(await _host.GetWebhooksAsync(listId), Is.Empty);
    }

    [Test]
    public async Task Patch_changes_only_what_is_sent_and_validates_a_new_url()
    {
        await using var failing = await ListWebhookReceiver.StartAsync();
        failing.GetStatus = 404;
        var (_, client, listId) = await _host.NewAudienceAsync();
        var url = _receiver.NewUrl();
        var id = (string)(await CreateWebhookAsync(client, listId, url, new { unsubscribe = true }, new { user = true }))["id"]!;
        var path = $"lists/{listId}/webhooks/{id}";

        using (var patched = await client.PatchAsJsonAsync(path, new { events = new { cleaned = true }, sources = new { admin = true } }))
        {
            var body = await patched.JsonAsync();
            Assert.That(patched.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
            Assert.That(JsonNode.DeepEquals(body["events"], JsonNode.Parse("""{"subscribe":false,"unsubscribe":true,"profile":false,"cleaned":true,"upemail":false,"campaign":false}""")), body.ToJsonString());
            Assert.That(JsonNode.DeepEquals(body["sources"], JsonNode.Parse("""{"user":true,"admin":true,"api":false}""")), body.ToJsonString());
            Assert.That((string?)body["signing_secret"], Is.Empty);
        }

        await AssertInvalidUrlAsync(await client.PatchAsJsonAsync(path, new { url = failing.NewUrl() }));
        Assert.That((string?)(await (await client.GetAsync(path)).JsonAsync())["url"], Is.EqualTo(url));

        var moved = _receiver.NewUrl("moved");
        using (var patched = await client.PatchAsJsonAsync(path, new { url = moved }))
            Assert.That((string?)(await patched.JsonAsync())["url"], Is.EqualTo(moved));
        Assert.That(_receiver.Gets.Select(g => g.Name), Does.Contain(moved[(moved.LastIndexOf('/') + 1)..]));
    }

    [Test]
    public async Task Delete_removes_a_webhook_and_unknown_ids_other_accounts_and_deleted_lists_get_404()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        var (_, stranger, _) = await _host.NewAudienceAsync();
        var id = (string)(await CreateWebhookAsync(client, listId, _receiver.NewUrl()))["id"]!;
        var second = (string)(await CreateWebhookAsync(client, listId, _receiver.NewUrl()))["id"]!;

        Assert.Multiple(async () =>
        {
            Assert.That((await stranger.GetAsync($"lists/{listId}/webhooks")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That((await stranger.GetAsync($"lists/{listId}/webhooks/{id}")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That((await stranger.PostAsJsonAsync($"lists/{listId}/webhooks", new { url = _receiver.NewUrl() })).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That((await stranger.PatchAsJsonAsync($"lists/{listId}/webhooks/{id}", new { events = AllEvents })).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That((await stranger.DeleteAsync($"lists/{listId}/webhooks/{id}")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That((await client.GetAsync($"lists/{listId}/webhooks/0123456789")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That((await client.GetAsync("lists/0123456789/webhooks")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        });

        Assert.That((await client.DeleteAsync($"lists/{listId}/webhooks/{id}")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        Assert.That((await client.GetAsync($"lists/{listId}/webhooks/{id}")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await client.DeleteAsync($"lists/{listId}/webhooks/{id}")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await _host.GetWebhooksAsync(listId)).Select(w => w.Id), Is.EqualTo(new[] { second }));

        Assert.That((await client.DeleteAsync($"lists/{listId}")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        Assert.That(await _host.GetWebhooksAsync(listId), Is.Empty);
    }

    // ---- What fires, for whom ----

    [Test]
    public async Task Api_writes_reach_only_api_source_webhooks_and_control_changes_only_user_or_admin_ones_whose_event_is_on()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        var api = _receiver.NewUrl("api");
        var people = _receiver.NewUrl("people");
        var cleanedOnly = _receiver.NewUrl("cleaned-only");
        await CreateWebhookAsync(client, listId, api, sources: new { api = true });
        await CreateWebhookAsync(client, listId, people, sources: new { user = true, admin = true });
        await CreateWebhookAsync(client, listId, cleanedOnly, events: new { cleaned = true }, sources: AllSources);

        using (await client.PutAsJsonAsync($"lists/{listId}/members/{SandboxTestKit.Hash("ann@shop.test")}", new { email_address = "ann@shop.test", status_if_new = "subscribed" })) { }
        await _host.SetMemberStatusAsync(listId, "ann@shop.test", "unsubscribed", source: "user");
        await _host.SetMemberStatusAsync(listId, "ann@shop.test", "unsubscribed", source: "admin"); // no change, no event
        await _host.WaitForWebhookDeliveriesAsync();

        Assert.Multiple(() =>
        {
            Assert.That(_receiver.PostsTo(api).Select(p => p.Type), Is.EqualTo(new[] { "subscribe" }));
            Assert.That(_receiver.PostsTo(people).Select(p => p.Type), Is.EqualTo(new[] { "unsubscribe" }));
            Assert.That(_receiver.PostsTo(cleanedOnly), Is.Empty);
        });
    }

    [Test]
    public async Task A_delivery_is_a_signed_form_post_with_Mailchimps_keys_for_subscribe_and_unsubscribe()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        var url = _receiver.NewUrl();
        var secret = (string)(await CreateWebhookAsync(client, listId, url))["signing_secret"]!;
        var hash = SandboxTestKit.Hash("ann@shop.test");
        using (await client.PutAsJsonAsync($"lists/{listId}/members/{hash}", new
        {
            email_address = "ann@shop.test", status_if_new = "subscribed", merge_fields = Merge("Ann Marie", "Lee&Co"), ip_signup = "10.0.0.1", ip_opt = "10.0.0.2",
        }))
        {
        }
        await _host.SetMemberStatusAsync(listId, "ann@shop.test", "unsubscribed", source: "user", campaignId: "cmp123");
        using (await client.PutAsJsonAsync($"lists/{listId}/members/{SandboxTestKit.Hash("bob@shop.test")}", new { email_address = "bob@shop.test", status_if_new = "subscribed" })) { }
        using (await client.DeleteAsync($"lists/{listId}/members/{SandboxTestKit.Hash("bob@shop.test")}")) { }

        var posts = await _receiver.WaitForAsync(url, 4);
        var (subscribe, unsubscribe, deleted) = (posts[0], posts[1], posts[3]);
        var text = Encoding.UTF8.GetString(subscribe.RawBody);
        Assert.Multiple(() =>
        {
            Assert.That(posts.Select(p => p.Type), Is.EqualTo(new[] { "subscribe", "unsubscribe", "subscribe", "unsubscribe" }));
            Assert.That(subscribe.ContentType, Is.EqualTo("application/x-www-form-urlencoded"));
            Assert.That(subscribe.Keys, Is.EqualTo(new[] { "type", "fired_at" }.Concat(MemberKeys)));
            Assert.That(subscribe.Form["fired_at"], Does.Match(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"));
            Assert.That(DateTime.ParseExact(subscribe.Form["fired_at"], "yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture),
                Is.EqualTo(DateTime.UtcNow).Within(TimeSpan.FromMinutes(1)));
            Assert.That(subscribe.Form["data[id]"], Is.EqualTo(hash));
            Assert.That(subscribe.Form["data[list_id]"], Is.EqualTo(listId));
            Assert.That(subscribe.Form["data[email]"], Is.EqualTo("ann@shop.test"));
            Assert.That(subscribe.Form["data[email_type]"], Is.EqualTo("html"));
            Assert.That(subscribe.Form["data[merges][EMAIL]"], Is.EqualTo("ann@shop.test"));
            Assert.That(subscribe.Form["data[merges][FNAME]"], Is.EqualTo("Ann Marie"));
            Assert.That(subscribe.Form["data[merges][LNAME]"], Is.EqualTo("Lee&Co"));
            Assert.That(subscribe.Form["data[ip_signup]"], Is.EqualTo("10.0.0.1"));
            Assert.That(subscribe.Form["data[ip_opt]"], Is.EqualTo("10.0.0.2"));
            Assert.That(text, Does.Contain("type=subscribe&fired_at=").And.Contain("data%5Bmerges%5D%5BFNAME%5D=Ann+Marie").And.Contain("Lee%26Co"));
            Assert.That(subscribe.Signature, Does.Match("^t=[0-9]+,v1=[0-9a-f]{64}$"));
            Assert.That(subscribe.SignatureVerifies(secret), Is.True);
            Assert.That(subscribe.SignatureVerifies(secret + "x"), Is.False);
            Assert.That(long.Parse(subscribe.Signature[2..subscribe.Signature.IndexOf(',')], System.Globalization.CultureInfo.InvariantCulture),
                Is.EqualTo(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).Within(60));

            Assert.That(unsubscribe.Keys, Is.EqualTo(new[] { "type", "fired_at", "data[action]", "data[reason]" }.Concat(MemberKeys).Append("data[campaign_id]")));
            Assert.That(unsubscribe.Form["data[action]"], Is.EqualTo("unsub"));
            Assert.That(unsubscribe.Form["data[reason]"], Is.EqualTo("manual"));
            Assert.That(unsubscribe.Form["data[campaign_id]"], Is.EqualTo("cmp123"));
            Assert.That(unsubscribe.Form["data[merges][FNAME]"], Is.EqualTo("Ann Marie"));
            Assert.That(unsubscribe.SignatureVerifies(secret), Is.True);

            Assert.That(deleted.Form["data[action]"], Is.EqualTo("delete"));
            Assert.That(deleted.Form["data[email]"], Is.EqualTo("bob@shop.test"));
            Assert.That(deleted.Form["data[campaign_id]"], Is.Empty);
        });
    }

    [Test]
    public async Task Profile_upemail_and_cleaned_deliveries_carry_their_fields_in_the_order_the_changes_happened()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        var url = _receiver.NewUrl();
        var secret = (string)(await CreateWebhookAsync(client, listId, url))["signing_secret"]!;
        await _host.SetMemberStatusAsync(listId, "ann@shop.test", "subscribed", source: "user");
        await _host.SetMemberMergeFieldsAsync(listId, "ann@shop.test", Merge("Ann", "Lee"));
        await _host.SetMemberMergeFieldsAsync(listId, "ann@shop.test", Merge("Ann", "Lee")); // nothing changed: no profile event
        var moved = await _host.ChangeMemberEmailAsync(listId, "ann@shop.test", "ann.lee@shop.test", source: "admin");
        await _host.SetMemberStatusAsync(listId, "ann.lee@shop.test", "cleaned", source: "admin", reason: "abuse", campaignId: "c9");
        // Through the marketing API (source api): an email change by PATCH.
        await _host.SetMemberStatusAsync(listId, "cy@shop.test", "subscribed", source: "user");
        using (await client.PatchAsJsonAsync($"lists/{listId}/members/{SandboxTestKit.Hash("cy@shop.test")}", new { email_address = "cyrus@shop.test" })) { }

        var posts = await _receiver.WaitForAsync(url, 6);
        Assert.That(posts.Select(p => p.Type), Is.EqualTo(new[] { "subscribe", "profile", "upemail", "cleaned", "subscribe", "upemail" }));
        var (profile, upemail, cleaned, apiUpemail) = (posts[1], posts[2], posts[3], posts[5]);
        Assert.Multiple(() =>
        {
            Assert.That(profile.Keys, Is.EqualTo(new[] { "type", "fired_at" }.Concat(MemberKeys)));
            Assert.That(profile.Form["data[merges][FNAME]"], Is.EqualTo("Ann"));
            Assert.That(profile.Form["data[merges][LNAME]"], Is.EqualTo("Lee"));

            Assert.That(upemail.Keys, Is.EqualTo(new[] { "type", "fired_at", "data[list_id]", "data[new_id]", "data[new_email]", "data[old_email]" }));
            Assert.That(upemail.Form["data[list_id]"], Is.EqualTo(listId));
            Assert.That(upemail.Form["data[new_id]"], Is.EqualTo(SandboxTestKit.Hash("ann.lee@shop.test")));
            Assert.That(upemail.Form["data[new_email]"], Is.EqualTo("ann.lee@shop.test"));
            Assert.That(upemail.Form["data[old_email]"], Is.EqualTo("ann@shop.test"));
            Assert.That(moved.SubscriberHash, Is.EqualTo(SandboxTestKit.Hash("ann.lee@shop.test")));

            Assert.That(cleaned.Keys, Is.EqualTo(new[] { "type", "fired_at", "data[list_id]", "data[campaign_id]", "data[reason]", "data[email]" }));
            Assert.That(cleaned.Form["data[campaign_id]"], Is.EqualTo("c9"));
            Assert.That(cleaned.Form["data[reason]"], Is.EqualTo("abuse"));
            Assert.That(cleaned.Form["data[email]"], Is.EqualTo("ann.lee@shop.test"));

            Assert.That(apiUpemail.Form["data[old_email]"], Is.EqualTo("cy@shop.test"));
            Assert.That(apiUpemail.Form["data[new_email]"], Is.EqualTo("cyrus@shop.test"));
            Assert.That(posts.All(p => p.SignatureVerifies(secret)), Is.True);
        });

        // The control calls' own errors: an address already in the list, an unknown member, a source that is not a person's.
        await _host.SetMemberStatusAsync(listId, "dee@shop.test", "subscribed", source: "user");
        using var taken = await _host.Control.PostAsJsonAsync($"lists/{listId}/members/dee@shop.test/email", new { email = "cyrus@shop.test" });
        using var unknown = await _host.Control.PostAsJsonAsync($"lists/{listId}/members/nobody@shop.test/email", new { email = "x@shop.test" });
        using var badSource = await _host.Control.PutAsJsonAsync($"lists/{listId}/members/dee@shop.test", new { status = "unsubscribed", source = "api" });
        using var camelCase = await _host.Control.PatchAsJsonAsync($"lists/{listId}/members/dee@shop.test", new { mergeFields = new { FNAME = "Dee" } });
        Assert.Multiple(async () =>
        {
            Assert.That(taken.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(badSource.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That((string?)(await camelCase.JsonAsync())["merge_fields"]!["FNAME"], Is.EqualTo("Dee"));
        });
    }

    // ---- Retries, 410, bursts, reset ----

    [Test]
    public async Task A_failed_delivery_is_retried_with_growing_pauses_until_answered_2xx_or_attempts_run_out()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        var flaky = _receiver.NewUrl("flaky");
        var dead = _receiver.NewUrl("dead");
        var flakyId = (string)(await CreateWebhookAsync(client, listId, flaky))["id"]!;
        var deadId = (string)(await CreateWebhookAsync(client, listId, dead))["id"]!;
        _receiver.Answer(flaky, 500, 503);
        _receiver.AnswerAlways(dead, 500);

        await _host.SetMemberStatusAsync(listId, "ann@shop.test", "subscribed", source: "user");
        var webhooks = await _host.WaitForWebhookDeliveriesAsync();

        var attempts = await _host.GetWebhookDeliveriesAsync(webhookId: flakyId);
        Assert.Multiple(() =>
        {
            Assert.That(attempts.Select(a => (a.Attempt, a.StatusCode)), Is.EqualTo(new (int, int?)[] { (1, 500), (2, 503), (3, 200) }));
            Assert.That(attempts[1].At - attempts[0].At, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(90)));
            Assert.That(attempts[2].At - attempts[1].At, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(190)));
            Assert.That(attempts.Select(a => a.Body).Distinct().Count(), Is.EqualTo(1));
            Assert.That(webhooks.Single(w => w.Id == flakyId) is { Sent: 1, Failed: 0, Pending: 0, Attempts: 3, Disabled: false });
            Assert.That(webhooks.Single(w => w.Id == deadId) is { Sent: 0, Failed: 1, Pending: 0, Attempts: 5, Disabled: false });
            Assert.That(_receiver.PostsTo(dead), Has.Count.EqualTo(5));
        });
    }

    [Test]
    public async Task A_410_answer_disables_the_webhook_for_good()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        var gone = _receiver.NewUrl("gone");
        var id = (string)(await CreateWebhookAsync(client, listId, gone))["id"]!;
        _receiver.AnswerAlways(gone, 410);

        await _host.SetMemberStatusAsync(listId, "ann@shop.test", "subscribed", source: "user");
        await _host.WaitForWebhookDeliveriesAsync();
        await _host.SetMemberStatusAsync(listId, "ann@shop.test", "unsubscribed", source: "user");
        await _host.SetMemberStatusAsync(listId, "bob@shop.test", "subscribed", source: "admin");
        var webhook = (await _host.WaitForWebhookDeliveriesAsync()).Single(w => w.Id == id);

        Assert.Multiple(async () =>
        {
            Assert.That(webhook is { Disabled: true, Sent: 0, Failed: 1, Attempts: 1, Pending: 0 }, webhook.ToString());
            Assert.That(_receiver.PostsTo(gone).Select(p => p.AnsweredStatus), Is.EqualTo(new[] { 410 }));
            Assert.That((await client.GetAsync($"lists/{listId}/webhooks/{id}")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }

    [Test]
    public async Task A_burst_of_2000_control_changes_is_all_delivered()
    {
        const int Count = 2000;
        var (_, client, listId) = await _host.NewAudienceAsync();
        var url = _receiver.NewUrl("burst");
        var id = (string)(await CreateWebhookAsync(client, listId, url, sources: new { user = true }))["id"]!;

        var started = DateTimeOffset.UtcNow;
        await Parallel.ForEachAsync(Enumerable.Range(0, Count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
            await _host.SetMemberStatusAsync(listId, $"m{i}@shop.test", "subscribed", source: "user", ct: ct));
        var fired = DateTimeOffset.UtcNow;
        var posts = await _receiver.WaitForAsync(url, Count, TimeSpan.FromSeconds(60));
        var webhook = (await _host.WaitForWebhookDeliveriesAsync()).Single(w => w.Id == id);
        TestContext.Out.WriteLine($"{Count} changes fired in {(fired - started).TotalMilliseconds:0} ms, all delivered {(posts[^1].At - started).TotalMilliseconds:0} ms after the first.");

        Assert.Multiple(() =>
        {
            Assert.That(posts.Select(p => p.Form["data[email]"]).Distinct().Count(), Is.EqualTo(Count));
            Assert.That(webhook is { Sent: Count, Failed: 0, Pending: 0 }, webhook.ToString());
        });
    }

    [Test]
    public async Task Reset_forgets_webhooks_their_pending_deliveries_and_the_delivery_log()
    {
        await using var host = await SandboxHost.StartAsync(o => o.WebhookFirstRetryDelay = TimeSpan.FromMilliseconds(300));
        var (_, client, listId) = await host.NewAudienceAsync();
        var url = _receiver.NewUrl("reset");
        await CreateWebhookAsync(client, listId, url);
        _receiver.AnswerAlways(url, 500);
        for (var i = 0; i < 3; i++) await host.SetMemberStatusAsync(listId, $"r{i}@shop.test", "subscribed", source: "user");
        for (var deadline = DateTimeOffset.UtcNow.AddSeconds(10); _receiver.PostsTo(url).Count == 0 && DateTimeOffset.UtcNow < deadline;) await Task.Delay(10);
        Assert.That((await host.GetWebhooksAsync()).Single().Pending, Is.GreaterThan(0));

        using (var reset = await host.Control.PostAsync("reset", null)) Assert.That(reset.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        await Task.Delay(100); // a POST already on the wire may still land
        var afterReset = _receiver.PostsTo(url).Count;
        await Task.Delay(1000); // past the retries' pauses

        Assert.Multiple(async () =>
        {
            Assert.That(await host.GetWebhooksAsync(), Is.Empty);
            Assert.That(await host.GetWebhookDeliveriesAsync(), Is.Empty);
            Assert.That(_receiver.PostsTo(url), Has.Count.EqualTo(afterReset));
        });
    }
}
