using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hub.Tests.Infrastructure;
using Hub.Tests.OAuth;

namespace Hub.Tests.Audiences;

/// <summary>
/// Which audiences a tenant key may take over, and which Hub deletes: every audience the customer did not
/// hand over stays untouched unless the operator allows adoption, and Hub deletes only audiences it created.
/// </summary>
[TestFixture]
public sealed class AudienceOwnershipTests() : EnvironmentFixture<FacadeEnvironment>(() => FacadeEnvironment.StartAsync())
{
    [Test]
    public async Task A_tenant_key_cannot_take_over_an_audience_it_was_not_handed()
    {
        using var tenant = await _env.CreateTenantAsync();
        var foreign = await ForeignAudienceWithContactAsync(tenant);
        var calls = await _env.MarketingCallsAsync();
        var state = await _env.TenantStateAsync(tenant);

        using var managed = await tenant.Client.PostAsync($"/api/v1/audiences/{foreign}/manage", null);
        await ProblemAssert.IsProblemAsync(managed, HttpStatusCode.Forbidden, "audience_adoption_not_allowed");
        using var deleted = await tenant.Client.DeleteAsync($"/api/v1/audiences/{foreign}?confirm={foreign}");
        await ProblemAssert.IsProblemAsync(deleted, HttpStatusCode.Forbidden, "audience_not_managed");

        Assert.That(await _env.MarketingCallsAsync(), Is.EqualTo(calls), "nothing sent to Mailchimp");
        Assert.That(await _env.TenantStateAsync(tenant), Is.EqualTo(state), "nothing stored");
        Assert.That((await _env.SandboxMemberAsync(foreign, "kept@shop.test"))?.Status, Is.EqualTo("subscribed"), "the audience and its contacts are still there");
        var read = await tenant.Client.GetFromJsonAsync<JsonElement>($"/api/v1/audiences/{foreign}");
        Assert.That(read.GetProperty("managed").GetBoolean(), Is.False);
    }

    [Test]
    public async Task With_adoption_allowed_an_existing_audience_is_managed_but_never_deleted()
    {
        using var tenant = await _env.CreateTenantAsync();
        var foreign = await ForeignAudienceWithContactAsync(tenant);
        using var admin = _env.Hub.Admin();
        var before = await admin.GetFromJsonAsync<JsonElement>($"/api/admin/tenants/{tenant.Id}");
        Assert.That(before.GetProperty("allowAudienceAdoption").GetBoolean(), Is.False, "off by default");
        using var allowed = await admin.PatchAsJsonAsync($"/api/admin/tenants/{tenant.Id}", new { allowAudienceAdoption = true });
        Assert.That((await allowed.JsonAsync()).GetProperty("allowAudienceAdoption").GetBoolean(), Is.True);

        using var managed = await tenant.Client.PostAsync($"/api/v1/audiences/{foreign}/manage", null);
        var adopted = await managed.JsonAsync();
        Assert.That(managed.StatusCode, Is.EqualTo(HttpStatusCode.OK), adopted.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(adopted.GetProperty("managed").GetBoolean(), Is.True);
            Assert.That(adopted.GetProperty("createdByHub").GetBoolean(), Is.False);
        });
        using var renamed = await tenant.Client.PatchAsJsonAsync($"/api/v1/audiences/{foreign}", new { name = "Adopted" });
        Assert.That(renamed.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a managed audience can be written to");

        var calls = await _env.MarketingCallsAsync();
        var state = await _env.TenantStateAsync(tenant);
        using var deleted = await tenant.Client.DeleteAsync($"/api/v1/audiences/{foreign}?confirm={foreign}");
        await ProblemAssert.IsProblemAsync(deleted, HttpStatusCode.Forbidden, "audience_not_created_by_hub");
        using var passthrough = await tenant.Client.DeleteAsync($"/api/v1/mailchimp/lists/{foreign}");
        await ProblemAssert.IsProblemAsync(passthrough, HttpStatusCode.Forbidden, "audience_not_created_by_hub");

        Assert.That(await _env.MarketingCallsAsync(), Is.EqualTo(calls), "nothing sent to Mailchimp");
        Assert.That(await _env.TenantStateAsync(tenant), Is.EqualTo(state), "nothing stored");
        Assert.That((await _env.SandboxMemberAsync(foreign, "kept@shop.test"))?.Status, Is.EqualTo("subscribed"));
    }

    [Test]
    public async Task The_handed_over_audience_can_be_managed_without_adoption()
    {
        // A consent environment's tenant: return origins, no audience defaults, not connected yet.
        ConsentEnvironment consent = _env;
        var tenant = await consent.CreateTenantAsync();
        var handedOver = await _env.Sandbox.CreateListAsync(_env.Sandbox.DefaultApiKey, "Handed over");
        var other = await _env.Sandbox.CreateListAsync(_env.Sandbox.DefaultApiKey, "Someone else's");
        await _env.SetOAuthAppAsync(tenant, endpointUrl: _env.EndpointUrl(), audienceId: handedOver);
        using (var browser = ConsentEnvironment.Browser())
        using (var result = await browser.GetAsync(await _env.ConsentAtSandboxAsync(browser, await _env.CreateLinkAsync(tenant))))
        {
            // A connected consent redirects to the single-use result page, so code and state leave the address bar.
            Assert.That(result.StatusCode, Is.EqualTo(HttpStatusCode.Found), await result.Content.ReadAsStringAsync());
            Assert.That(result.Headers.Location?.ToString(), Does.EndWith("/oauth2/result"));
        }

        using var client = _env.Hub.Client(tenant.ApiKey);
        using var stopped = await client.DeleteAsync($"/api/v1/audiences/{handedOver}/manage");
        Assert.That(stopped.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await stopped.Content.ReadAsStringAsync());
        using var again = await client.PostAsync($"/api/v1/audiences/{handedOver}/manage", null);
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.OK), await again.Content.ReadAsStringAsync());
        Assert.That((await again.JsonAsync()).GetProperty("createdByHub").GetBoolean(), Is.False);
        using var refused = await client.PostAsync($"/api/v1/audiences/{other}/manage", null);
        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden, "audience_adoption_not_allowed");

        var connection = await _env.GetConnectionAsync(tenant);
        Assert.That(connection.GetProperty("managedAudiences").EnumerateArray().Select(a => a.GetString()), Is.EqualTo(new[] { handedOver }));
        using var deleted = await client.DeleteAsync($"/api/v1/audiences/{handedOver}?confirm={handedOver}");
        await ProblemAssert.IsProblemAsync(deleted, HttpStatusCode.Forbidden, "audience_not_created_by_hub");
    }

    [Test]
    public async Task Hub_deletes_audiences_it_created_itself()
    {
        using var tenant = await _env.CreateTenantAsync();
        var created = await FacadeEnvironment.CreateAudienceAsync(tenant, "Made by Hub");
        var read = await tenant.Client.GetFromJsonAsync<JsonElement>($"/api/v1/audiences/{created}");
        Assert.That(read.GetProperty("createdByHub").GetBoolean(), Is.True);

        using var passthroughCreated = await tenant.Client.PostAsJsonAsync("/api/v1/mailchimp/lists", SandboxHost.ValidListBody("Made through the passthrough"));
        Assert.That(passthroughCreated.StatusCode, Is.EqualTo(HttpStatusCode.OK), await passthroughCreated.Content.ReadAsStringAsync());
        var viaPassthrough = (await passthroughCreated.JsonAsync()).GetProperty("id").GetString()!;

        using var deleted = await tenant.Client.DeleteAsync($"/api/v1/audiences/{created}?confirm={created}");
        Assert.That(deleted.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await deleted.Content.ReadAsStringAsync());
        using var deletedThroughPassthrough = await tenant.Client.DeleteAsync($"/api/v1/mailchimp/lists/{viaPassthrough}");
        Assert.That(deletedThroughPassthrough.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await deletedThroughPassthrough.Content.ReadAsStringAsync());
        var page = await tenant.Client.GetFromJsonAsync<JsonElement>("/api/v1/audiences");
        Assert.That(page.GetProperty("items").GetArrayLength(), Is.Zero);
        Assert.That((await _env.GetConnectionAsync(tenant.Tenant)).GetProperty("managedAudiences").GetArrayLength(), Is.Zero);
    }

    [Test]
    public async Task An_audience_managed_before_Hub_recorded_who_created_it_is_not_deleted()
    {
        using var tenant = await _env.CreateTenantAsync();
        var legacy = await ForeignAudienceWithContactAsync(tenant);
        // What an audience managed before this rule looks like in Redis: only in the managed set.
        await _env.Hub.Redis.GetDatabase().SetAddAsync(_env.Hub.Keys.ManagedAudiences(TenantId.Parse(tenant.Id)), legacy);
        var calls = await _env.MarketingCallsAsync();

        using var deleted = await tenant.Client.DeleteAsync($"/api/v1/audiences/{legacy}?confirm={legacy}");
        await ProblemAssert.IsProblemAsync(deleted, HttpStatusCode.Forbidden, "audience_not_created_by_hub");

        Assert.That(await _env.MarketingCallsAsync(), Is.EqualTo(calls), "nothing sent to Mailchimp");
        Assert.That((await _env.SandboxMemberAsync(legacy, "kept@shop.test"))?.Status, Is.EqualTo("subscribed"));
    }

    [Test]
    public async Task Deleting_an_audience_mode_list_deletes_only_an_audience_Hub_created()
    {
        using var tenant = await _env.CreateTenantAsync(allowAudienceAdoption: true);
        var foreign = await ForeignAudienceWithContactAsync(tenant);
        using (var managed = await tenant.Client.PostAsync($"/api/v1/audiences/{foreign}/manage", null))
        {
            Assert.That(managed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await managed.Content.ReadAsStringAsync());
        }

        await FacadeEnvironment.LinkListAsync(tenant, "adopted", foreign);
        var calls = await _env.MarketingCallsAsync();
        var state = await _env.TenantStateAsync(tenant);

        using var refused = await tenant.Client.DeleteAsync("/api/v1/lists/adopted?deleteAudience=true");
        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden, "audience_not_created_by_hub");
        Assert.That(await _env.MarketingCallsAsync(), Is.EqualTo(calls), "nothing sent to Mailchimp");
        Assert.That(await _env.TenantStateAsync(tenant), Is.EqualTo(state), "the list is still linked");
        Assert.That((await _env.SandboxMemberAsync(foreign, "kept@shop.test"))?.Status, Is.EqualTo("subscribed"));

        var own = (await FacadeEnvironment.LinkListAsync(tenant, "own")).GetProperty("audienceId").GetString()!;
        using var deleted = await tenant.Client.DeleteAsync("/api/v1/lists/own?deleteAudience=true");
        Assert.That(deleted.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await deleted.Content.ReadAsStringAsync());
        using var mailchimp = _env.Sandbox.Marketing(tenant.Mailchimp);
        using var gone = await mailchimp.GetAsync($"lists/{own}");
        Assert.That(gone.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "the audience Hub created for the list is deleted with it");
    }

    [Test]
    public async Task Stopping_to_manage_forgets_the_audience_and_Mailchimp_keeps_it()
    {
        using var tenant = await _env.CreateTenantAsync();
        var audienceId = (await FacadeEnvironment.LinkListAsync(tenant, "members")).GetProperty("audienceId").GetString()!;
        await FacadeEnvironment.UpsertAsync(tenant, "members", new { email = "ann@shop.test" });

        var calls = await _env.MarketingCallsAsync();
        var state = await _env.TenantStateAsync(tenant);
        using var inUse = await tenant.Client.DeleteAsync($"/api/v1/audiences/{audienceId}/manage");
        var problem = await ProblemAssert.IsProblemAsync(inUse, HttpStatusCode.Conflict, "audience_in_use");
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("'members'"));
        Assert.That(await _env.TenantStateAsync(tenant), Is.EqualTo(state), "nothing changes while a list is linked");

        using (var unlinked = await tenant.Client.DeleteAsync("/api/v1/lists/members"))
        {
            Assert.That(unlinked.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        }

        using var stopped = await tenant.Client.DeleteAsync($"/api/v1/audiences/{audienceId}/manage");
        Assert.That(stopped.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await stopped.Content.ReadAsStringAsync());
        using var again = await tenant.Client.DeleteAsync($"/api/v1/audiences/{audienceId}/manage");
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), "stopping is idempotent");
        Assert.That(await _env.MarketingCallsAsync(), Is.EqualTo(calls), "stopping sends nothing to Mailchimp");

        var read = await tenant.Client.GetFromJsonAsync<JsonElement>($"/api/v1/audiences/{audienceId}");
        Assert.That(read.GetProperty("managed").GetBoolean(), Is.False);
        Assert.That((await _env.SandboxMemberAsync(audienceId, "ann@shop.test"))?.Status, Is.EqualTo("subscribed"), "Mailchimp keeps the audience");
        using var write = await tenant.Client.PatchAsJsonAsync($"/api/v1/audiences/{audienceId}", new { name = "Ours again?" });
        await ProblemAssert.IsProblemAsync(write, HttpStatusCode.Forbidden, "audience_not_managed");
        using var readopt = await tenant.Client.PostAsync($"/api/v1/audiences/{audienceId}/manage", null);
        await ProblemAssert.IsProblemAsync(readopt, HttpStatusCode.Forbidden, "audience_adoption_not_allowed");
    }

    /// <summary>An audience made in Mailchimp itself, outside Hub, with one subscribed contact.</summary>
    private async Task<string> ForeignAudienceWithContactAsync(FacadeTenant tenant)
    {
        var audienceId = await _env.Sandbox.CreateListAsync(tenant.Mailchimp, "The customer's own");
        using var mailchimp = _env.Sandbox.Marketing(tenant.Mailchimp);
        using var added = await mailchimp.PostAsJsonAsync($"lists/{audienceId}/members", new { email_address = "kept@shop.test", status = "subscribed" });
        Assert.That(added.StatusCode, Is.EqualTo(HttpStatusCode.OK), await added.Content.ReadAsStringAsync());
        return audienceId;
    }
}
