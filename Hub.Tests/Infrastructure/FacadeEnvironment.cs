using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hub.Sandbox;
using Hub.Tests.OAuth;

namespace Hub.Tests.Infrastructure;

/// <summary>A tenant connected with an API key to a sandbox account of its own, and a client carrying its Hub key.</summary>
public sealed record FacadeTenant(TestTenant Tenant, SandboxCredential Mailchimp, HttpClient Client) : IDisposable
{
    public string Id => Tenant.Id;

    public void Dispose() => Client.Dispose();
}

/// <summary>
/// The consent environment (sandbox, webhook receiver, Hub pointed at the sandbox, an OAuth app) plus what the facade
/// tests need: quick retries, tenants with audience defaults connected by API key to their own sandbox account, and
/// the sandbox's call counters to prove when nothing reached Mailchimp.
/// </summary>
public sealed class FacadeEnvironment : ConsentEnvironment
{
    private FacadeEnvironment()
    {
    }

    public static new Task<FacadeEnvironment> StartAsync(Dictionary<string, string?>? configuration = null) =>
        StartAsync(new FacadeEnvironment(), configuration);

    /// <summary>Retries are quick here so fault tests do not wait a second per attempt.</summary>
    protected override void Configure(Dictionary<string, string?> settings)
    {
        base.Configure(settings);
        settings["Hub:Mailchimp:RetryBaseDelay"] = "00:00:00.050";
    }

    /// <summary>A tenant with defaults, connected to a new sandbox account (so audience limits and counters per account are its own).</summary>
    public async Task<FacadeTenant> CreateTenantAsync(int? audienceLimit = null, bool withDefaults = true, bool allowPassthroughWrites = false, HubHost? hub = null, bool allowAudienceAdoption = false)
    {
        hub ??= Hub;
        var tenant = await AddTenantAsync("Facade tenant", Body(
            withDefaults ? AudienceDefaults("Host Co", "news@host.test") : null,
            new
            {
                allowPassthroughWrites = allowPassthroughWrites ? true : (bool?)null,
                allowAudienceAdoption = allowAudienceAdoption ? true : (bool?)null,
            }), hub: hub);
        var account = await ConnectNewAccountAsync(tenant, audienceLimit, hub);
        return new FacadeTenant(tenant, account, hub.Client(tenant.ApiKey));
    }

    /// <summary>Every marketing API call the sandbox has answered so far (all accounts).</summary>
    public async Task<long> MarketingCallsAsync()
    {
        var counters = await Sandbox.GetCountersAsync();
        return counters.Calls.Where(call => !call.Key.Contains("authorize", StringComparison.Ordinal)
            && !call.Key.Contains("token", StringComparison.Ordinal) && !call.Key.Contains("metadata", StringComparison.Ordinal)).Sum(call => call.Value);
    }

    /// <summary>Creates a managed audience through Hub; returns its id.</summary>
    public static async Task<string> CreateAudienceAsync(FacadeTenant tenant, string name = "Customers")
    {
        using var created = await tenant.Client.PostAsJsonAsync("/api/v1/audiences", new { name });
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created), await created.Content.ReadAsStringAsync());
        return (await created.JsonAsync()).GetProperty("id").GetString()!;
    }

    /// <summary>A new tenant with one list <paramref name="key"/> linked to a new audience; returns the tenant and the audience id.</summary>
    public async Task<(FacadeTenant Tenant, string AudienceId)> TenantWithAudienceListAsync(string key)
    {
        var tenant = await CreateTenantAsync();
        var list = await LinkListAsync(tenant, key);
        return (tenant, list.GetProperty("audienceId").GetString()!);
    }

    /// <summary>Links a list in audience mode to a new audience, or in tag mode to <paramref name="audienceId"/>.</summary>

    public static Task<JsonElement> LinkListAsync(FacadeTenant tenant, string key, string? audienceId = null, string mode = "audience", object? extra = null) =>
        LinkListAsync(tenant.Client, Body(
            new { key, mode },
            audienceId is null ? new { newAudience = new { name = "Audience for " + key } } : (object)new { audienceId },
            extra));

    public static async Task<JsonElement> UpsertAsync(FacadeTenant tenant, string key, object member)
    {
        using var response = await tenant.Client.PostAsJsonAsync($"/api/v1/lists/{key}/members", member);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        return await response.JsonAsync();
    }

    public async Task<SandboxMember?> SandboxMemberAsync(string audienceId, string email) =>
        (await Sandbox.GetMembersAsync(audienceId)).SingleOrDefault(member => string.Equals(member.EmailAddress, email, StringComparison.OrdinalIgnoreCase));

    /// <summary>Everything Hub stores for one tenant (its records and its lists' ledgers), as text to compare.</summary>
    public async Task<string> TenantStateAsync(FacadeTenant tenant, HubHost? hub = null)
    {
        hub ??= Hub;
        var shard = hub.Keys.ShardPrefix(global::Hub.Core.Storage.RedisKeys.ShardOf(TenantId.Parse(tenant.Id)));
        return await TestRedis.DumpAsync(hub.Redis, $"{shard}tenant:{tenant.Id}")
            + await TestRedis.DumpAsync(hub.Redis, $"{shard}sync:{tenant.Id}");
    }
}
