using System.Net;
using System.Net.Http.Json;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Audiences;

[TestFixture]
public sealed class AudiencesApiTests() : EnvironmentFixture<FacadeEnvironment>(() => FacadeEnvironment.StartAsync())
{
    [Test]
    public async Task Creating_an_audience_fills_in_the_tenants_defaults_and_marks_it_managed()
    {
        using var tenant = await _env.CreateTenantAsync();
        using var created = await tenant.Client.PostAsJsonAsync("/api/v1/audiences", new { name = "  Customers  " });
        var body = await created.JsonAsync();

        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        var id = body.GetProperty("id").GetString()!;
        Assert.Multiple(() =>
        {
            Assert.That(created.Headers.Location!.ToString(), Is.EqualTo($"/api/v1/audiences/{id}"));
            Assert.That(body.GetProperty("name").GetString(), Is.EqualTo("Customers"));
            Assert.That(body.GetProperty("permissionReminder").GetString(), Is.EqualTo("You signed up in our shop."));
            Assert.That(body.GetProperty("contact").GetProperty("company").GetString(), Is.EqualTo("Host Co"));
            Assert.That(body.GetProperty("campaignDefaults").GetProperty("fromEmail").GetString(), Is.EqualTo("news@host.test"));
            Assert.That(body.GetProperty("managed").GetBoolean(), Is.True);
        });

        using var mailchimp = _env.Sandbox.Marketing(tenant.Mailchimp);
        var list = await mailchimp.GetFromJsonAsync<System.Text.Json.JsonElement>($"lists/{id}");
        Assert.That(list.GetProperty("permission_reminder").GetString(), Is.EqualTo("You signed up in our shop."));
    }

    [Test]
    public async Task Creating_without_required_fields_is_refused_before_Mailchimp_is_called()
    {
        using var tenant = await _env.CreateTenantAsync(withDefaults: false);
        var before = await _env.MarketingCallsAsync();
        using var created = await tenant.Client.PostAsJsonAsync("/api/v1/audiences", new { name = "", contact = new { company = "X" } });

        var problem = await ProblemAssert.IsProblemAsync(created, HttpStatusCode.BadRequest, "validation");
        var errors = problem.GetProperty("errors");
        Assert.Multiple(() =>
        {
            Assert.That(errors.TryGetProperty("name", out _), Is.True, errors.ToString());
            Assert.That(errors.TryGetProperty("permissionReminder", out _), Is.True, errors.ToString());
            Assert.That(errors.TryGetProperty("campaignDefaults", out _), Is.True, errors.ToString());
            Assert.That(errors.EnumerateObject().Any(error => error.Name.StartsWith("contact", StringComparison.Ordinal)), Is.True, errors.ToString());
        });
        Assert.That(await _env.MarketingCallsAsync(), Is.EqualTo(before), "nothing sent to Mailchimp");
    }

    [Test]
    public async Task The_audience_list_flags_which_audiences_Hub_manages()
    {
        using var tenant = await _env.CreateTenantAsync();
        var foreign = await _env.Sandbox.CreateListAsync(tenant.Mailchimp, "Made in Mailchimp");
        var managed = await FacadeEnvironment.CreateAudienceAsync(tenant, "Made by Hub");

        var page = await tenant.Client.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/v1/audiences");
        var flags = page.GetProperty("items").EnumerateArray().ToDictionary(item => item.GetProperty("id").GetString()!, item => item.GetProperty("managed").GetBoolean());
        Assert.That(flags, Is.EquivalentTo(new Dictionary<string, bool> { [foreign] = false, [managed] = true }));
        Assert.That(page.GetProperty("total").GetInt32(), Is.EqualTo(2));
    }

    [Test]
    public async Task An_existing_audience_can_be_registered_as_managed_when_the_operator_allows_adoption()
    {
        using var tenant = await _env.CreateTenantAsync(allowAudienceAdoption: true);
        var foreign = await _env.Sandbox.CreateListAsync(tenant.Mailchimp, "Handed over");

        using var managed = await tenant.Client.PostAsync($"/api/v1/audiences/{foreign}/manage", null);
        Assert.That(managed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await managed.Content.ReadAsStringAsync());
        Assert.That((await managed.JsonAsync()).GetProperty("managed").GetBoolean(), Is.True);

        var read = await tenant.Client.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/v1/audiences/{foreign}");
        Assert.Multiple(() =>
        {
            Assert.That(read.GetProperty("managed").GetBoolean(), Is.True);
            Assert.That(read.GetProperty("name").GetString(), Is.EqualTo("Handed over"));
        });
    }

    [Test]
    public async Task Registering_a_missing_audience_is_not_found_and_stores_nothing()
    {
        using var tenant = await _env.CreateTenantAsync(allowAudienceAdoption: true);
        using var managed = await tenant.Client.PostAsync("/api/v1/audiences/0000000000/manage", null);
        await ProblemAssert.IsProblemAsync(managed, HttpStatusCode.NotFound, "not_found");

        using var read = await tenant.Client.GetAsync("/api/v1/audiences/0000000000");
        await ProblemAssert.IsProblemAsync(read, HttpStatusCode.NotFound, "not_found");
        var page = await tenant.Client.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/v1/audiences");
        Assert.That(page.GetProperty("items").GetArrayLength(), Is.Zero);
    }

    [Test]
    public async Task Updating_an_audience_changes_only_the_fields_sent()
    {
        using var tenant = await _env.CreateTenantAsync();
        var id = await FacadeEnvironment.CreateAudienceAsync(tenant, "Before");

        using var updated = await tenant.Client.PatchAsJsonAsync($"/api/v1/audiences/{id}", new { permissionReminder = "You asked for it." });
        var body = await updated.JsonAsync();
        Assert.That(updated.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());

        using var mailchimp = _env.Sandbox.Marketing(tenant.Mailchimp);
        var list = await mailchimp.GetFromJsonAsync<System.Text.Json.JsonElement>($"lists/{id}");
        Assert.Multiple(() =>
        {
            Assert.That(body.GetProperty("permissionReminder").GetString(), Is.EqualTo("You asked for it."));
            Assert.That(list.GetProperty("permission_reminder").GetString(), Is.EqualTo("You asked for it."));
            Assert.That(list.GetProperty("name").GetString(), Is.EqualTo("Before"));
            Assert.That(list.GetProperty("contact").GetProperty("company").GetString(), Is.EqualTo("Host Co"));
            Assert.That(list.GetProperty("contact").GetProperty("zip").GetString(), Is.EqualTo("30308"));
            Assert.That(list.GetProperty("campaign_defaults").GetProperty("from_name").GetString(), Is.EqualTo("Host Co"));
        });
    }

    [Test]
    public async Task Deleting_needs_the_id_repeated_as_confirmation()
    {
        using var tenant = await _env.CreateTenantAsync();
        var id = await FacadeEnvironment.CreateAudienceAsync(tenant);
        var before = await _env.MarketingCallsAsync();

        using var unconfirmed = await tenant.Client.DeleteAsync($"/api/v1/audiences/{id}");
        await ProblemAssert.IsProblemAsync(unconfirmed, HttpStatusCode.BadRequest, "confirmation_required");
        using var wrong = await tenant.Client.DeleteAsync($"/api/v1/audiences/{id}?confirm=other");
        await ProblemAssert.IsProblemAsync(wrong, HttpStatusCode.BadRequest, "confirmation_required");
        Assert.That(await _env.MarketingCallsAsync(), Is.EqualTo(before));

        using var deleted = await tenant.Client.DeleteAsync($"/api/v1/audiences/{id}?confirm={id}");
        Assert.That(deleted.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await deleted.Content.ReadAsStringAsync());
        using var mailchimp = _env.Sandbox.Marketing(tenant.Mailchimp);
        using var gone = await mailchimp.GetAsync($"lists/{id}");
        Assert.That(gone.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        var page = await tenant.Client.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/v1/audiences");
        Assert.That(page.GetProperty("items").GetArrayLength(), Is.Zero);
    }

    [Test]
    public async Task Only_managed_audiences_can_be_updated_or_deleted()
    {
        using var tenant = await _env.CreateTenantAsync();
        var foreign = await _env.Sandbox.CreateListAsync(tenant.Mailchimp, "Not ours");
        var before = await _env.MarketingCallsAsync();

        using var updated = await tenant.Client.PatchAsJsonAsync($"/api/v1/audiences/{foreign}", new { name = "Ours now" });
        await ProblemAssert.IsProblemAsync(updated, HttpStatusCode.Forbidden, "audience_not_managed");
        using var deleted = await tenant.Client.DeleteAsync($"/api/v1/audiences/{foreign}?confirm={foreign}");
        await ProblemAssert.IsProblemAsync(deleted, HttpStatusCode.Forbidden, "audience_not_managed");

        Assert.That(await _env.MarketingCallsAsync(), Is.EqualTo(before), "nothing sent to Mailchimp");
        using var mailchimp = _env.Sandbox.Marketing(tenant.Mailchimp);
        var list = await mailchimp.GetFromJsonAsync<System.Text.Json.JsonElement>($"lists/{foreign}");
        Assert.That(list.GetProperty("name").GetString(), Is.EqualTo("Not ours"));
    }

    [Test]
    public async Task The_plan_limit_is_a_403_and_nothing_is_marked_managed()
    {
        using var tenant = await _env.CreateTenantAsync(audienceLimit: 1);
        await FacadeEnvironment.CreateAudienceAsync(tenant, "The one");

        using var second = await tenant.Client.PostAsJsonAsync("/api/v1/audiences", new { name = "One too many" });
        var problem = await ProblemAssert.IsProblemAsync(second, HttpStatusCode.Forbidden, "plan_limit");
        Assert.That(problem.GetProperty("mailchimpStatus").GetInt32(), Is.EqualTo(403));

        var page = await tenant.Client.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/v1/audiences");
        Assert.That(page.GetProperty("items").GetArrayLength(), Is.EqualTo(1));
    }

    [Test]
    public async Task A_tenant_without_a_connection_gets_not_connected_and_nothing_is_sent()
    {
        var tenant = await _env.Hub.CreateTenantAsync();
        using var client = _env.Hub.Client(tenant.ApiKey);
        var before = await _env.MarketingCallsAsync();
        using var listed = await client.GetAsync("/api/v1/audiences");
        await ProblemAssert.IsProblemAsync(listed, HttpStatusCode.Conflict, "not_connected");
        Assert.That(await _env.MarketingCallsAsync(), Is.EqualTo(before));
    }
}
