using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Hub.Sandbox;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Sandbox;

/// <summary>Strict mode (unknown request-body properties refused like Mailchimp refuses invalid input) and request capture.</summary>
public sealed class SandboxStrictModeTests
{
    private static object UnknownOnPut(string email) => new { email_address = email, status_if_new = "subscribed", favourite_colour = "red" };

    private static object BatchWith(params object[] members) => new { members, update_existing = false };

    [Test]
    public async Task A_strict_sandbox_refuses_a_member_PUT_with_an_unknown_property()
    {
        await using var host = await SandboxHost.StartAsync(o => o.StrictRequestBodies = true);
        var (_, client, listId) = await host.NewAudienceAsync();
        using var response = await client.PutAsJsonAsync($"lists/{listId}/members/{SandboxTestKit.Hash("x@shop.test")}", UnknownOnPut("x@shop.test"));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        var problem = await response.JsonAsync();
        Assert.Multiple(() =>
        {
            Assert.That((string?)problem["type"], Is.EqualTo("https://mailchimp.com/developer/marketing/docs/errors/"));
            Assert.That((string?)problem["title"], Is.EqualTo("Invalid Resource"));
            Assert.That(problem["errors"]!.AsArray().Select(e => (string?)e!["field"]), Is.EqualTo(new[] { "favourite_colour" }));
        });
        Assert.That(await host.GetMembersAsync(listId), Is.Empty);
    }

    [Test]
    public async Task A_strict_sandbox_refuses_a_batch_member_with_status_if_new_but_not_documented_ignored_properties()
    {
        await using var host = await SandboxHost.StartAsync(o => o.StrictRequestBodies = true);
        var (_, client, listId) = await host.NewAudienceAsync();
        using var response = await client.PostAsJsonAsync($"lists/{listId}", BatchWith(
            new { email_address = "bad@shop.test", status = "subscribed", status_if_new = "subscribed" },
            new
            {
                email_address = "good@shop.test", status = "subscribed", tags = new[] { "t" }, email_type = "html",
                interests = new Dictionary<string, bool> { ["abc"] = true }, location = new { latitude = 1.5, longitude = 2.5 },
                timestamp_opt = "2024-01-01 10:00:00", timestamp_signup = "2024-01-01 10:00:00", ip_signup = "10.0.0.1", ip_opt = "10.0.0.1",
            }));
        var body = await response.JsonAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        var error = body["errors"]!.AsArray().Single()!;
        Assert.Multiple(() =>
        {
            Assert.That((string?)error["email_address"], Is.EqualTo("bad@shop.test"));
            Assert.That((string?)error["error_code"], Is.EqualTo("ERROR_GENERIC"));
            Assert.That((string?)error["field"], Is.EqualTo("status_if_new"));
            Assert.That((string?)error["field_message"], Is.Not.Empty);
            Assert.That((int?)body["total_created"], Is.EqualTo(1));
        });
    }

    [Test]
    public async Task A_strict_sandbox_refuses_unknown_properties_in_nested_objects_and_on_other_routes()
    {
        await using var host = await SandboxHost.StartAsync(o => o.StrictRequestBodies = true);
        var (_, client, listId) = await host.NewAudienceAsync();
        var list = SandboxHost.ValidListBody("Strict");
        ((Dictionary<string, object>)list["contact"])["fax"] = "123";
        using var createList = await client.PostAsJsonAsync("lists", list);
        using var tags = await client.PostAsJsonAsync($"lists/{listId}/members/{SandboxTestKit.Hash("x@shop.test")}/tags", new { tags = new[] { new { name = "a", status = "active", colour = "red" } } });
        using var patchMember = await client.PatchAsJsonAsync($"lists/{listId}/members/{SandboxTestKit.Hash("x@shop.test")}", new { status_if_new = "subscribed" });
        using var mergeField = await client.PostAsJsonAsync($"lists/{listId}/merge-fields", new { name = "Shoe", type = "number", help_text = "documented", shoe_size = 9 });
        Assert.Multiple(async () =>
        {
            Assert.That((await createList.JsonAsync())["errors"]![0]!["field"]!.GetValue<string>(), Is.EqualTo("contact.fax"));
            Assert.That((await tags.JsonAsync())["errors"]![0]!["field"]!.GetValue<string>(), Is.EqualTo("tags.colour"));
            Assert.That((await patchMember.JsonAsync())["errors"]![0]!["field"]!.GetValue<string>(), Is.EqualTo("status_if_new"));
            Assert.That((await mergeField.JsonAsync())["errors"]!.AsArray().Select(e => (string?)e!["field"]), Is.EqualTo(new[] { "shoe_size" }));
        });
    }

    [Test]
    public async Task A_strict_sandbox_refuses_unknown_list_webhook_properties_but_takes_every_documented_one()
    {
        await using var host = await SandboxHost.StartAsync(o => o.StrictRequestBodies = true);
        var (_, client, listId) = await host.NewAudienceAsync();
        var url = new Uri(host.BaseUrl, "_control/accounts").ToString(); // answers the validation GET
        using var unknown = await client.PostAsJsonAsync($"lists/{listId}/webhooks", new { url, events = new { subscribe = true, bounce = true }, secret = "x" });
        using var documented = await client.PostAsJsonAsync($"lists/{listId}/webhooks", new
        {
            url,
            events = new { subscribe = true, unsubscribe = true, profile = true, cleaned = true, upemail = true, campaign = true },
            sources = new { user = true, admin = true, api = false },
        });
        Assert.Multiple(async () =>
        {
            Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That((await unknown.JsonAsync())["errors"]!.AsArray().Select(e => (string?)e!["field"]), Is.EquivalentTo(new[] { "secret", "events.bounce" }));
            Assert.That(documented.StatusCode, Is.EqualTo(HttpStatusCode.OK), await documented.Content.ReadAsStringAsync());
        });
        Assert.That(await host.GetWebhooksAsync(listId), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task A_sandbox_that_is_not_strict_accepts_unknown_properties()
    {
        await using var host = await SandboxHost.StartAsync();
        var (_, client, listId) = await host.NewAudienceAsync();
        using var put = await client.PutAsJsonAsync($"lists/{listId}/members/{SandboxTestKit.Hash("x@shop.test")}", UnknownOnPut("x@shop.test"));
        Assert.That(put.StatusCode, Is.EqualTo(HttpStatusCode.OK), await put.Content.ReadAsStringAsync());
        using var batch = await client.PostAsJsonAsync($"lists/{listId}", BatchWith(new { email_address = "y@shop.test", status = "subscribed", status_if_new = "subscribed" }));
        var body = await batch.JsonAsync();
        Assert.That((int?)body["total_created"], Is.EqualTo(1), body.ToJsonString());
        Assert.That((int?)body["error_count"], Is.EqualTo(0));
    }

    [Test]
    public async Task Strict_mode_can_be_switched_through_the_control_API()
    {
        await using var host = await SandboxHost.StartAsync();
        var (_, client, listId) = await host.NewAudienceAsync();
        using (var on = await host.Control.PutAsJsonAsync("strict", new { enabled = true })) Assert.That(on.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using (var refused = await client.PutAsJsonAsync($"lists/{listId}/members/{SandboxTestKit.Hash("x@shop.test")}", UnknownOnPut("x@shop.test")))
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        using (var off = await host.Control.PutAsJsonAsync("strict", new { enabled = false })) Assert.That(off.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using (var accepted = await client.PutAsJsonAsync($"lists/{listId}/members/{SandboxTestKit.Hash("x@shop.test")}", UnknownOnPut("x@shop.test")))
            Assert.That(accepted.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Capture_is_off_by_default_and_records_method_path_route_query_and_body_once_on()
    {
        await using var host = await SandboxHost.StartAsync();
        var (_, client, listId) = await host.NewAudienceAsync();
        Assert.That(await host.Control.GetFromJsonAsync<JsonArray>("requests"), Is.Empty);

        using (var on = await host.Control.PutAsJsonAsync("capture", new { enabled = true })) Assert.That(on.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var hash = SandboxTestKit.Hash("cap@shop.test");
        using (await client.PutAsJsonAsync($"lists/{listId}/members/{hash}?skip_merge_validation=true", new { email_address = "cap@shop.test", status_if_new = "subscribed" })) { }
        using (await client.GetAsync($"lists/{listId}/members?count=5&offset=0")) { }
        using (await client.GetAsync("ping")) { }

        var captured = (await host.Control.GetFromJsonAsync<JsonArray>("requests"))!;
        Assert.That(captured, Has.Count.EqualTo(3), captured.ToJsonString());
        var put = captured[0]!;
        Assert.Multiple(() =>
        {
            Assert.That((string?)put["method"], Is.EqualTo("PUT"));
            Assert.That((string?)put["path"], Is.EqualTo($"/lists/{listId}/members/{hash}"));
            Assert.That((string?)put["route"], Is.EqualTo("/lists/{list_id}/members/{subscriber_hash}"));
            Assert.That(put["query"]!.AsArray().Select(q => (string?)q), Is.EqualTo(new[] { "skip_merge_validation" }));
            Assert.That((string?)put["body"]!["status_if_new"], Is.EqualTo("subscribed"));
            Assert.That((string?)captured[1]!["route"], Is.EqualTo("/lists/{list_id}/members"));
            Assert.That(captured[1]!["query"]!.AsArray().Select(q => (string?)q), Is.EquivalentTo(new[] { "count", "offset" }));
            Assert.That(captured[1]!["body"], Is.Null);
            Assert.That((string?)captured[2]!["path"], Is.EqualTo("/ping"));
        });
        // The handler still read the body the capture read first.
        Assert.That((await host.GetMembersAsync(listId)).Select(m => m.EmailAddress), Is.EqualTo(new[] { "cap@shop.test" }));

        using (var cleared = await host.Control.DeleteAsync("requests")) Assert.That(cleared.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        Assert.That(await host.Control.GetFromJsonAsync<JsonArray>("requests"), Is.Empty);
    }

    [Test]
    public async Task Capture_keeps_only_the_newest_requests_up_to_its_limit()
    {
        await using var host = await SandboxHost.StartAsync(o => { o.CaptureRequests = true; o.CaptureLimit = 3; });
        using var client = host.Marketing(host.DefaultApiKey);
        for (var i = 0; i < 5; i++) using (await client.GetAsync($"ping?n={i}")) { }
        var captured = host.State.GetCapturedRequests();
        Assert.That(captured.Select(r => r.Sequence), Is.EqualTo(new long[] { 3, 4, 5 }));
    }
}
