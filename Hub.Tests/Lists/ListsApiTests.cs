using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hub.Core.Security;
using Hub.Core.Webhooks;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Lists;

[TestFixture]
public sealed class ListsApiTests() : EnvironmentFixture<FacadeEnvironment>(() => FacadeEnvironment.StartAsync())
{
    [Test]
    public async Task Linking_to_a_new_audience_creates_it_managed_and_stores_the_list()
    {
        using var tenant = await _env.CreateTenantAsync();
        var list = await FacadeEnvironment.LinkListAsync(tenant, "newsletter", extra: new { name = "Newsletter" });
        var audienceId = list.GetProperty("audienceId").GetString()!;

        Assert.Multiple(() =>
        {
            Assert.That(list.GetProperty("key").GetString(), Is.EqualTo("newsletter"));
            Assert.That(list.GetProperty("name").GetString(), Is.EqualTo("Newsletter"));
            Assert.That(list.GetProperty("mode").GetString(), Is.EqualTo("audience"));
            Assert.That(list.GetProperty("tag").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(list.GetProperty("defaultStatus").GetString(), Is.EqualTo("subscribed"));
            Assert.That(list.GetProperty("removalPolicy").GetString(), Is.EqualTo("archive"));
            Assert.That(list.GetProperty("memberCount").GetInt64(), Is.Zero);
        });
        var audience = await tenant.Client.GetFromJsonAsync<JsonElement>($"/api/v1/audiences/{audienceId}");
        Assert.That(audience.GetProperty("managed").GetBoolean(), Is.True);
        var read = await tenant.Client.GetFromJsonAsync<JsonElement>("/api/v1/lists/newsletter");
        Assert.That(read.GetProperty("audienceId").GetString(), Is.EqualTo(audienceId));
    }

    [Test]
    public async Task Linking_to_an_existing_managed_audience_uses_it()
    {
        using var tenant = await _env.CreateTenantAsync();
        var audienceId = await FacadeEnvironment.CreateAudienceAsync(tenant);
        var before = await _env.MarketingCallsAsync();
        var list = await FacadeEnvironment.LinkListAsync(tenant, "shop", audienceId);
        Assert.That(list.GetProperty("audienceId").GetString(), Is.EqualTo(audienceId));
        Assert.That(await _env.MarketingCallsAsync(), Is.EqualTo(before), "linking an existing audience needs no Mailchimp call");
    }

    [Test]
    public async Task Two_tag_lists_share_one_audience_and_the_list_shows_member_counts()
    {
        using var tenant = await _env.CreateTenantAsync();
        var audienceId = await FacadeEnvironment.CreateAudienceAsync(tenant);
        var buyers = await FacadeEnvironment.LinkListAsync(tenant, "buyers", audienceId, "tag");
        await FacadeEnvironment.LinkListAsync(tenant, "vips", audienceId, "tag", new { tag = "VIP customers" });
        Assert.That(buyers.GetProperty("tag").GetString(), Is.EqualTo("buyers"));

        await FacadeEnvironment.UpsertAsync(tenant, "buyers", new { email = "ann@shop.test" });
        await FacadeEnvironment.UpsertAsync(tenant, "buyers", new { email = "bob@shop.test" });
        await FacadeEnvironment.UpsertAsync(tenant, "vips", new { email = "ann@shop.test" });

        var lists = await tenant.Client.GetFromJsonAsync<JsonElement>("/api/v1/lists");
        var counts = lists.GetProperty("items").EnumerateArray().ToDictionary(list => list.GetProperty("key").GetString()!, list => list.GetProperty("memberCount").GetInt64());
        Assert.That(counts, Is.EquivalentTo(new Dictionary<string, long> { ["buyers"] = 2, ["vips"] = 1 }));

        var ann = await _env.SandboxMemberAsync(audienceId, "ann@shop.test");
        Assert.That(ann!.Tags, Is.EquivalentTo(new[] { "buyers", "VIP customers" }));
        Assert.That((await _env.Sandbox.GetMembersAsync(audienceId)), Has.Count.EqualTo(2), "one contact per person in the shared audience");
    }

    [Test]
    public async Task Conflicts_list_exists_and_audience_in_use()
    {
        using var tenant = await _env.CreateTenantAsync();
        var audienceId = await FacadeEnvironment.CreateAudienceAsync(tenant);
        await FacadeEnvironment.LinkListAsync(tenant, "whole", audienceId);
        var tagged = await FacadeEnvironment.CreateAudienceAsync(tenant, "Tagged");
        await FacadeEnvironment.LinkListAsync(tenant, "tagged", tagged, "tag");
        var before = await _env.MarketingCallsAsync();

        using var again = await tenant.Client.PostAsJsonAsync("/api/v1/lists", new { key = "whole", audienceId = tagged, mode = "tag" });
        await ProblemAssert.IsProblemAsync(again, HttpStatusCode.Conflict, "list_exists");
        using var sharedWhole = await tenant.Client.PostAsJsonAsync("/api/v1/lists", new { key = "second", audienceId, mode = "tag" });
        await ProblemAssert.IsProblemAsync(sharedWhole, HttpStatusCode.Conflict, "audience_in_use");
        using var wholeOfShared = await tenant.Client.PostAsJsonAsync("/api/v1/lists", new { key = "third", audienceId = tagged, mode = "audience" });
        await ProblemAssert.IsProblemAsync(wholeOfShared, HttpStatusCode.Conflict, "audience_in_use");
        using var newAudienceTaken = await tenant.Client.PostAsJsonAsync("/api/v1/lists", new { key = "whole", newAudience = new { name = "Dup" } });
        await ProblemAssert.IsProblemAsync(newAudienceTaken, HttpStatusCode.Conflict, "list_exists");

        Assert.That(await _env.MarketingCallsAsync(), Is.EqualTo(before), "no audience created for a refused link");
        var keys = (await tenant.Client.GetFromJsonAsync<JsonElement>("/api/v1/lists")).GetProperty("items").EnumerateArray().Select(list => list.GetProperty("key").GetString());
        Assert.That(keys, Is.EqualTo(new[] { "tagged", "whole" }));
    }

    [Test]
    public async Task Default_status_pending_makes_new_members_pending_in_Mailchimp()
    {
        using var tenant = await _env.CreateTenantAsync();
        var list = await FacadeEnvironment.LinkListAsync(tenant, "optin");
        var audienceId = list.GetProperty("audienceId").GetString()!;

        using var updated = await tenant.Client.PatchAsJsonAsync("/api/v1/lists/optin", new { defaultStatus = "pending", removalPolicy = "unsubscribe", name = "Double opt-in" });
        var body = await updated.JsonAsync();
        Assert.That(updated.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(body.GetProperty("defaultStatus").GetString(), Is.EqualTo("pending"));
            Assert.That(body.GetProperty("removalPolicy").GetString(), Is.EqualTo("unsubscribe"));
            Assert.That(body.GetProperty("name").GetString(), Is.EqualTo("Double opt-in"));
        });

        var member = await FacadeEnvironment.UpsertAsync(tenant, "optin", new { email = "new@shop.test" });
        Assert.That(member.GetProperty("status").GetString(), Is.EqualTo("pending"));
        Assert.That((await _env.SandboxMemberAsync(audienceId, "new@shop.test"))!.Status, Is.EqualTo("pending"));
    }

    [Test]
    public async Task Updating_the_permission_reminder_of_an_audience_list_changes_the_audience()
    {
        using var tenant = await _env.CreateTenantAsync();
        var list = await FacadeEnvironment.LinkListAsync(tenant, "reminded");
        var audienceId = list.GetProperty("audienceId").GetString()!;
        using var updated = await tenant.Client.PatchAsJsonAsync("/api/v1/lists/reminded", new { permissionReminder = "You joined at checkout." });
        Assert.That(updated.StatusCode, Is.EqualTo(HttpStatusCode.OK), await updated.Content.ReadAsStringAsync());
        var audience = await tenant.Client.GetFromJsonAsync<JsonElement>($"/api/v1/audiences/{audienceId}");
        Assert.That(audience.GetProperty("permissionReminder").GetString(), Is.EqualTo("You joined at checkout."));
    }

    [Test]
    public async Task Bad_list_settings_are_validation_problems_and_change_nothing()
    {
        using var tenant = await _env.CreateTenantAsync();
        await FacadeEnvironment.LinkListAsync(tenant, "stable");
        using var updated = await tenant.Client.PatchAsJsonAsync("/api/v1/lists/stable", new { defaultStatus = "unsubscribed", removalPolicy = "shred" });
        var problem = await ProblemAssert.IsProblemAsync(updated, HttpStatusCode.BadRequest, "validation");
        Assert.That(problem.GetProperty("errors").EnumerateObject().Select(error => error.Name), Is.EquivalentTo(new[] { "defaultStatus", "removalPolicy" }));
        var read = await tenant.Client.GetFromJsonAsync<JsonElement>("/api/v1/lists/stable");
        Assert.That(read.GetProperty("defaultStatus").GetString(), Is.EqualTo("subscribed"));
    }

    [Test]
    public async Task Unlinking_a_tag_list_untags_its_members_and_keeps_the_contacts()
    {
        using var tenant = await _env.CreateTenantAsync();
        var audienceId = await FacadeEnvironment.CreateAudienceAsync(tenant);
        await FacadeEnvironment.LinkListAsync(tenant, "leaving", audienceId, "tag");
        await FacadeEnvironment.LinkListAsync(tenant, "staying", audienceId, "tag");
        await FacadeEnvironment.UpsertAsync(tenant, "leaving", new { email = "ann@shop.test", tags = new[] { "own" } });
        await FacadeEnvironment.UpsertAsync(tenant, "staying", new { email = "ann@shop.test" });
        await FacadeEnvironment.UpsertAsync(tenant, "leaving", new { email = "bob@shop.test" });

        using var unlinked = await tenant.Client.DeleteAsync("/api/v1/lists/leaving");
        Assert.That(unlinked.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await unlinked.Content.ReadAsStringAsync());

        var members = (await _env.Sandbox.GetMembersAsync(audienceId)).ToDictionary(member => member.EmailAddress);
        Assert.Multiple(() =>
        {
            Assert.That(members["ann@shop.test"].Tags, Is.EquivalentTo(new[] { "own", "staying" }));
            Assert.That(members["ann@shop.test"].Status, Is.EqualTo("subscribed"));
            Assert.That(members["bob@shop.test"].Tags, Is.Empty);
            Assert.That(members["bob@shop.test"].Status, Is.EqualTo("subscribed"));
        });
        using var gone = await tenant.Client.GetAsync("/api/v1/lists/leaving");
        await ProblemAssert.IsProblemAsync(gone, HttpStatusCode.NotFound, "list_not_found");
        var keys = await TestRedis.KeysAsync(_env.Hub.Redis, _env.Hub.Settings.KeyPrefix);
        Assert.That(keys.Select(key => key.ToString()).Where(key => key.Contains(tenant.Id, StringComparison.Ordinal) && key.Contains("leaving", StringComparison.Ordinal)), Is.Empty,
            "the list's ledger is gone");
    }

    [Test]
    public async Task Unlinking_an_audience_list_keeps_the_audience_unless_asked_to_delete_it()
    {
        using var tenant = await _env.CreateTenantAsync();
        var kept = (await FacadeEnvironment.LinkListAsync(tenant, "kept")).GetProperty("audienceId").GetString()!;
        var dropped = (await FacadeEnvironment.LinkListAsync(tenant, "dropped")).GetProperty("audienceId").GetString()!;
        await FacadeEnvironment.UpsertAsync(tenant, "kept", new { email = "ann@shop.test" });

        using var unlinkKept = await tenant.Client.DeleteAsync("/api/v1/lists/kept");
        Assert.That(unlinkKept.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        using var unlinkDropped = await tenant.Client.DeleteAsync("/api/v1/lists/dropped?deleteAudience=true");
        Assert.That(unlinkDropped.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await unlinkDropped.Content.ReadAsStringAsync());

        using var mailchimp = _env.Sandbox.Marketing(tenant.Mailchimp);
        using var keptAudience = await mailchimp.GetAsync($"lists/{kept}");
        using var droppedAudience = await mailchimp.GetAsync($"lists/{dropped}");
        Assert.Multiple(() =>
        {
            Assert.That(keptAudience.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(droppedAudience.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        });
        Assert.That((await _env.SandboxMemberAsync(kept, "ann@shop.test"))!.Status, Is.EqualTo("subscribed"));
        var lists = await tenant.Client.GetFromJsonAsync<JsonElement>("/api/v1/lists");
        Assert.That(lists.GetProperty("items").GetArrayLength(), Is.Zero);
        Assert.That(lists.GetProperty("total").GetInt64(), Is.Zero);
    }

    [Test]
    public async Task Unlinking_a_list_sends_a_signed_list_unlinked_webhook_once_per_link()
    {
        using var tenant = await _env.CreateTenantAsync();
        var audienceId = await FacadeEnvironment.CreateAudienceAsync(tenant);
        await FacadeEnvironment.LinkListAsync(tenant, "leaving", audienceId, "tag", new { tag = "Leavers" });
        var dropped = (await FacadeEnvironment.LinkListAsync(tenant, "dropped")).GetProperty("audienceId").GetString()!;

        using var unlinkTag = await tenant.Client.DeleteAsync("/api/v1/lists/leaving");
        Assert.That(unlinkTag.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        var tagHook = await _env.Receiver.WaitForAsync(WebhookEvents.ListUnlinked, tenantId: tenant.Id);
        using var unlinkAudience = await tenant.Client.DeleteAsync("/api/v1/lists/dropped?deleteAudience=true");
        Assert.That(unlinkAudience.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        var audienceHook = await _env.Receiver.WaitForAsync(WebhookEvents.ListUnlinked, count: 2, tenantId: tenant.Id);

        var tagEvent = JsonDocument.Parse(tagHook.Body).RootElement;
        var audienceEvent = JsonDocument.Parse(audienceHook.Body).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(WebhookSignature.Verify(new Secret(tenant.Tenant.WebhookSigningSecret), tagHook.Signature, tagHook.Body, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)), Is.True);
            Assert.That(tagEvent.GetProperty("type").GetString(), Is.EqualTo("list.unlinked"));
            Assert.That(tagEvent.GetProperty("tenantId").GetString(), Is.EqualTo(tenant.Id));
            var data = tagEvent.GetProperty("data");
            Assert.That(data.GetProperty("listKey").GetString(), Is.EqualTo("leaving"));
            Assert.That(data.GetProperty("audienceId").GetString(), Is.EqualTo(audienceId));
            Assert.That(data.GetProperty("mode").GetString(), Is.EqualTo("tag"));
            Assert.That(data.GetProperty("tag").GetString(), Is.EqualTo("Leavers"));
            Assert.That(data.GetProperty("audienceDeleted").GetBoolean(), Is.False);
            Assert.That(data.GetProperty("unlinkedAt").GetDateTimeOffset(), Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(1)));

            Assert.That(WebhookSignature.Verify(new Secret(tenant.Tenant.WebhookSigningSecret), audienceHook.Signature, audienceHook.Body, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)), Is.True);
            var whole = audienceEvent.GetProperty("data");
            Assert.That(whole.GetProperty("listKey").GetString(), Is.EqualTo("dropped"));
            Assert.That(whole.GetProperty("audienceId").GetString(), Is.EqualTo(dropped));
            Assert.That(whole.GetProperty("mode").GetString(), Is.EqualTo("audience"));
            Assert.That(whole.GetProperty("tag").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(whole.GetProperty("audienceDeleted").GetBoolean(), Is.True);
        });

        // The same key linked again is another link: its unlink is another event, with another delivery id.
        await FacadeEnvironment.LinkListAsync(tenant, "leaving", audienceId, "tag");
        using var again = await tenant.Client.DeleteAsync("/api/v1/lists/leaving");
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        var relinkedHook = await _env.Receiver.WaitForAsync(WebhookEvents.ListUnlinked, count: 3, tenantId: tenant.Id);
        Assert.That(JsonDocument.Parse(relinkedHook.Body).RootElement.GetProperty("id").GetString(), Is.Not.EqualTo(tagEvent.GetProperty("id").GetString()));

        // A refused unlink (and one of a list that is gone) sends nothing.
        using var refused = await tenant.Client.DeleteAsync("/api/v1/lists/leaving");
        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.NotFound, "list_not_found");
        var deliveries = await tenant.Client.GetFromJsonAsync<JsonElement>("/api/v1/webhooks/deliveries");
        Assert.That(deliveries.GetProperty("items").EnumerateArray().Count(delivery => delivery.GetProperty("eventType").GetString() == "list.unlinked"), Is.EqualTo(3));
    }

    [Test]
    public async Task Delete_audience_is_refused_for_a_tag_list()
    {
        using var tenant = await _env.CreateTenantAsync();
        var audienceId = await FacadeEnvironment.CreateAudienceAsync(tenant);
        await FacadeEnvironment.LinkListAsync(tenant, "tagged", audienceId, "tag");
        using var unlinked = await tenant.Client.DeleteAsync("/api/v1/lists/tagged?deleteAudience=true");
        await ProblemAssert.IsProblemAsync(unlinked, HttpStatusCode.BadRequest, "validation");
        Assert.That((await tenant.Client.GetAsync("/api/v1/lists/tagged")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Another_tenants_list_is_not_found_not_forbidden()
    {
        using var owner = await _env.CreateTenantAsync();
        using var other = await _env.CreateTenantAsync();
        await FacadeEnvironment.LinkListAsync(owner, "private");
        var before = await _env.MarketingCallsAsync();

        using var read = await other.Client.GetAsync("/api/v1/lists/private");
        await ProblemAssert.IsProblemAsync(read, HttpStatusCode.NotFound, "list_not_found");
        using var patched = await other.Client.PatchAsJsonAsync("/api/v1/lists/private", new { name = "Mine" });
        await ProblemAssert.IsProblemAsync(patched, HttpStatusCode.NotFound, "list_not_found");
        using var member = await other.Client.PostAsJsonAsync("/api/v1/lists/private/members", new { email = "ann@shop.test" });
        await ProblemAssert.IsProblemAsync(member, HttpStatusCode.NotFound, "list_not_found");
        using var members = await other.Client.GetAsync("/api/v1/lists/private/members");
        await ProblemAssert.IsProblemAsync(members, HttpStatusCode.NotFound, "list_not_found");
        using var deleted = await other.Client.DeleteAsync("/api/v1/lists/private");
        await ProblemAssert.IsProblemAsync(deleted, HttpStatusCode.NotFound, "list_not_found");

        Assert.That(await _env.MarketingCallsAsync(), Is.EqualTo(before));
        Assert.That((await owner.Client.GetFromJsonAsync<JsonElement>("/api/v1/lists/private")).GetProperty("name").GetString(), Is.EqualTo("private"));
    }
}
