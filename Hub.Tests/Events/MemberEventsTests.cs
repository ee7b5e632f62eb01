using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Hub.Api.Events;
using Hub.Core.Events;
using Hub.Core.Security;
using Hub.Core.Webhooks;
using Hub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Hub.Tests.Events;

/// <summary>
/// Issue 14 end to end over real HTTP: Hub registers a list webhook on each managed audience, the sandbox (as Mailchimp)
/// calls it back when people change there, and the tenant hears of it by signed webhook and at GET /api/v1/events.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class MemberEventsTests : EnvironmentFixture<EventsEnvironment>
{
    public MemberEventsTests()
        : base(() => EventsEnvironment.StartAsync())
    {
    }

    [Test]
    public async Task A_managed_audience_gets_a_webhook_for_user_and_admin_changes_at_a_secret_url_Mailchimp_checked()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audienceId = await _env.LinkRegisteredAudienceAsync(tenant, "customers");

        var registration = await _env.RegistrationAsync(tenant, audienceId);
        var hooks = await _env.SandboxWebhooksAsync(audienceId);
        Assert.That(hooks, Has.Count.EqualTo(1));
        var hook = hooks[0];
        Assert.Multiple(() =>
        {
            Assert.That(registration.GetProperty("webhookId").GetString(), Is.EqualTo(hook.GetProperty("id").GetString()));
            Assert.That(hook.GetProperty("url").GetString(), Does.StartWith(_env.PublicBaseUrl + "/mailchimp/events/"));
            Assert.That(hook.GetProperty("url").GetString()!.Length, Is.GreaterThan((_env.PublicBaseUrl + "/mailchimp/events/").Length + 40), "an unguessable secret");
            var events = hook.GetProperty("events");
            foreach (var type in new[] { "subscribe", "unsubscribe", "profile", "cleaned", "upemail" })
            {
                Assert.That(events.GetProperty(type).GetBoolean(), Is.True, type);
            }

            Assert.That(events.GetProperty("campaign").GetBoolean(), Is.False);
            Assert.That(hook.GetProperty("sources").GetProperty("user").GetBoolean(), Is.True);
            Assert.That(hook.GetProperty("sources").GetProperty("admin").GetBoolean(), Is.True);
            Assert.That(hook.GetProperty("sources").GetProperty("api").GetBoolean(), Is.False, "Hub's own writes must not come back");
        });

        // The URL answers Mailchimp's check; a made-up one does not.
        using var raw = new HttpClient();
        Assert.That((await raw.GetAsync(hook.GetProperty("url").GetString())).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await raw.GetAsync(_env.PublicBaseUrl + "/mailchimp/events/" + AudienceHookStore.NewSecret())).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Changes_people_make_in_Mailchimp_reach_the_tenant_signed_and_the_next_sync_respects_them()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audienceId = await _env.LinkRegisteredAudienceAsync(tenant, "crm");
        await _env.SyncAsync(tenant, "crm", [new { email = "ann@shop.test" }, new { email = "bob@shop.test" }, new { email = "cy@shop.test" }, new { email = "dee@shop.test" }]);

        var started = Stopwatch.StartNew();
        await _env.SetStatusInMailchimpAsync(audienceId, "ann@shop.test", "unsubscribed");
        await _env.SetStatusInMailchimpAsync(audienceId, "bob@shop.test", "cleaned", source: "admin", reason: "hard");
        await _env.ChangeProfileInMailchimpAsync(audienceId, "cy@shop.test", new() { ["FNAME"] = "Cyrus" });
        await _env.ChangeEmailInMailchimpAsync(audienceId, "dee@shop.test", "dee.new@shop.test");

        var unsubscribed = await _env.Receiver.WaitForAsync(MemberEventTypes.Unsubscribed, timeout: TimeSpan.FromSeconds(5), tenantId: tenant.Id);
        var cleaned = await _env.Receiver.WaitForAsync(MemberEventTypes.Cleaned, timeout: TimeSpan.FromSeconds(5), tenantId: tenant.Id);
        var profile = await _env.Receiver.WaitForAsync(MemberEventTypes.ProfileUpdated, timeout: TimeSpan.FromSeconds(5), tenantId: tenant.Id);
        var moved = await _env.Receiver.WaitForAsync(MemberEventTypes.EmailChanged, timeout: TimeSpan.FromSeconds(5), tenantId: tenant.Id);
        Assert.That(started.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));

        var secret = new Secret(tenant.WebhookSigningSecret);
        foreach (var hook in new[] { unsubscribed, cleaned, profile, moved })
        {
            Assert.That(WebhookSignature.Verify(secret, hook.Signature, hook.Body, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)), Is.True, hook.Body);
        }

        var data = (JsonElement)JsonDocument.Parse(unsubscribed.Body).RootElement.GetProperty("data");
        Assert.Multiple(() =>
        {
            Assert.That(data.GetProperty("email").GetString(), Is.EqualTo("ann@shop.test"));
            Assert.That(data.GetProperty("audienceId").GetString(), Is.EqualTo(audienceId));
            Assert.That(data.GetProperty("listKeys").EnumerateArray().Select(key => key.GetString()), Is.EqualTo(new[] { "crm" }));
            Assert.That(data.TryGetProperty("occurredAt", out _), Is.True);
            var clean = JsonDocument.Parse(cleaned.Body).RootElement.GetProperty("data");
            Assert.That(clean.GetProperty("email").GetString(), Is.EqualTo("bob@shop.test"));
            Assert.That(clean.GetProperty("reason").GetString(), Is.EqualTo("hard"));
            var changed = JsonDocument.Parse(profile.Body).RootElement.GetProperty("data");
            Assert.That(changed.GetProperty("mergeFields").GetProperty("FNAME").GetString(), Is.EqualTo("Cyrus"));
            var email = JsonDocument.Parse(moved.Body).RootElement.GetProperty("data");
            Assert.That(email.GetProperty("oldEmail").GetString(), Is.EqualTo("dee@shop.test"));
            Assert.That(email.GetProperty("newEmail").GetString(), Is.EqualTo("dee.new@shop.test"));
            Assert.That(email.GetProperty("email").GetString(), Is.EqualTo("dee.new@shop.test"));
            Assert.That(email.GetProperty("listKeys").EnumerateArray().Select(key => key.GetString()), Is.EqualTo(new[] { "crm" }));
        });

        // The pull API has the same four, in order, and reads on from a cursor.
        var all = await _env.EventsAsync(tenant);
        var items = all.GetProperty("items").EnumerateArray().ToList();
        Assert.That(items.Select(item => item.GetProperty("type").GetString()), Is.EquivalentTo(new[]
        {
            MemberEventTypes.Unsubscribed, MemberEventTypes.Cleaned, MemberEventTypes.ProfileUpdated, MemberEventTypes.EmailChanged,
        }));
        var cursors = items.Select(item => long.Parse(item.GetProperty("cursor").GetString()!)).ToList();
        Assert.That(cursors, Is.Ordered.Ascending);
        Assert.That(all.GetProperty("nextCursor").GetString(), Is.EqualTo(items[^1].GetProperty("cursor").GetString()));
        Assert.That(all.GetProperty("total").ValueKind, Is.EqualTo(JsonValueKind.Null), "a feed has no total");
        var rest = await _env.EventsAsync(tenant, $"?cursor={items[1].GetProperty("cursor").GetString()}");
        Assert.That(rest.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("id").GetString()),
            Is.EqualTo(items.Skip(2).Select(item => item.GetProperty("id").GetString())));
        Assert.That((await _env.EventsAsync(tenant, $"?since={all.GetProperty("nextCursor").GetString()}")).GetProperty("items").GetArrayLength(), Is.Zero);

        // The host has not caught up yet: its next full sync still lists the old addresses and the old statuses.
        var job = await _env.SyncAsync(tenant, "crm", [new { email = "ann@shop.test" }, new { email = "bob@shop.test" }, new { email = "cy@shop.test" }, new { email = "dee@shop.test" }]);
        var audience = await _env.AudienceAsync(audienceId);
        Assert.Multiple(() =>
        {
            Assert.That(audience["ann@shop.test"].Status, Is.EqualTo("unsubscribed"), "never re-subscribed");
            Assert.That(audience["bob@shop.test"].Status, Is.EqualTo("cleaned"));
            Assert.That(audience["dee.new@shop.test"].Status, Is.EqualTo("subscribed"), "the new address is neither archived nor lost");
            Assert.That(audience.ContainsKey("dee@shop.test"), Is.False, "the old address is not added again");
            Assert.That(job.GetProperty("counts").GetProperty("removed").GetInt64(), Is.Zero, job.ToString());
        });
    }

    [Test]
    public async Task Hubs_own_writes_come_back_as_no_event()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audienceId = await _env.LinkRegisteredAudienceAsync(tenant, "own");
        await _env.SyncAsync(tenant, "own", [new { email = "a@own.test" }, new { email = "b@own.test" }]);
        using var client = _env.Hub.Client(tenant.ApiKey);
        (await client.PostAsJsonAsync("/api/v1/lists/own/members", new { email = "c@own.test", mergeFields = new { FNAME = "C" } })).EnsureSuccessStatusCode();
        (await client.DeleteAsync("/api/v1/lists/own/members/a@own.test")).EnsureSuccessStatusCode();
        await _env.SyncAsync(tenant, "own", [new { email = "b@own.test", mergeFields = new { FNAME = "B" } }]);

        // A change made in Mailchimp after them arrives, so anything Hub's writes had set off would have arrived before it.
        await _env.SetStatusInMailchimpAsync(audienceId, "b@own.test", "unsubscribed");
        await _env.Receiver.WaitForAsync(MemberEventTypes.Unsubscribed, timeout: TimeSpan.FromSeconds(5), tenantId: tenant.Id);
        var events = (await _env.EventsAsync(tenant)).GetProperty("items").EnumerateArray().ToList();
        Assert.That(events.Select(item => item.GetProperty("type").GetString() + " " + item.GetProperty("email").GetString()),
            Is.EqualTo(new[] { "member.unsubscribed b@own.test" }));
    }

    [Test]
    public async Task The_receiver_refuses_what_it_cannot_use_and_recognises_a_repeated_event()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audienceId = await _env.LinkRegisteredAudienceAsync(tenant, "hostile");
        var url = (await _env.SandboxWebhooksAsync(audienceId))[0].GetProperty("url").GetString()!;
        Assert.That((await _env.RegistrationAsync(tenant, audienceId)).GetProperty("signed").GetBoolean(), Is.True, "the sandbox signs, as Mailchimp's newer webhooks do");
        var tenantId = TenantId.Parse(tenant.Id);
        var signingSecret = (await _env.Hub.Services.GetRequiredService<TenantSecrets>().GetAsync(tenantId, AudienceHooks.SigningSecretName(audienceId)))!;
        using var raw = new HttpClient();

        // Signed as Mailchimp signs (FACTS.md §9), so that what is checked next is the body itself.
        string Sign(string body, long? at = null)
        {
            var t = at ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var mac = System.Security.Cryptography.HMACSHA256.HashData(Encoding.UTF8.GetBytes(signingSecret.Reveal()), Encoding.UTF8.GetBytes($"{t}.{body}"));
            return $"t={t},v1={Convert.ToHexStringLower(mac)}";
        }

        async Task<HttpResponseMessage> PostAsync(string target, string body, string contentType = "application/x-www-form-urlencoded", string? signature = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, target) { Content = new StringContent(body, Encoding.UTF8, contentType) };
            request.Headers.TryAddWithoutValidation("X-Mailchimp-Signature", signature ?? Sign(body));
            return await raw.SendAsync(request);
        }

        var unsubscribe = $"type=unsubscribe&fired_at=2026-12-03+08%3A00%3A00&data%5Blist_id%5D={audienceId}&data%5Bemail%5D=zed%40shop.test&data%5Baction%5D=unsub&data%5Breason%5D=manual";
        await ProblemAssert.IsProblemAsync(await PostAsync(_env.PublicBaseUrl + "/mailchimp/events/" + AudienceHookStore.NewSecret(), unsubscribe), HttpStatusCode.NotFound, "unknown_webhook");
        await ProblemAssert.IsProblemAsync(await PostAsync(url, "{\"type\":\"unsubscribe\"}", "application/json"), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        foreach (var signature in new[] { "", "t=1,v1=00", Sign(unsubscribe, DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeSeconds()), Sign(unsubscribe + "&x=1"), "t=abc,v1=zz", "v1=" })
        {
            await ProblemAssert.IsProblemAsync(await PostAsync(url, unsubscribe, signature: signature), HttpStatusCode.Unauthorized, "invalid_signature");
        }

        foreach (var bad in new[]
        {
            "fired_at=2026-12-03+08%3A00%3A00&data%5Bemail%5D=zed%40shop.test",
            "type=nonsense&fired_at=2026-12-03+08%3A00%3A00&data%5Bemail%5D=zed%40shop.test",
            "type=unsubscribe&fired_at=yesterday&data%5Bemail%5D=zed%40shop.test",
            "type=unsubscribe&fired_at=2026-12-03+08%3A00%3A00&data%5Bemail%5D=not-an-address",
            "type=unsubscribe&fired_at=2026-12-03+08%3A00%3A00&data%5Blist_id%5D=another&data%5Bemail%5D=zed%40shop.test",
            "type=upemail&fired_at=2026-12-03+08%3A00%3A00&data%5Bold_email%5D=zed%40shop.test",
            "%%%&&&==",
            "",
        })
        {
            using var refused = await PostAsync(url, bad);
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), bad);
            Assert.That(refused.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), bad);
        }

        using (var campaign = await PostAsync(url, "type=campaign&fired_at=2026-12-03+08%3A00%3A00&data%5Bid%5D=c1"))
        {
            Assert.That(campaign.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That((await campaign.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ignored").GetBoolean(), Is.True);
        }

        using (var huge = await PostAsync(url, unsubscribe + "&data%5Bmerges%5D%5BNOTE%5D=" + new string('x', MailchimpEventReceiver.MaxBodyBytes)))
        {
            Assert.That(huge.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        }

        Assert.That((await _env.EventsAsync(tenant)).GetProperty("items").GetArrayLength(), Is.Zero, "nothing refused changed anything");

        // Mailchimp delivers at least once: the same event twice is one event.
        var first = await (await PostAsync(url, unsubscribe)).Content.ReadFromJsonAsync<JsonElement>();
        var second = await (await PostAsync(url, unsubscribe)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(first.GetProperty("duplicate").GetBoolean(), Is.False);
        Assert.That(second.GetProperty("duplicate").GetBoolean(), Is.True);
        Assert.That(second.GetProperty("id").GetString(), Is.EqualTo(first.GetProperty("id").GetString()));
        await _env.Receiver.WaitForAsync(MemberEventTypes.Unsubscribed, timeout: TimeSpan.FromSeconds(5), tenantId: tenant.Id);
        await Task.Delay(500);
        Assert.That(_env.MemberWebhooks(tenant, MemberEventTypes.Unsubscribed), Has.Count.EqualTo(1));
        Assert.That((await _env.EventsAsync(tenant)).GetProperty("items").GetArrayLength(), Is.EqualTo(1));

        foreach (var query in new[] { "?cursor=abc", "?since=abc", "?cursor=-1", "?cursor=99999999999999999999", "?cursor=1&since=1", "?limit=0", "?limit=1001", "?limit=x" })
        {
            using var client = _env.Hub.Client(tenant.ApiKey);
            using var response = await client.GetAsync("/api/v1/events" + query);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), query);
        }
    }

    [Test]
    public async Task The_secret_in_a_webhook_url_stays_out_of_traces()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audienceId = await _env.LinkRegisteredAudienceAsync(tenant, "traced");
        var url = (await _env.SandboxWebhooksAsync(audienceId))[0].GetProperty("url").GetString()!;
        var secret = url[(url.LastIndexOf('/') + 1)..];
        var seen = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                seen.Enqueue(activity.DisplayName);
                foreach (var tag in activity.TagObjects)
                {
                    seen.Enqueue($"{tag.Key}={tag.Value}");
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        using var raw = new HttpClient();
        (await raw.GetAsync(url)).EnsureSuccessStatusCode();
        await _env.SyncAsync(tenant, "traced", [new { email = "tom@shop.test" }]);
        await _env.SetStatusInMailchimpAsync(audienceId, "tom@shop.test", "unsubscribed");
        await _env.Receiver.WaitForAsync(MemberEventTypes.Unsubscribed, timeout: TimeSpan.FromSeconds(5), tenantId: tenant.Id);

        Assert.That(seen.Any(tag => tag.Contains("/mailchimp/events/{secret}", StringComparison.Ordinal)), Is.True, "the receiver's spans were seen");
        Assert.That(seen.Where(tag => tag.Contains(secret, StringComparison.Ordinal)), Is.Empty);
    }

    [Test]
    public async Task Stopping_management_or_disconnecting_removes_the_webhooks_and_their_urls_stop_answering()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var kept = await _env.LinkRegisteredAudienceAsync(tenant, "kept");
        var dropped = await _env.LinkRegisteredAudienceAsync(tenant, "dropped");
        var droppedUrl = (await _env.SandboxWebhooksAsync(dropped))[0].GetProperty("url").GetString()!;
        var keptUrl = (await _env.SandboxWebhooksAsync(kept))[0].GetProperty("url").GetString()!;
        using var client = _env.Hub.Client(tenant.ApiKey);
        (await client.DeleteAsync("/api/v1/lists/dropped")).EnsureSuccessStatusCode();
        (await client.DeleteAsync($"/api/v1/audiences/{dropped}/manage")).EnsureSuccessStatusCode();

        using var raw = new HttpClient();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((await _env.SandboxWebhooksAsync(dropped)).Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.That(await _env.SandboxWebhooksAsync(dropped), Is.Empty);
        Assert.That((await raw.GetAsync(droppedUrl)).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await raw.GetAsync(keptUrl)).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        (await client.DeleteAsync("/api/v1/connection")).EnsureSuccessStatusCode();
        Assert.That(await _env.SandboxWebhooksAsync(kept), Is.Empty, "removed before the credential was forgotten");
        Assert.That((await raw.GetAsync(keptUrl)).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Repair_registers_again_a_webhook_someone_deleted_in_Mailchimp()
    {
        var (tenant, account) = await _env.ConnectedTenantAsync();
        var audienceId = await _env.LinkRegisteredAudienceAsync(tenant, "repair");
        var before = (await _env.SandboxWebhooksAsync(audienceId))[0];
        using (var marketing = _env.Sandbox.Marketing(account))
        {
            (await marketing.DeleteAsync($"lists/{audienceId}/webhooks/{before.GetProperty("id").GetString()}")).EnsureSuccessStatusCode();
        }

        // Three repairs at once (and a replica's background check) register it once.
        using var client = _env.Hub.Client(tenant.ApiKey);
        var repairs = await Task.WhenAll(Enumerable.Range(0, 3).Select(async _ =>
        {
            using var repaired = await client.PostAsync($"/api/v1/audiences/{audienceId}/events/repair", null);
            Assert.That(repaired.StatusCode, Is.EqualTo(HttpStatusCode.OK), await repaired.Content.ReadAsStringAsync());
            return await repaired.Content.ReadFromJsonAsync<JsonElement>();
        }));
        var body = repairs[0];
        Assert.That(repairs.Select(repair => repair.GetProperty("webhookId").GetString()).Distinct().Count(), Is.EqualTo(1));
        var after = (await _env.SandboxWebhooksAsync(audienceId)).Single();
        Assert.Multiple(() =>
        {
            Assert.That(body.GetProperty("state").GetString(), Is.EqualTo("registered"));
            Assert.That(body.GetProperty("webhookId").GetString(), Is.EqualTo(after.GetProperty("id").GetString()));
            Assert.That(after.GetProperty("url").GetString(), Is.Not.EqualTo(before.GetProperty("url").GetString()), "a new secret");
        });
        using var raw = new HttpClient();
        Assert.That((await raw.GetAsync(before.GetProperty("url").GetString())).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));

        await ProblemAssert.IsProblemAsync(await client.PostAsync("/api/v1/audiences/0000000000/events/repair", null), HttpStatusCode.Forbidden, "audience_not_managed");
    }

    [Test]
    public async Task A_webhook_someone_changed_to_also_send_api_changes_is_replaced()
    {
        var (tenant, account) = await _env.ConnectedTenantAsync();
        var audienceId = await _env.LinkRegisteredAudienceAsync(tenant, "changed");
        var before = (await _env.SandboxWebhooksAsync(audienceId)).Single();
        using (var marketing = _env.Sandbox.Marketing(account))
        {
            (await marketing.PatchAsJsonAsync($"lists/{audienceId}/webhooks/{before.GetProperty("id").GetString()}", new { sources = new { api = true } })).EnsureSuccessStatusCode();
        }

        using var client = _env.Hub.Client(tenant.ApiKey);
        using var repaired = await client.PostAsync($"/api/v1/audiences/{audienceId}/events/repair", null);
        Assert.That(repaired.StatusCode, Is.EqualTo(HttpStatusCode.OK), await repaired.Content.ReadAsStringAsync());
        var after = (await _env.SandboxWebhooksAsync(audienceId)).Single();
        Assert.Multiple(() =>
        {
            Assert.That(after.GetProperty("id").GetString(), Is.Not.EqualTo(before.GetProperty("id").GetString()));
            Assert.That(after.GetProperty("sources").GetProperty("api").GetBoolean(), Is.False, "Hub's own writes must not come back");
        });
    }

    [Test]
    public async Task An_event_answered_by_a_replica_that_then_dies_is_processed_by_another()
    {
        // This Hub only receives: it answers Mailchimp and keeps the event, and is gone before processing anything.
        await using var receiving = await EventsEnvironment.StartAsync(new() { ["Hub:Events:ProcessReceived"] = "false" });
        var (tenant, _) = await receiving.ConnectedTenantAsync();
        var audienceId = await receiving.LinkRegisteredAudienceAsync(tenant, "durable");
        await receiving.SyncAsync(tenant, "durable", [new { email = "eve@shop.test" }]);
        await receiving.SetStatusInMailchimpAsync(audienceId, "eve@shop.test", "unsubscribed");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (await receiving.Hub.Services.GetRequiredService<EventInbox>().BacklogAsync() == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.That(await receiving.Hub.Services.GetRequiredService<EventInbox>().BacklogAsync(), Is.EqualTo(1));
        var replica = await receiving.StartReplicaAsync(new() { ["Hub:Events:ProcessReceived"] = "true" });
        await receiving.StopHubAsync(receiving.Hub);

        var hook = await receiving.Receiver.WaitForAsync(MemberEventTypes.Unsubscribed, timeout: TimeSpan.FromSeconds(10), tenantId: tenant.Id);
        Assert.That(JsonDocument.Parse(hook.Body).RootElement.GetProperty("data").GetProperty("email").GetString(), Is.EqualTo("eve@shop.test"));
        Assert.That((await receiving.EventsAsync(tenant, via: replica)).GetProperty("items").GetArrayLength(), Is.EqualTo(1));
    }
}
