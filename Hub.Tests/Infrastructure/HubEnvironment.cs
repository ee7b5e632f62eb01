using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hub.Sandbox;
using Hub.Tests.Webhooks;

namespace Hub.Tests.Infrastructure;

/// <summary>
/// What every end-to-end environment has: the Mailchimp sandbox, a webhook receiver and one or more Hubs (replicas
/// sharing a key prefix) on real loopback ports, on the test Redis. The Hubs call the sandbox as Mailchimp, know
/// their own public URL and may send webhooks to the receiver. A derived environment says what is its own: settings
/// (<see cref="Configure"/>), set-up once the first Hub runs (<see cref="OnStartedAsync"/>), its tenants and helpers.
/// </summary>
public abstract class HubEnvironment : IAsyncDisposable
{
    private readonly List<HubHost> _hubs = [];

    public SandboxHost Sandbox { get; private set; } = null!;
    public WebhookReceiver Receiver { get; private set; } = null!;

    /// <summary>The first Hub; the others (<see cref="StartReplicaAsync"/>) share its store.</summary>
    public HubHost Hub => _hubs[0];

    /// <summary>The first Hub's own URL (<c>Hub:PublicBaseUrl</c>), e.g. http://127.0.0.1:54321, without a trailing '/'.</summary>
    public string PublicBaseUrl => Hub.Settings.Configuration["Hub:PublicBaseUrl"]!;

    /// <summary>
    /// Starts the sandbox, the receiver and the first Hub of <paramref name="environment"/>. The Hub's settings are the
    /// ones here, then the environment's (<see cref="Configure"/>), then <paramref name="configuration"/>. What started is
    /// stopped again when a step fails.
    /// </summary>
    protected static async Task<TEnvironment> StartAsync<TEnvironment>(
        TEnvironment environment, Dictionary<string, string?>? configuration, Action<SandboxOptions>? sandboxOptions = null)
        where TEnvironment : HubEnvironment
    {
        await TestRedis.ConnectAsync();
        try
        {
            environment.Sandbox = await SandboxHost.StartAsync(sandboxOptions);
            environment.Receiver = await WebhookReceiver.StartAsync();
            // A fixed port, so Hub knows its own URL up front (the OAuth redirect URI).
            var port = HubHostSettings.FreePort();
            var settings = new Dictionary<string, string?>
            {
                ["Hub:PublicBaseUrl"] = $"http://127.0.0.1:{port}",
                ["Hub:Mailchimp:ApiBaseTemplate"] = environment.Sandbox.ApiBaseTemplate,
                ["Hub:Webhooks:AllowPrivateTargets"] = "true",
                ["Hub:Webhooks:InitialRetryDelay"] = "00:00:00.300",
                ["Hub:Webhooks:PollInterval"] = "00:00:00.050",
                // List webhooks on managed audiences are the events tests' own (Events/): elsewhere they would add
                // Mailchimp calls to tests that count them.
                ["Hub:Events:Enabled"] = "false",
            };
            environment.Configure(settings);
            Override(settings, configuration);
            environment._hubs.Add(await HubHost.StartAsync(new HubHostSettings { Port = port, Configuration = settings }));
            await environment.OnStartedAsync();
            return environment;
        }
        catch
        {
            await environment.DisposeAsync();
            throw;
        }
    }

    /// <summary>Adds this environment's own Hub settings over the common ones (and under the test's).</summary>
    protected virtual void Configure(Dictionary<string, string?> settings)
    {
    }

    /// <summary>Set-up that needs the first Hub running.</summary>
    protected virtual Task OnStartedAsync() => Task.CompletedTask;

    /// <summary>Another Hub on the same store, keys and secrets, with this environment's settings: a replica. <paramref name="overrides"/> changes its own settings.</summary>
    public async Task<HubHost> StartReplicaAsync(Dictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>(Hub.Settings.Configuration);
        Override(settings, overrides);
        var replica = await Hub.StartReplicaAsync(settings);
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

    /// <summary>
    /// Audience defaults (permission reminder, contact, campaign defaults) of a shop called <paramref name="company"/>,
    /// so that Hub can create audiences for the tenant.
    /// </summary>
    public static object AudienceDefaults(string company, string fromEmail) => new
    {
        defaultPermissionReminder = "You signed up in our shop.",
        defaultContact = new { company, address1 = "1 Main St", city = "Atlanta", state = "GA", zip = "30308", country = "US" },
        defaultCampaignDefaults = new { fromName = company, fromEmail, subject = "News", language = "en" },
    };

    /// <summary>
    /// Creates a tenant through <paramref name="hub"/> (by default the first) that sends its webhooks to this environment's
    /// receiver (none when <paramref name="withWebhook"/> is false), with <paramref name="settings"/> added; issues it a key.
    /// </summary>
    protected Task<TestTenant> AddTenantAsync(string name, object? settings = null, bool withWebhook = true, HubHost? hub = null) =>
        (hub ?? Hub).CreateTenantAsync(settings: Body(new { name, webhookUrl = withWebhook ? Receiver.HookUrl : null }, settings));

    /// <summary>
    /// Connects <paramref name="tenant"/> by API key to a new sandbox account of its own (so tests never share an audience,
    /// a limit or a counter); asserts 200 and returns the account's key.
    /// </summary>
    public async Task<SandboxCredential> ConnectNewAccountAsync(TestTenant tenant, int? audienceLimit = null, HubHost? hub = null)
    {
        var account = await Sandbox.CreateAccountAsync("Shop " + tenant.Id[^6..], "us21", audienceLimit);
        using var client = (hub ?? Hub).Client(tenant.ApiKey);
        using var connected = await client.PutAsJsonAsync("/api/v1/connection/api-key", new { apiKey = account.Secret });
        Assert.That(connected.StatusCode, Is.EqualTo(HttpStatusCode.OK), await connected.Content.ReadAsStringAsync());
        return account;
    }

    /// <summary>Links a list (POST /api/v1/lists with <paramref name="body"/>) as the tenant whose key <paramref name="client"/> carries; asserts 201 and returns the list.</summary>
    public static async Task<JsonElement> LinkListAsync(HttpClient client, object body)
    {
        using var linked = await client.PostAsJsonAsync("/api/v1/lists", body);
        var text = await linked.Content.ReadAsStringAsync();
        Assert.That(linked.StatusCode, Is.EqualTo(HttpStatusCode.Created), text);
        return JsonSerializer.Deserialize<JsonElement>(text);
    }

    /// <summary>One JSON object with the properties of each of <paramref name="parts"/> (null ones left out), later ones winning.</summary>
    public static Dictionary<string, object?> Body(params object?[] parts)
    {
        var body = new Dictionary<string, object?>();
        foreach (var part in parts.OfType<object>())
        {
            foreach (var property in JsonSerializer.SerializeToElement(part).EnumerateObject())
            {
                body[property.Name] = property.Value;
            }
        }

        return body;
    }

    private static void Override(Dictionary<string, string?> settings, Dictionary<string, string?>? overrides)
    {
        foreach (var (key, value) in overrides ?? [])
        {
            settings[key] = value;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var hub in _hubs)
        {
            await hub.DisposeAsync();
        }

        _hubs.Clear();
        if (Receiver is not null)
        {
            await Receiver.DisposeAsync();
        }

        if (Sandbox is not null)
        {
            await Sandbox.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}
