using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Hub.Sandbox;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Sync;

/// <summary>
/// The common environment (<see cref="HubEnvironment"/>: sandbox, webhook receiver, Hubs sharing a store) with short
/// job and retry timings so a sync ends within seconds, and helpers to link lists, mirror members and follow jobs.
/// </summary>
public sealed class SyncEnvironment : HubEnvironment
{
    private SyncEnvironment()
    {
    }

    /// <param name="configuration">Hub settings over the defaults here.</param>
    /// <param name="sandboxOptions">Sandbox settings, e.g. strict mode and request capture.</param>
    public static Task<SyncEnvironment> StartAsync(Dictionary<string, string?>? configuration = null, Action<SandboxOptions>? sandboxOptions = null) =>
        StartAsync(new SyncEnvironment(), configuration, sandboxOptions);

    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Hub:Mailchimp:RetryBaseDelay"] = "00:00:00.010";
        settings["Hub:Jobs:PollInterval"] = "00:00:00.050";
        settings["Hub:Jobs:LeaseDuration"] = "00:00:05";
        settings["Hub:Jobs:RenewInterval"] = "00:00:00.500";
    }

    /// <summary>A tenant with audience defaults and this environment's webhook receiver.</summary>
    public Task<TestTenant> CreateTenantAsync() => AddTenantAsync("Sync tenant", AudienceDefaults("Sync Shop", "news@sync.test"));

    /// <summary>A tenant connected by API key to a sandbox account of its own (so tests never share an audience).</summary>
    public async Task<(TestTenant Tenant, SandboxCredential Account)> ConnectedTenantAsync()
    {
        var tenant = await CreateTenantAsync();
        return (tenant, await ConnectNewAccountAsync(tenant));
    }

    /// <summary>Links a list to a new audience (mode audience); returns the audience id.</summary>
    public async Task<string> LinkNewAudienceAsync(TestTenant tenant, string key, string? removalPolicy = null, string mode = "audience", string? tag = null)
    {
        using var client = Hub.Client(tenant.ApiKey);
        var list = await LinkListAsync(client, new { key, mode, tag, removalPolicy, newAudience = new { name = "Audience " + key } });
        return list.GetProperty("audienceId").GetString()!;
    }

    /// <summary>Links a list as a tag in an audience Hub already manages.</summary>
    public async Task LinkTagAsync(TestTenant tenant, string key, string audienceId, string tag, string? removalPolicy = null)
    {
        using var client = Hub.Client(tenant.ApiKey);
        await LinkListAsync(client, new { key, mode = "tag", audienceId, tag, removalPolicy });
    }

    /// <summary>PUT the whole membership as a JSON array.</summary>
    public Task<HttpResponseMessage> MirrorAsync(TestTenant tenant, string key, IEnumerable<object> members, string query = "", HubHost? via = null) =>
        SendMirrorAsync(tenant, key, JsonSerializer.Serialize(members), "application/json", query, via);

    public async Task<HttpResponseMessage> SendMirrorAsync(TestTenant tenant, string key, string body, string contentType, string query = "", HubHost? via = null)
    {
        using var client = (via ?? Hub).Client(tenant.ApiKey);
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return await client.PutAsync($"/api/v1/lists/{key}/members{query}", content);
    }

    /// <summary>PUT the membership and return the accepted job's id (asserts 202).</summary>
    public async Task<string> StartMirrorAsync(TestTenant tenant, string key, IEnumerable<object> members, string query = "")
    {
        using var response = await MirrorAsync(tenant, key, members, query);
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), text);
        return JsonDocument.Parse(text).RootElement.GetProperty("jobId").GetString()!;
    }

    public async Task<JsonElement> GetJobAsync(TestTenant tenant, string jobId, HubHost? via = null)
    {
        using var client = (via ?? Hub).Client(tenant.ApiKey);
        using var response = await client.GetAsync($"/api/v1/jobs/{jobId}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        return JsonDocument.Parse(text).RootElement;
    }

    /// <summary>Polls the job until <paramref name="done"/> (by default: finished); fails after the timeout.</summary>
    public async Task<JsonElement> WaitForJobAsync(TestTenant tenant, string jobId, Func<JsonElement, bool>? done = null, TimeSpan? timeout = null, HubHost? via = null)
    {
        done ??= job => job.GetProperty("state").GetString() is not ("queued" or "running");
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var job = await GetJobAsync(tenant, jobId, via);
            if (done(job))
            {
                return job;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Job {jobId} did not get there in time: {job}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Syncs and waits for the job to finish; returns the finished job.</summary>
    public async Task<JsonElement> SyncAsync(TestTenant tenant, string key, IEnumerable<object> members, string query = "")
    {
        var jobId = await StartMirrorAsync(tenant, key, members, query);
        return await WaitForJobAsync(tenant, jobId);
    }

    /// <summary>The audience's contacts as Mailchimp holds them, by lower-cased email (archived ones included).</summary>
    public async Task<Dictionary<string, SandboxMember>> AudienceAsync(string audienceId) =>
        (await Sandbox.GetMembersAsync(audienceId)).ToDictionary(member => member.EmailAddress.ToLowerInvariant(), StringComparer.Ordinal);

    /// <summary>Emails of the audience's contacts in a status (default subscribed).</summary>
    public async Task<List<string>> EmailsAsync(string audienceId, string status = "subscribed") =>
        (await Sandbox.GetMembersAsync(audienceId)).Where(member => member.Status == status)
            .Select(member => member.EmailAddress.ToLowerInvariant()).Order(StringComparer.Ordinal).ToList();

    public async Task<JsonElement> GetListAsync(TestTenant tenant, string key)
    {
        using var client = Hub.Client(tenant.ApiKey);
        return await client.GetFromJsonAsync<JsonElement>($"/api/v1/lists/{key}");
    }

    /// <summary>A member object of a desired set.</summary>
    public static object Member(string email, string? firstName = null, string[]? tags = null) =>
        firstName is null && tags is null
            ? new { email }
            : new { email, mergeFields = firstName is null ? null : new Dictionary<string, string> { ["FNAME"] = firstName }, tags };

    /// <summary><paramref name="count"/> members <c>{prefix}{i}@shop.test</c>.</summary>
    public static List<object> Members(string prefix, int count, string? firstName = null) =>
        Enumerable.Range(0, count).Select(i => Member($"{prefix}{i}@shop.test", firstName)).ToList();
}
