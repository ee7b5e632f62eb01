using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.OAuth;

/// <summary>
/// The common environment (<see cref="HubEnvironment"/>: sandbox, webhook receiver, Hub) with Hub's OAuth endpoints
/// (<c>Hub:Mailchimp:*</c>) at the sandbox too. The sandbox has an OAuth app whose redirect URI is this Hub's <c>/oauth2/proxy</c>.
/// </summary>
public partial class ConsentEnvironment : HubEnvironment
{
    public const string ClientId = "test-client";
    public const string ClientSecret = "test-client-secret-0f3a9c";
    public const string ReturnOrigin = "https://app.host.example";

    private protected ConsentEnvironment()
    {
    }

    public static Task<ConsentEnvironment> StartAsync(Dictionary<string, string?>? configuration = null) =>
        StartAsync(new ConsentEnvironment(), configuration);

    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Hub:Mailchimp:AuthorizeUrl"] = new Uri(Sandbox.BaseUrl, "oauth2/authorize").ToString();
        settings["Hub:Mailchimp:TokenUrl"] = new Uri(Sandbox.BaseUrl, "oauth2/token").ToString();
        settings["Hub:Mailchimp:MetadataUrl"] = new Uri(Sandbox.BaseUrl, "oauth2/metadata").ToString();
    }

    protected override async Task OnStartedAsync() => await Sandbox.RegisterAppAsync(ClientId, ClientSecret, PublicBaseUrl + "/oauth2/proxy");

    /// <summary>The endpoint URL a customer would hand over for the seeded account (us21).</summary>
    public string EndpointUrl(string dc = "us21") => Sandbox.ApiBase(dc);

    /// <summary>A tenant that may send customers back to <see cref="ReturnOrigin"/>, with no audience defaults.</summary>
    public Task<TestTenant> CreateTenantAsync(bool withWebhook = true, string name = "Consent tenant") =>
        AddTenantAsync(name, new { allowedReturnOrigins = new[] { ReturnOrigin } }, withWebhook);

    public async Task SetOAuthAppAsync(TestTenant tenant, string? clientSecret = null, string? endpointUrl = null, string? audienceId = null)
    {
        using var client = Hub.Client(tenant.ApiKey);
        using var response = await client.PutAsJsonAsync("/api/v1/connection/oauth-app",
            new { clientId = ClientId, clientSecret = clientSecret ?? ClientSecret, endpointUrl, audienceId });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }

    public async Task<string> CreateLinkAsync(TestTenant tenant, string? returnUrl = null, string? locale = null)
    {
        using var client = Hub.Client(tenant.ApiKey);
        using var response = await client.PostAsJsonAsync("/api/v1/connection/consent-links", new { returnUrl, locale });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), await response.Content.ReadAsStringAsync());
        return (await response.JsonAsync()).GetProperty("url").GetString()!;
    }

    public async Task<JsonElement> GetConnectionAsync(TestTenant tenant)
    {
        using var client = Hub.Client(tenant.ApiKey);
        return await client.GetFromJsonAsync<JsonElement>("/api/v1/connection");
    }

    /// <summary>A browser without redirects followed, with its own cookie jar.</summary>
    public static HttpClient Browser(CookieContainer? cookies = null) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = cookies ?? new CookieContainer(), UseCookies = true });

    /// <summary>Opens the link (Hub redirects to the sandbox) and answers the sandbox consent page; returns Hub's callback URL.</summary>
    public async Task<Uri> ConsentAtSandboxAsync(HttpClient browser, string link, bool allow = true)
    {
        using var start = await browser.GetAsync(link);
        Assert.That(start.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await start.Content.ReadAsStringAsync());
        var authorize = start.Headers.Location!;
        Assert.That(authorize.ToString(), Does.StartWith(new Uri(Sandbox.BaseUrl, "oauth2/authorize").ToString()));

        using var page = await browser.GetAsync(authorize);
        var html = await page.Content.ReadAsStringAsync();
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK), html);
        var form = new Dictionary<string, string>();
        foreach (Match hidden in HiddenInput().Matches(html[..html.IndexOf("</form>", StringComparison.Ordinal)]))
        {
            form[hidden.Groups["name"].Value] = WebUtility.HtmlDecode(hidden.Groups["value"].Value);
        }

        form["decision"] = allow ? "allow" : "deny";
        using var decided = await browser.PostAsync(new Uri(Sandbox.BaseUrl, "oauth2/authorize"), new FormUrlEncodedContent(form));
        Assert.That(decided.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await decided.Content.ReadAsStringAsync());
        return decided.Headers.Location!;
    }

    /// <summary>Hub's result page, where a connected consent without a return URL ends: no code or state in its URL.</summary>
    public Uri ResultUrl => new(PublicBaseUrl + "/oauth2/result");

    /// <summary>
    /// Opens Mailchimp's callback in <paramref name="browser"/> and, when Hub redirects it to the result page,
    /// follows that as a browser would; returns the last answer.
    /// </summary>
    public async Task<HttpResponseMessage> CompleteAsync(HttpClient browser, Uri callback)
    {
        var response = await browser.GetAsync(callback);
        if (response.StatusCode != HttpStatusCode.Redirect || response.Headers.Location != ResultUrl)
        {
            return response;
        }

        response.Dispose();
        return await browser.GetAsync(ResultUrl);
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[^\"]+)\" value=\"(?<value>[^\"]*)\">")]
    private static partial Regex HiddenInput();
}
