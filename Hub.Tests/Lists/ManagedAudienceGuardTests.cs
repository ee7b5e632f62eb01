using System.Net;
using System.Net.Http.Json;
using Hub.Core.Connections;
using Hub.Core.Tenants;
using Hub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Hub.Tests.Lists;

/// <summary>Every write route refuses an audience Hub does not manage, before anything reaches Mailchimp.</summary>
[TestFixture]
public sealed class ManagedAudienceGuardTests() : EnvironmentFixture<FacadeEnvironment>(() => FacadeEnvironment.StartAsync())
{
    public static IEnumerable<TestCaseData> WriteRoutes()
    {
        yield return new TestCaseData("POST", "/api/v1/lists/{key}/members", new { email = "ann@shop.test" }).SetArgDisplayNames("upsert member");
        yield return new TestCaseData("DELETE", "/api/v1/lists/{key}/members/ann@shop.test", null).SetArgDisplayNames("remove member");
        yield return new TestCaseData("DELETE", "/api/v1/lists/{key}/members/ann@shop.test?mode=permanent", null).SetArgDisplayNames("erase member");
        yield return new TestCaseData("POST", "/api/v1/lists/{key}/members/batch", new { add = new[] { new { email = "bob@shop.test" } }, remove = new[] { "ann@shop.test" } }).SetArgDisplayNames("batch");
        yield return new TestCaseData("PATCH", "/api/v1/lists/{key}", new { permissionReminder = "Changed" }).SetArgDisplayNames("list reminder");
        yield return new TestCaseData("DELETE", "/api/v1/lists/{key}?deleteAudience=true", null).SetArgDisplayNames("unlink and delete");
        yield return new TestCaseData("POST", "/api/v1/lists", new { key = "another", mode = "tag", audienceId = "{audience}" }).SetArgDisplayNames("link");
        yield return new TestCaseData("PATCH", "/api/v1/audiences/{audience}", new { name = "Renamed" }).SetArgDisplayNames("update audience");
        yield return new TestCaseData("DELETE", "/api/v1/audiences/{audience}?confirm={audience}", null).SetArgDisplayNames("delete audience");
        yield return new TestCaseData("PUT", "/api/v1/mailchimp/lists/{audience}/members/ann@shop.test", new { email_address = "ann@shop.test", status_if_new = "subscribed" }).SetArgDisplayNames("passthrough");
    }

    [TestCaseSource(nameof(WriteRoutes))]
    public async Task A_write_to_an_audience_Hub_no_longer_manages_is_refused_and_nothing_is_sent(string method, string route, object? body)
    {
        using var tenant = await _env.CreateTenantAsync();
        var list = await FacadeEnvironment.LinkListAsync(tenant, "guarded");
        var audienceId = list.GetProperty("audienceId").GetString()!;
        await FacadeEnvironment.UpsertAsync(tenant, "guarded", new { email = "ann@shop.test" });
        await _env.Hub.Services.GetRequiredService<ConnectionService>().RemoveManagedAudienceAsync(TenantId.Parse(tenant.Id), audienceId, CancellationToken.None);
        var before = await _env.MarketingCallsAsync();
        var redisBefore = await _env.TenantStateAsync(tenant);

        var target = route.Replace("{key}", "guarded", StringComparison.Ordinal).Replace("{audience}", audienceId, StringComparison.Ordinal);
        using var request = new HttpRequestMessage(new HttpMethod(method), target);
        if (body is not null)
        {
            request.Content = new StringContent(System.Text.Json.JsonSerializer.Serialize(body).Replace("{audience}", audienceId, StringComparison.Ordinal),
                System.Text.Encoding.UTF8, "application/json");
        }

        using var response = await tenant.Client.SendAsync(request);
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, "audience_not_managed");
        Assert.That(await _env.MarketingCallsAsync(), Is.EqualTo(before), "nothing sent to Mailchimp");
        Assert.That(await _env.TenantStateAsync(tenant), Is.EqualTo(redisBefore), "nothing stored");
        Assert.That((await _env.SandboxMemberAsync(audienceId, "ann@shop.test"))!.Status, Is.EqualTo("subscribed"));
        Assert.That((await tenant.Client.GetAsync("/api/v1/lists/guarded")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the list is still linked");
    }

    [Test]
    public async Task Reads_of_an_unmanaged_audience_still_work()
    {
        using var tenant = await _env.CreateTenantAsync();
        var list = await FacadeEnvironment.LinkListAsync(tenant, "readable");
        var audienceId = list.GetProperty("audienceId").GetString()!;
        await FacadeEnvironment.UpsertAsync(tenant, "readable", new { email = "ann@shop.test" });
        await _env.Hub.Services.GetRequiredService<ConnectionService>().RemoveManagedAudienceAsync(TenantId.Parse(tenant.Id), audienceId, CancellationToken.None);

        Assert.That((await tenant.Client.GetAsync("/api/v1/lists/readable/members/ann@shop.test")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await tenant.Client.GetAsync("/api/v1/lists/readable/members")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await tenant.Client.GetAsync($"/api/v1/audiences/{audienceId}")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task An_audience_still_linked_by_a_list_cannot_be_deleted_on_its_own()
    {
        using var tenant = await _env.CreateTenantAsync();
        var list = await FacadeEnvironment.LinkListAsync(tenant, "linked");
        var audienceId = list.GetProperty("audienceId").GetString()!;
        var before = await _env.MarketingCallsAsync();

        using var deleted = await tenant.Client.DeleteAsync($"/api/v1/audiences/{audienceId}?confirm={audienceId}");
        await ProblemAssert.IsProblemAsync(deleted, HttpStatusCode.Conflict, "audience_in_use");
        Assert.That(await _env.MarketingCallsAsync(), Is.EqualTo(before));
        Assert.That((await tenant.Client.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/v1/audiences/{audienceId}")).GetProperty("managed").GetBoolean(), Is.True);
    }
}
