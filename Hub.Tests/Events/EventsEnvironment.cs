using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hub.Tests.Infrastructure;
using Hub.Tests.Sync;
using Hub.Tests.Webhooks;

namespace Hub.Tests.Events;

/// <summary>
/// A Hub that keeps list webhooks on managed audiences (<c>Hub:Events:Enabled</c>), with the sandbox as Mailchimp calling
/// it back over real HTTP, and helpers that make the changes people make in Mailchimp (the sandbox's control API).
/// </summary>
public sealed class EventsEnvironment : HubEnvironment
{
    private EventsEnvironment()
    {
    }

    public static Task<EventsEnvironment> StartAsync(Dictionary<string, string?>? configuration = null) =>
        StartAsync(new EventsEnvironment(), configuration);

    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Hub:Events:Enabled"] = "true";
        settings["Hub:Events:PollInterval"] = "00:00:00.100";
        settings["Hub:Events:RetryDelay"] = "00:00:01";
        settings["Hub:Mailchimp:RetryBaseDelay"] = "00:00:00.010";
        settings["Hub:Jobs:PollInterval"] = "00:00:00.050";
    }

    public async Task<(TestTenant Tenant, SandboxCredential Account)> ConnectedTenantAsync()
    {
        var tenant = await AddTenantAsync("Events tenant", AudienceDefaults("Events Shop", "news@events.test"));
        return (tenant, await ConnectNewAccountAsync(tenant));
    }

    /// <summary>Links a list to a new audience and waits until Hub's webhook is registered there; returns the audience id.</summary>
    public async Task<string> LinkRegisteredAudienceAsync(TestTenant tenant, string key)
    {
        using var client = Hub.Client(tenant.ApiKey);
        var audienceId = (await LinkListAsync(client, new { key, mode = "audience", newAudience = new { name = "Audience " + key } })).GetProperty("audienceId").GetString()!;
        await WaitForRegistrationAsync(tenant, audienceId, "registered");
        return audienceId;
    }

    public async Task<JsonElement> RegistrationAsync(TestTenant tenant, string audienceId)
    {
        using var client = Hub.Client(tenant.ApiKey);
        return await client.GetFromJsonAsync<JsonElement>($"/api/v1/audiences/{audienceId}/events");
    }

    public async Task<JsonElement> WaitForRegistrationAsync(TestTenant tenant, string audienceId, string state, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var registration = await RegistrationAsync(tenant, audienceId);
            if (registration.GetProperty("state").GetString() == state)
            {
                return registration;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"The webhook on {audienceId} did not become {state}: {registration}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>The sandbox's list webhooks of one audience (its control view: url, events, sources, counters).</summary>
    public async Task<List<JsonElement>> SandboxWebhooksAsync(string audienceId) =>
        [.. (await Sandbox.Control.GetFromJsonAsync<JsonElement>($"webhooks?listId={audienceId}")).EnumerateArray()
            .Where(hook => hook.GetProperty("list_id").GetString() == audienceId)];

    /// <summary>A person or an admin changes a member's status in Mailchimp (not through the API).</summary>
    public async Task SetStatusInMailchimpAsync(string audienceId, string email, string status, string source = "user", string? reason = null)
    {
        using var response = await Sandbox.Control.PutAsJsonAsync($"lists/{audienceId}/members/{Uri.EscapeDataString(email)}", new { status, source, reason });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }

    public async Task ChangeEmailInMailchimpAsync(string audienceId, string email, string newEmail, string source = "user")
    {
        using var response = await Sandbox.Control.PostAsJsonAsync($"lists/{audienceId}/members/{Uri.EscapeDataString(email)}/email", new { email = newEmail, source });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }

    public async Task ChangeProfileInMailchimpAsync(string audienceId, string email, Dictionary<string, string> mergeFields, string source = "user")
    {
        using var response = await Sandbox.Control.PatchAsJsonAsync($"lists/{audienceId}/members/{Uri.EscapeDataString(email)}", new { mergeFields, source });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }

    /// <summary>The tenant's member events at <c>GET /api/v1/events</c>.</summary>
    public async Task<JsonElement> EventsAsync(TestTenant tenant, string query = "", HubHost? via = null)
    {
        using var client = (via ?? Hub).Client(tenant.ApiKey);
        using var response = await client.GetAsync("/api/v1/events" + query);
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        return JsonDocument.Parse(text).RootElement;
    }

    /// <summary>The data of the member event webhooks the receiver got for the tenant, of one type.</summary>
    public List<JsonElement> MemberWebhooks(TestTenant tenant, string type) =>
        [.. Receiver.Received.Where(hook => hook.EventType == type && hook.AnsweredStatus == 200)
            .Select(hook => JsonDocument.Parse(hook.Body).RootElement)
            .Where(body => body.GetProperty("tenantId").GetString() == tenant.Id)
            .Select(body => body.GetProperty("data"))];

    /// <summary>Syncs the list's whole membership and waits for the job; asserts it succeeded.</summary>
    public async Task<JsonElement> SyncAsync(TestTenant tenant, string key, IEnumerable<object> members)
    {
        var job = await SyncToEndAsync(tenant, key, members);
        Assert.That(job.GetProperty("state").GetString(), Is.EqualTo("succeeded"), job.ToString());
        return job;
    }

    /// <summary>Syncs the list's whole membership and waits for the job to end, however it ends; returns the job.</summary>
    public async Task<JsonElement> SyncToEndAsync(TestTenant tenant, string key, IEnumerable<object> members)
    {
        using var client = Hub.Client(tenant.ApiKey);
        using var started = await client.PutAsJsonAsync($"/api/v1/lists/{key}/members", members);
        var text = await started.Content.ReadAsStringAsync();
        Assert.That(started.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), text);
        var jobId = JsonDocument.Parse(text).RootElement.GetProperty("jobId").GetString()!;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var job = await client.GetFromJsonAsync<JsonElement>($"/api/v1/jobs/{jobId}");
            if (job.GetProperty("state").GetString() is not ("queued" or "running"))
            {
                return job;
            }

            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"Job {jobId} did not finish: {job}");
            await Task.Delay(50);
        }
    }

    public async Task<Dictionary<string, Hub.Sandbox.SandboxMember>> AudienceAsync(string audienceId) =>
        (await Sandbox.GetMembersAsync(audienceId)).ToDictionary(member => member.EmailAddress.ToLowerInvariant(), StringComparer.Ordinal);
}
