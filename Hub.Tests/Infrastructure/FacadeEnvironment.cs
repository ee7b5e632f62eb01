using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hub.Sandbox;
using Hub.Tests.OAuth;
using Hub.Tests.Webhooks;

namespace Hub.Tests.Infrastructure;

/// <summary>A tenant connected with an API key to a sandbox account of its own, and a client carrying its Hub key.</summary>
public sealed record FacadeTenant(TestTenant Tenant, SandboxCredential Mailchimp, HttpClient Client) : IDisposable
{
    public string Id => Tenant.Id;

    public void Dispose() => Client.Dispose();
}

/// <summary>
/// The consent environment (sandbox, webhook receiver, Hub pointed at the sandbox) plus what the facade
/// tests need: tenants with audience defaults connected by API key to their own sandbox account, and
/// the sandbox's call counters to prove when nothing reached Mailchimp.
/// </summary>
public sealed class FacadeEnvironment : IAsyncDisposable
{
    public static readonly object DefaultContact = new { company = "Host Co", address1 = "1 Main St", city = "Atlanta", state = "GA", zip = "30308", country = "US" };
    public static readonly object DefaultCampaign = new { fromName = "Host Co", fromEmail = "news@host.test", subject = "News", language = "en" };

    private FacadeEnvironment(ConsentEnvironment consent) => Consent = consent;

    public ConsentEnvironment Consent { get; }
    public SandboxHost Sandbox => Consent.Sandbox;
    public WebhookReceiver Receiver => Consent.Receiver;
    public HubHost Hub => Consent.Hub;

    /// <summary>Retries are quick here so fault tests do not wait a second per attempt.</summary>
    public static Dictionary<string, string?> Configuration(Dictionary<string, string?>? extra = null)
    {
        var configuration = new Dictionary<string, string?> { ["Hub:Mailchimp:RetryBaseDelay"] = "00:00:00.050" };
        foreach (var (key, value) in extra ?? [])
        {
            configuration[key] = value;
        }

        return configuration;
    }

    public static async Task<FacadeEnvironment> StartAsync(Dictionary<string, string?>? configuration = null) =>
        new(await ConsentEnvironment.StartAsync(Configuration(configuration)));

    /// <summary>A tenant with defaults, connected to a new sandbox account (so audience limits and counters per account are its own).</summary>
    public async Task<FacadeTenant> CreateTenantAsync(int? audienceLimit = null, bool withDefaults = true, bool allowPassthroughWrites = false, HubHost? hub = null, bool allowAudienceAdoption = false)
    {
        hub ??= Hub;
        var tenant = await hub.CreateTenantAsync(settings: new
        {
            name = "Facade tenant",
            webhookUrl = Receiver.HookUrl,
            defaultPermissionReminder = withDefaults ? "You signed up in our shop." : null,
            defaultContact = withDefaults ? DefaultContact : null,
            defaultCampaignDefaults = withDefaults ? DefaultCampaign : null,
            allowPassthroughWrites = allowPassthroughWrites ? true : (bool?)null,
            allowAudienceAdoption = allowAudienceAdoption ? true : (bool?)null,
        });
        var account = await Sandbox.CreateAccountAsync("Shop " + tenant.Id[^6..], "us21", audienceLimit);
        var client = hub.Client(tenant.ApiKey);
        using var connected = await client.PutAsJsonAsync("/api/v1/connection/api-key", new { apiKey = account.Secret });
        Assert.That(connected.StatusCode, Is.EqualTo(HttpStatusCode.OK), await connected.Content.ReadAsStringAsync());
        return new FacadeTenant(tenant, account, client);
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

    /// <summary>Links a list in audience mode to a new audience, or in tag mode to <paramref name="audienceId"/>.</summary>
    public static async Task<JsonElement> LinkListAsync(FacadeTenant tenant, string key, string? audienceId = null, string mode = "audience", object? extra = null)
    {
        var body = new Dictionary<string, object?> { ["key"] = key, ["mode"] = mode };
        if (audienceId is null)
        {
            body["newAudience"] = new { name = "Audience for " + key };
        }
        else
        {
            body["audienceId"] = audienceId;
        }

        foreach (var property in JsonSerializer.SerializeToElement(extra ?? new { }).EnumerateObject())
        {
            body[property.Name] = property.Value;
        }

        using var linked = await tenant.Client.PostAsJsonAsync("/api/v1/lists", body);
        Assert.That(linked.StatusCode, Is.EqualTo(HttpStatusCode.Created), await linked.Content.ReadAsStringAsync());
        return await linked.JsonAsync();
    }

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
        return await TestRedis.DumpAsync(hub.Redis, $"{hub.Settings.KeyPrefix}tenant:{tenant.Id}")
            + await TestRedis.DumpAsync(hub.Redis, $"{hub.Settings.KeyPrefix}sync:{tenant.Id}");
    }

    public async ValueTask DisposeAsync() => await Consent.DisposeAsync();
}
