using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Hub.Tests.Infrastructure;
using Hub.Sandbox;
using Hub.Tests.Webhooks;

namespace Hub.Tests.Sync;

/// <summary>
/// The sandbox, a webhook receiver and one or more Hubs (replicas sharing a key prefix) whose Mailchimp
/// API base is the sandbox, with short job and retry timings so a sync ends within seconds.
/// </summary>
public sealed class SyncEnvironment : IAsyncDisposable
{
    private readonly List<HubHost> _hubs = [];
    private readonly Dictionary<string, string?> _configuration;

    private SyncEnvironment(SandboxHost sandbox, WebhookReceiver receiver, Dictionary<string, string?> configuration)
    {
        Sandbox = sandbox;
        Receiver = receiver;
        _configuration = configuration;
    }

    public SandboxHost Sandbox { get; }
    public WebhookReceiver Receiver { get; }

    /// <summary>The first Hub; the others (<see cref="StartReplicaAsync"/>) share its store.</summary>
    public HubHost Hub => _hubs[0];

    /// <param name="configuration">Hub settings over the defaults here.</param>
    /// <param name="sandboxOptions">Sandbox settings, e.g. strict mode and request capture.</param>
    public static async Task<SyncEnvironment> StartAsync(Dictionary<string, string?>? configuration = null, Action<SandboxOptions>? sandboxOptions = null)
    {
        await TestRedis.ConnectAsync();
        var sandbox = await SandboxHost.StartAsync(sandboxOptions);
        var receiver = await WebhookReceiver.StartAsync();
        var port = HubHostSettings.FreePort();
        var settings = new Dictionary<string, string?>
        {
            ["Hub:PublicBaseUrl"] = $"http://127.0.0.1:{port}",
            ["Hub:Mailchimp:ApiBaseTemplate"] = sandbox.BaseUrl + "{dc}/3.0",
            ["Hub:Mailchimp:RetryBaseDelay"] = "00:00:00.010",
            ["Hub:Webhooks:AllowPrivateTargets"] = "true",
            ["Hub:Webhooks:InitialRetryDelay"] = "00:00:00.300",
            ["Hub:Webhooks:PollInterval"] = "00:00:00.050",
            ["Hub:Jobs:PollInterval"] = "00:00:00.050",
            ["Hub:Jobs:LeaseDuration"] = "00:00:05",
            ["Hub:Jobs:RenewInterval"] = "00:00:00.500",
        };
        foreach (var (key, value) in configuration ?? [])
        {
            settings[key] = value;
        }

        var environment = new SyncEnvironment(sandbox, receiver, settings);
        environment._hubs.Add(await HubHost.StartAsync(new HubHostSettings { Port = port, Configuration = settings }));
        return environment;
    }

    /// <summary>Another Hub on the same store, keys and secrets: a replica. <paramref name="overrides"/> changes its own settings.</summary>
    public async Task<HubHost> StartReplicaAsync(Dictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>(_configuration);
        foreach (var (key, value) in overrides ?? [])
        {
            settings[key] = value;
        }

        var first = Hub.Settings;
        var replica = await HubHost.StartAsync(new HubHostSettings
        {
            KeyPrefix = first.KeyPrefix,
            AdminKey = first.AdminKey,
            EncryptionKeys = first.EncryptionKeys,
            ActiveKeyId = first.ActiveKeyId,
            Configuration = settings,
        });
        _hubs.Add(replica);
        return replica;
    }

    /// <summary>Disposes one Hub (a graceful shutdown: its running jobs are released).</summary>
    public async Task StopHubAsync(HubHost hub)
    {
        if (_hubs.Remove(hub))
        {
            await hub.DisposeAsync();
        }
    }

    /// <summary>A tenant with audience defaults and this environment's webhook receiver.</summary>
    public Task<TestTenant> CreateTenantAsync() =>
        Hub.CreateTenantAsync(settings: new
        {
            name = "Sync tenant",
            webhookUrl = Receiver.HookUrl,
            defaultPermissionReminder = "You signed up in our shop.",
            defaultContact = new { company = "Sync Shop", address1 = "1 Main St", city = "Atlanta", state = "GA", zip = "30308", country = "US" },
            defaultCampaignDefaults = new { fromName = "Sync Shop", fromEmail = "news@sync.test", subject = "News", language = "en" },
        });

    /// <summary>A tenant connected by API key to a sandbox account of its own (so tests never share an audience).</summary>
    public async Task<(TestTenant Tenant, SandboxCredential Account)> ConnectedTenantAsync()
    {
        var tenant = await CreateTenantAsync();
        var account = await Sandbox.CreateAccountAsync("Shop " + tenant.Id[..6], "us21");
        using var client = Hub.Client(tenant.ApiKey);
        using var response = await client.PutAsJsonAsync("/api/v1/connection/api-key", new { apiKey = account.Secret });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        return (tenant, account);
    }

    /// <summary>Links a list to a new audience (mode audience); returns the audience id.</summary>
    public async Task<string> LinkNewAudienceAsync(TestTenant tenant, string key, string? removalPolicy = null, string mode = "audience", string? tag = null)
    {
        using var client = Hub.Client(tenant.ApiKey);
        using var response = await client.PostAsJsonAsync("/api/v1/lists", new { key, mode, tag, removalPolicy, newAudience = new { name = "Audience " + key } });
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), text);
        return JsonDocument.Parse(text).RootElement.GetProperty("audienceId").GetString()!;
    }

    /// <summary>Links a list as a tag in an audience Hub already manages.</summary>
    public async Task LinkTagAsync(TestTenant tenant, string key, string audienceId, string tag, string? removalPolicy = null)
    {
        using var client = Hub.Client(tenant.ApiKey);
        using var response = await client.PostAsJsonAsync("/api/v1/lists", new { key, mode = "tag", audienceId, tag, removalPolicy });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), await response.Content.ReadAsStringAsync());
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

    public async ValueTask DisposeAsync()
    {
        foreach (var hub in _hubs)
        {
            await hub.DisposeAsync();
        }

        _hubs.Clear();
        await Receiver.DisposeAsync();
        await Sandbox.DisposeAsync();
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
