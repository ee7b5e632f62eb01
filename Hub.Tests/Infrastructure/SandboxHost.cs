using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Hub.Sandbox;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Hub.Tests.Infrastructure;

/// <summary>An API key or OAuth token belonging to a sandbox account.</summary>
public sealed record SandboxCredential(string AccountId, string Dc, string Secret)
{
    public override string ToString() => $"SandboxCredential({AccountId}, {Dc}, ***)";
}

/// <summary>
/// A real Kestrel host serving the Mailchimp sandbox on an ephemeral loopback port, plus helpers
/// for the control API. Dispose it at the end of the fixture or test.
/// </summary>
public sealed class SandboxHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SandboxHost(WebApplication app, Uri baseUrl, string prefix)
    {
        _app = app;
        BaseUrl = baseUrl;
        Prefix = prefix;
        Control = new HttpClient { BaseAddress = new Uri(baseUrl, "_control/") };
        State = app.Services.GetRequiredService<SandboxState>();
    }

    /// <summary>The sandbox root (prefix included), ending in '/', e.g. http://127.0.0.1:54321/.</summary>
    public Uri BaseUrl { get; }

    public string Prefix { get; }

    /// <summary>A client whose base address is <c>{BaseUrl}_control/</c>.</summary>
    public HttpClient Control { get; }

    public SandboxState State { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The seeded account ("Sandbox Shop", us21) and an API key for it.</summary>
    public SandboxCredential DefaultApiKey => new(State.DefaultAccountId, "us21", State.DefaultApiKey);

    public static async Task<SandboxHost> StartAsync(Action<SandboxOptions>? configure = null, string prefix = "", TimeProvider? time = null)
    {
        var (app, address) = await LoopbackApp.StartAsync(endpoints => endpoints.MapMailchimpSandbox(prefix), builder =>
        {
            if (time is not null) builder.Services.AddSingleton(time);
            builder.Services.AddMailchimpSandbox(configure);
        });
        return new SandboxHost(app, new Uri($"{address}{prefix.TrimEnd('/')}/"), prefix);
    }

    /// <summary>The marketing API root of <paramref name="dc"/> as Mailchimp names it for an account (<c>{BaseUrl}{dc}/3.0</c>).</summary>
    public string ApiBase(string dc) => BaseUrl + dc + "/3.0";

    /// <summary>What Hub's <c>Hub:Mailchimp:ApiBaseTemplate</c> is set to so that it calls this sandbox.</summary>
    public string ApiBaseTemplate => ApiBase("{dc}");

    /// <summary>A client for the marketing API of <paramref name="dc"/> (<c>{BaseUrl}{dc}/3.0/</c>), authenticated with Basic like the official clients.</summary>
    public HttpClient Marketing(SandboxCredential credential, string? dc = null)
    {
        var client = new HttpClient { BaseAddress = new Uri(BaseUrl, $"{dc ?? credential.Dc}/3.0/") };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("anystring:" + credential.Secret)));
        return client;
    }

    /// <summary>A client rooted at <see cref="BaseUrl"/> that does not follow redirects (for OAuth).</summary>
    public HttpClient Raw() => new(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = BaseUrl };

    public async Task<SandboxCredential> CreateAccountAsync(string name, string dc = "us21", int? audienceLimit = null, string? loginEmail = null, CancellationToken ct = default)
    {
        var account = await SendAsync<SandboxAccount>(HttpMethod.Post, "accounts", new { name, dc, login_email = loginEmail, audience_limit = audienceLimit }, ct);
        return new SandboxCredential(account.Id, account.Dc, account.ApiKey!);
    }

    public async Task<SandboxCredential> IssueTokenAsync(string accountId, CancellationToken ct = default)
    {
        var minted = await SendAsync<ControlEndpoints.CredentialResponse>(HttpMethod.Post, $"accounts/{accountId}/tokens", null, ct);
        var account = await SendAsync<SandboxAccount>(HttpMethod.Get, $"accounts/{accountId}", null, ct);
        return new SandboxCredential(accountId, account.Dc, minted.AccessToken!);
    }

    public Task<SandboxAccount> SetAccountLimitsAsync(string accountId, int? audienceLimit = null, int? maxConcurrentRequests = null, CancellationToken ct = default) =>
        SendAsync<SandboxAccount>(HttpMethod.Patch, $"accounts/{accountId}", new { audience_limit = audienceLimit, max_concurrent_requests = maxConcurrentRequests }, ct);

    public Task<SandboxApp> RegisterAppAsync(string clientId, string clientSecret, string redirectUri, CancellationToken ct = default) =>
        SendAsync<SandboxApp>(HttpMethod.Post, "apps", new { client_id = clientId, client_secret = clientSecret, redirect_uri = redirectUri }, ct);

    public Task<SandboxCounters> GetCountersAsync(CancellationToken ct = default) => SendAsync<SandboxCounters>(HttpMethod.Get, "counters", null, ct);

    public Task ResetCountersAsync(CancellationToken ct = default) => SendAsync(HttpMethod.Post, "counters/reset", null, ct);

    public Task<SandboxLatency> SetLatencyAsync(TimeSpan perCall, TimeSpan? perMember = null, CancellationToken ct = default) =>
        SendAsync<SandboxLatency>(HttpMethod.Put, "latency", new { per_call_ms = (int)perCall.TotalMilliseconds, per_member_ms = (int)(perMember ?? TimeSpan.Zero).TotalMilliseconds }, ct);

    /// <summary>Injects a fault: <paramref name="kind"/> is "429", "500" or "hang"; <paramref name="route"/> e.g. "PUT member", "POST batch", "GET /lists/{list_id}" or "*".</summary>
    public Task<SandboxFault> InjectFaultAsync(string route, string kind, double share = 1, int? times = null, CancellationToken ct = default) =>
        SendAsync<SandboxFault>(HttpMethod.Post, "faults", new { route, kind, share, times }, ct);

    public Task ClearFaultsAsync(CancellationToken ct = default) => SendAsync(HttpMethod.Delete, "faults", null, ct);

    /// <summary>Takes back what a test set up to slow or break calls: its injected faults and its latency.</summary>
    public async Task ClearFaultsAndLatencyAsync(CancellationToken ct = default)
    {
        await ClearFaultsAsync(ct);
        await SetLatencyAsync(TimeSpan.Zero, ct: ct);
    }

    public Task RevokeAsync(string credential, CancellationToken ct = default) => SendAsync(HttpMethod.Post, "revoke", new { credential }, ct);

    public Task<SandboxMember> SetMemberStatusAsync(string listId, string email, string status, CancellationToken ct = default) =>
        SendAsync<SandboxMember>(HttpMethod.Put, $"lists/{listId}/members/{Uri.EscapeDataString(email)}", new { status }, ct);

    /// <summary>
    /// Sets a member's status as a person (<paramref name="source"/> "user") or an admin ("admin") would in Mailchimp, which fires
    /// the list webhooks' event; <paramref name="reason"/> is manual/abuse for unsubscribed, hard/abuse for cleaned.
    /// </summary>
    public Task<SandboxMember> SetMemberStatusAsync(string listId, string email, string status, string source, string? reason = null, string? campaignId = null, CancellationToken ct = default) =>
        SendAsync<SandboxMember>(HttpMethod.Put, $"lists/{listId}/members/{Uri.EscapeDataString(email)}", new { status, source, reason, campaign_id = campaignId }, ct);

    /// <summary>Changes a member's address as the person would on Mailchimp's preference page (fires upemail).</summary>
    public Task<SandboxMember> ChangeMemberEmailAsync(string listId, string email, string newEmail, string source = "user", CancellationToken ct = default) =>
        SendAsync<SandboxMember>(HttpMethod.Post, $"lists/{listId}/members/{Uri.EscapeDataString(email)}/email", new { email = newEmail, source }, ct);

    /// <summary>Changes a member's merge fields as the person would on Mailchimp's profile page (fires profile when a value changes).</summary>
    public Task<SandboxMember> SetMemberMergeFieldsAsync(string listId, string email, IReadOnlyDictionary<string, string> mergeFields, string source = "user", CancellationToken ct = default) =>
        SendAsync<SandboxMember>(HttpMethod.Patch, $"lists/{listId}/members/{Uri.EscapeDataString(email)}", new { merge_fields = mergeFields, source }, ct);

    /// <summary>Every list webhook (of one list when given) with its delivery counters.</summary>
    public Task<IReadOnlyList<SandboxWebhook>> GetWebhooksAsync(string? listId = null, CancellationToken ct = default) =>
        SendAsync<IReadOnlyList<SandboxWebhook>>(HttpMethod.Get, listId is null ? "webhooks" : $"webhooks?listId={listId}", null, ct);

    /// <summary>The newest list-webhook delivery attempts, oldest first.</summary>
    public Task<IReadOnlyList<SandboxWebhookDelivery>> GetWebhookDeliveriesAsync(int limit = 100, string? webhookId = null, CancellationToken ct = default) =>
        SendAsync<IReadOnlyList<SandboxWebhookDelivery>>(HttpMethod.Get, $"webhook-deliveries?limit={limit}" + (webhookId is null ? "" : $"&webhookId={webhookId}"), null, ct);

    /// <summary>
    /// Waits until no list webhook has a delivery pending (queued, in flight or waiting for a retry) and returns the
    /// webhooks. An event is pending from the moment the control or marketing call that fired it has answered.
    /// </summary>
    public async Task<IReadOnlyList<SandboxWebhook>> WaitForWebhookDeliveriesAsync(TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var deadline = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var webhooks = await GetWebhooksAsync(ct: ct);
            if (webhooks.All(w => w.Pending == 0)) return webhooks;
            if (DateTimeOffset.UtcNow > deadline)
                throw new TimeoutException($"List-webhook deliveries still pending: {string.Join(", ", webhooks.Where(w => w.Pending > 0).Select(w => $"{w.Id} ({w.Pending})"))}");
            await Task.Delay(20, ct);
        }
    }

    public Task<IReadOnlyList<SandboxMember>> GetMembersAsync(string listId, CancellationToken ct = default) =>
        SendAsync<IReadOnlyList<SandboxMember>>(HttpMethod.Get, $"lists/{listId}/members", null, ct);

    /// <summary>Creates an audience through the marketing API with every required field filled in; returns its id.</summary>
    public async Task<string> CreateListAsync(SandboxCredential credential, string name = "Customers", CancellationToken ct = default)
    {
        using var client = Marketing(credential);
        using var response = await client.PostAsJsonAsync("lists", ValidListBody(name), ct);
        response.EnsureSuccessStatusCode();
        var list = await response.Content.ReadFromJsonAsync<ListResponse>(SandboxJson.Options, ct);
        return list!.Id;
    }

    public static Dictionary<string, object> ValidListBody(string name = "Customers") => new()
    {
        ["name"] = name,
        ["permission_reminder"] = "You bought something from us.",
        ["email_type_option"] = false,
        ["contact"] = new Dictionary<string, object> { ["company"] = "Sandbox Shop", ["address1"] = "1 Main St", ["city"] = "Atlanta", ["state"] = "GA", ["zip"] = "30308", ["country"] = "US" },
        ["campaign_defaults"] = new Dictionary<string, object> { ["from_name"] = "Shop", ["from_email"] = "shop@sandbox.test", ["subject"] = "News", ["language"] = "en" },
    };

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var response = await SendCoreAsync(method, path, body, ct);
        return (await response.Content.ReadFromJsonAsync<T>(SandboxJson.Options, ct))!;
    }

    private async Task SendAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var response = await SendCoreAsync(method, path, body, ct);
    }

    private async Task<HttpResponseMessage> SendCoreAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body, options: SandboxJson.Options);
        var response = await Control.SendAsync(request, ct);
        if (!response.IsSuccessStatusCode)
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            response.Dispose();
            throw new InvalidOperationException($"Sandbox control call {method} {path} failed with {(int)response.StatusCode}: {text}");
        }
        return response;
    }

    public async ValueTask DisposeAsync()
    {
        Control.Dispose();
        await LoopbackApp.StopAsync(_app);
    }
}
