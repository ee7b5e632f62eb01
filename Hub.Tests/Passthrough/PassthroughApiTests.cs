using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Passthrough;

[TestFixture]
public sealed class PassthroughApiTests() : EnvironmentFixture<FacadeEnvironment>(() => FacadeEnvironment.StartAsync())
{
    [Test]
    public async Task A_read_is_forwarded_with_the_tenants_Mailchimp_key_not_the_Hub_key()
    {
        using var tenant = await _env.CreateTenantAsync();
        using var other = await _env.CreateTenantAsync();
        var own = await _env.Sandbox.CreateListAsync(tenant.Mailchimp, "Own");
        await _env.Sandbox.CreateListAsync(other.Mailchimp, "Someone else's");

        using var response = await tenant.Client.GetAsync("/api/v1/mailchimp/lists?fields=lists.id,lists.name");
        var body = await response.JsonAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
        Assert.That(body.GetProperty("lists").EnumerateArray().Select(list => list.GetProperty("id").GetString()), Is.EqualTo(new[] { own }),
            "the sandbox authenticated the tenant's own Mailchimp account; a forwarded Hub key would have been a 401");
        var counters = await _env.Sandbox.GetCountersAsync();
        Assert.That(counters.RouteStatuses.GetValueOrDefault("GET lists 401"), Is.Zero);
    }

    [Test]
    public async Task Writes_to_managed_audiences_work_and_POST_lists_registers_the_new_audience()
    {
        using var tenant = await _env.CreateTenantAsync();
        using var created = await tenant.Client.PostAsJsonAsync("/api/v1/mailchimp/lists", SandboxHost.ValidListBody("Via passthrough"));
        var list = await created.JsonAsync();
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.OK), list.ToString());
        var id = list.GetProperty("id").GetString()!;
        var audience = await tenant.Client.GetFromJsonAsync<JsonElement>($"/api/v1/audiences/{id}");
        Assert.That(audience.GetProperty("managed").GetBoolean(), Is.True);

        using var member = await tenant.Client.PutAsJsonAsync($"/api/v1/mailchimp/lists/{id}/members/ann@shop.test",
            new { email_address = "ann@shop.test", status_if_new = "subscribed" });
        Assert.That(member.StatusCode, Is.EqualTo(HttpStatusCode.OK), await member.Content.ReadAsStringAsync());
        Assert.That((await _env.SandboxMemberAsync(id, "ann@shop.test"))!.Status, Is.EqualTo("subscribed"));

        using var deleted = await tenant.Client.DeleteAsync($"/api/v1/mailchimp/lists/{id}");
        Assert.That(deleted.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        var page = await tenant.Client.GetFromJsonAsync<JsonElement>("/api/v1/audiences");
        Assert.That(page.GetProperty("items").GetArrayLength(), Is.Zero);
    }

    [TestCase("POST", "lists/{foreign}/members", "audience_not_managed")]
    [TestCase("PUT", "lists/{foreign}/members/ann@shop.test", "audience_not_managed")]
    [TestCase("PATCH", "lists/{foreign}", "audience_not_managed")]
    [TestCase("DELETE", "lists/{foreign}", "audience_not_managed")]
    [TestCase("POST", "LISTS/{foreign}/members", "audience_not_managed")]
    [TestCase("POST", "campaigns", "passthrough_write_not_allowed")]
    [TestCase("POST", "batches", "passthrough_write_not_allowed")]
    [TestCase("POST", "", "passthrough_write_not_allowed")]
    public async Task Other_writes_are_refused_and_nothing_is_sent(string method, string path, string problem)
    {
        using var tenant = await _env.CreateTenantAsync();
        var foreign = await _env.Sandbox.CreateListAsync(tenant.Mailchimp, "Not managed");
        var before = await _env.MarketingCallsAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), "/api/v1/mailchimp/" + path.Replace("{foreign}", foreign, StringComparison.Ordinal))
        {
            Content = JsonContent.Create(new { email_address = "ann@shop.test", status = "subscribed", name = "x" }),
        };
        using var response = await tenant.Client.SendAsync(request);
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, problem);
        Assert.That(await _env.MarketingCallsAsync(), Is.EqualTo(before));
        Assert.That(await _env.Sandbox.GetMembersAsync(foreign), Is.Empty);
    }

    [Test]
    public async Task Writes_outside_lists_need_allow_passthrough_writes_set_by_the_operator()
    {
        using var tenant = await _env.CreateTenantAsync();
        using var refused = await tenant.Client.PostAsJsonAsync("/api/v1/mailchimp/batch-webhooks", new { url = _env.Receiver.HookUrl });
        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden, "passthrough_write_not_allowed");

        using var admin = _env.Hub.Admin();
        using var patched = await admin.PatchAsJsonAsync($"/api/admin/tenants/{tenant.Id}", new { allowPassthroughWrites = true });
        Assert.That(patched.StatusCode, Is.EqualTo(HttpStatusCode.OK), await patched.Content.ReadAsStringAsync());

        // The sandbox has no write route outside /lists (and does not count unmatched ones): its 404, where the
        // same call was a 403 before, is Mailchimp's answer passed through.
        using var allowed = await tenant.Client.PostAsJsonAsync("/api/v1/mailchimp/campaigns", new { type = "regular" });
        Assert.That(allowed.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), await allowed.Content.ReadAsStringAsync());

        var foreign = await _env.Sandbox.CreateListAsync(tenant.Mailchimp, "Still not managed");
        using var unmanaged = await tenant.Client.PostAsJsonAsync($"/api/v1/mailchimp/lists/{foreign}/members", new { email_address = "ann@shop.test", status = "subscribed" });
        await ProblemAssert.IsProblemAsync(unmanaged, HttpStatusCode.Forbidden, "audience_not_managed");
    }

    [Test]
    public async Task Mailchimps_own_404_and_405_come_back_with_Mailchimps_problem_type()
    {
        using var tenant = await _env.CreateTenantAsync();
        var managed = await FacadeEnvironment.CreateAudienceAsync(tenant);
        using var unknown = await tenant.Client.GetAsync("/api/v1/mailchimp/campaigns");
        using var wrongMethod = await tenant.Client.PutAsJsonAsync($"/api/v1/mailchimp/lists/{managed}", new { name = "x" });

        foreach (var (response, status) in new[] { (unknown, HttpStatusCode.NotFound), (wrongMethod, HttpStatusCode.MethodNotAllowed) })
        {
            var body = await ProblemAssert.IsProblemAsync(response, status);
            Assert.That(body.GetProperty("type").GetString(), Is.EqualTo("https://mailchimp.com/developer/marketing/docs/errors/"), body.ToString());
        }
    }

    [TestCase("GET", "/api/v1/mailchimp/lists/../ping")]
    [TestCase("GET", "/api/v1/mailchimp/lists/%2e%2e/ping")]
    [TestCase("GET", "/api/v1/mailchimp/lists%2F..%2Fping")]
    [TestCase("GET", "/api/v1/mailchimp/lists/abc%2Fmembers")]
    [TestCase("GET", "/api/v1/mailchimp/lists/./ping")]
    [TestCase("GET", "/api/v1/mailchimp/lists\\..\\ping")]
    [TestCase("GET", "/api/v1/mailchimp//evil.test/steal")]
    [TestCase("GET", "/api/v1/mailchimp/http://evil.test/steal")]
    [TestCase("GET", "/api/v1/mailchimp/lists/%0d%0aX-Injected:%201")]
    [TestCase("POST", "/api/v1/mailchimp/lists/{managed}/../../campaigns")]
    public async Task Path_tricks_are_refused_and_nothing_is_sent(string method, string target)
    {
        using var tenant = await _env.CreateTenantAsync();
        var managed = await FacadeEnvironment.CreateAudienceAsync(tenant);
        var before = await _env.MarketingCallsAsync();
        var response = await RawHttp.SendAsync(_env.Hub.BaseUrl, method, target.Replace("{managed}", managed, StringComparison.Ordinal),
            [$"Authorization: Bearer {tenant.Tenant.ApiKey}"], method == "POST" ? "{}" : null);

        Assert.That(response.Status, Is.EqualTo(400), response.Headers + "\n" + response.Body);
        Assert.That(response.Headers, Does.Contain("application/problem+json"));
        Assert.That(await _env.MarketingCallsAsync(), Is.EqualTo(before), "nothing sent to Mailchimp");
    }

    [TestCase("/api/v1/mailchimp/")]
    [TestCase("/api/v1/mailchimp")]
    public async Task The_API_root_is_forwarded_and_describes_the_tenants_own_account(string root)
    {
        using var tenant = await _env.CreateTenantAsync();
        using var response = await tenant.Client.GetAsync(root + "?fields=account_id,account_name");
        var body = await response.JsonAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(body.GetProperty("account_id").GetString(), Is.EqualTo(tenant.Mailchimp.AccountId));
            Assert.That(body.GetProperty("account_name").GetString(), Does.StartWith("Shop "));
            Assert.That(body.TryGetProperty("email", out _), Is.False, "the query string travelled with it");
        });
    }
}
