using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.WebUtilities;

namespace Hub.Tests.Sandbox;

public sealed partial class SandboxOAuthTests
{
    private const string Redirect = "http://localhost:5080/oauth2/proxy";
    private SandboxHost _host = null!;
    private ManualClock _clock = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _clock = new ManualClock();
        _host = await SandboxHost.StartAsync(prefix: "/sandbox", time: _clock);
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await _host.DisposeAsync();

    private static string AuthorizeUrl(string clientId = "sandbox-client", string redirect = Redirect, string responseType = "code", string state = "st-123") =>
        $"oauth2/authorize?response_type={responseType}&client_id={clientId}&redirect_uri={Uri.EscapeDataString(redirect)}&state={state}";

    /// <summary>Does what a browser does: load the consent page and submit the form holding the chosen button.</summary>
    private async Task<Uri> ConsentAsync(string decision, string? url = null)
    {
        using var client = _host.Raw();
        var page = await client.GetStringAsync(url ?? AuthorizeUrl());
        var form = FormRegex().Matches(page).First(m => m.Value.Contains($"value=\"{decision}\"", StringComparison.Ordinal)).Value;
        var fields = InputRegex().Matches(form).ToDictionary(m => m.Groups[1].Value, m => WebUtility.HtmlDecode(m.Groups[2].Value));
        using var response = await client.PostAsync("oauth2/authorize", new FormUrlEncodedContent(fields));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        return response.Headers.Location!;
    }

    private async Task<HttpResponseMessage> ExchangeAsync(string code, string secret = "sandbox-secret", string redirect = Redirect, string grant = "authorization_code")
    {
        using var client = _host.Raw();
        return await client.PostAsync("oauth2/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = grant, ["client_id"] = "sandbox-client", ["client_secret"] = secret, ["redirect_uri"] = redirect, ["code"] = code,
        }));
    }

    private async Task<string> NewCodeAsync() => QueryHelpers.ParseQuery((await ConsentAsync("allow")).Query)["code"].ToString();

    [Test]
    public async Task Consent_page_shows_account_name_and_allow_and_deny_buttons()
    {
        using var client = _host.Raw();
        var page = await client.GetStringAsync(AuthorizeUrl());
        Assert.That(page, Does.Contain("Sandbox Shop"));
        Assert.That(page, Does.Contain("<button type=\"submit\" id=\"allow\">Allow</button>"));
        Assert.That(page, Does.Contain("<button type=\"submit\" id=\"deny\">Deny</button>"));
        Assert.That(page, Does.Not.Contain("src=\"http"));
    }

    [TestCase("token", "sandbox-client", Redirect)]
    [TestCase("code", "unknown-client", Redirect)]
    [TestCase("code", "sandbox-client", Redirect + "/")]
    [TestCase("code", "sandbox-client", "http://evil.test/cb")]
    public async Task Authorize_renders_a_400_page_without_redirect_for_bad_requests(string responseType, string clientId, string redirect)
    {
        using var client = _host.Raw();
        using var response = await client.GetAsync(AuthorizeUrl(clientId, redirect, responseType));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(response.Headers.Location, Is.Null);
        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("text/html"));
    }

    [Test]
    public async Task Allow_redirects_with_code_and_untouched_state()
    {
        var location = await ConsentAsync("allow");
        var query = QueryHelpers.ParseQuery(location.Query);
        Assert.That(location.GetLeftPart(UriPartial.Path), Is.EqualTo(Redirect));
        Assert.That(query["code"].ToString(), Is.Not.Empty);
        Assert.That(query["state"].ToString(), Is.EqualTo("st-123"));
    }

    [Test]
    public async Task Deny_redirects_with_access_denied_and_state()
    {
        var query = QueryHelpers.ParseQuery((await ConsentAsync("deny")).Query);
        Assert.That(query["error"].ToString(), Is.EqualTo("access_denied"));
        Assert.That(query["state"].ToString(), Is.EqualTo("st-123"));
        Assert.That(query.ContainsKey("code"), Is.False);
    }

    [Test]
    public async Task Code_exchanges_once_for_a_never_expiring_token()
    {
        var code = await NewCodeAsync();
        using var first = await ExchangeAsync(code);
        var body = await first.JsonAsync();
        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(body["access_token"]!.GetValue<string>(), Has.Length.EqualTo(32));
        Assert.That(body["expires_in"]!.GetValue<int>(), Is.Zero);
        Assert.That(body.ContainsKey("scope") && body["scope"] is null, Is.True);

        using var second = await ExchangeAsync(code);
        Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await second.JsonAsync())["error"]!.GetValue<string>(), Is.EqualTo("invalid_grant"));
    }

    [Test]
    public async Task Code_expires_after_its_lifetime()
    {
        var code = await NewCodeAsync();
        _clock.Advance(TimeSpan.FromSeconds(61));
        using var response = await ExchangeAsync(code);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await response.JsonAsync())["error"]!.GetValue<string>(), Is.EqualTo("invalid_grant"));
    }

    [Test]
    public async Task Token_refuses_wrong_secret_redirect_mismatch_and_grant_type()
    {
        using var wrongSecret = await ExchangeAsync(await NewCodeAsync(), secret: "nope");
        Assert.That(wrongSecret.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        var refused = await wrongSecret.JsonAsync();
        Assert.That(refused["error"]!.GetValue<string>(), Is.EqualTo("invalid_client"));
        Assert.That(refused.ContainsKey("error_description"), Is.True);

        using var wrongRedirect = await ExchangeAsync(await NewCodeAsync(), redirect: "http://localhost:5080/other");
        Assert.That(wrongRedirect.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await wrongRedirect.JsonAsync())["error"]!.GetValue<string>(), Is.EqualTo("invalid_grant"));

        using var wrongGrant = await ExchangeAsync(await NewCodeAsync(), grant: "client_credentials");
        Assert.That(wrongGrant.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await wrongGrant.JsonAsync())["error"]!.GetValue<string>(), Is.EqualTo("unsupported_grant_type"));
    }

    [Test]
    public async Task Metadata_describes_the_account_with_the_sandbox_api_endpoint()
    {
        using var exchange = await ExchangeAsync(await NewCodeAsync());
        var token = (await exchange.JsonAsync())["access_token"]!.GetValue<string>();
        using var client = _host.Raw();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("OAuth", token);
        var metadata = await (await client.GetAsync("oauth2/metadata")).JsonAsync();

        Assert.That(metadata["dc"]!.GetValue<string>(), Is.EqualTo("us21"));
        Assert.That(metadata["accountname"]!.GetValue<string>(), Is.EqualTo("Sandbox Shop"));
        Assert.That(metadata["login"]!["login_email"]!.GetValue<string>(), Is.EqualTo("owner@sandbox.test"));
        Assert.That(metadata["api_endpoint"]!.GetValue<string>(), Is.EqualTo(new Uri(_host.BaseUrl, "us21").ToString()));
        Assert.That(metadata["api_endpoint"]!.GetValue<string>(), Does.EndWith("/sandbox/us21"));

        using var api = _host.Raw();
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var ping = await api.GetAsync("us21/3.0/ping");
        Assert.That(ping.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Metadata_answers_200_invalid_token_for_unknown_or_revoked_tokens()
    {
        var token = (await _host.IssueTokenAsync(_host.State.DefaultAccountId)).Secret;
        await _host.RevokeAsync(token);
        foreach (var candidate in new[] { token, "not-a-token" })
        {
            using var client = _host.Raw();
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("OAuth", candidate);
            using var response = await client.GetAsync("oauth2/metadata");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That((await response.JsonAsync())["error"]!.GetValue<string>(), Is.EqualTo("invalid_token"));
        }
    }

    [Test]
    public async Task Registered_app_and_account_hint_pick_who_consents()
    {
        const string redirect = "https://app.test/callback";
        await _host.RegisterAppAsync("other-app", "other-secret", redirect);
        var account = await _host.CreateAccountAsync("Second Shop", "us5");
        var location = await ConsentAsync("allow", AuthorizeUrl("other-app", redirect) + "&account=" + account.AccountId);
        var code = QueryHelpers.ParseQuery(location.Query)["code"].ToString();

        using var client = _host.Raw();
        using var exchange = await client.PostAsync("oauth2/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code", ["client_id"] = "other-app", ["client_secret"] = "other-secret", ["redirect_uri"] = redirect, ["code"] = code,
        }));
        var token = (await exchange.JsonAsync())["access_token"]!.GetValue<string>();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("OAuth", token);
        var metadata = await (await client.GetAsync("oauth2/metadata")).JsonAsync();
        Assert.That(metadata["accountname"]!.GetValue<string>(), Is.EqualTo("Second Shop"));
        Assert.That(metadata["dc"]!.GetValue<string>(), Is.EqualTo("us5"));
    }

    [GeneratedRegex("<form.*?</form>", RegexOptions.Singleline)]
    private static partial Regex FormRegex();

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">")]
    private static partial Regex InputRegex();
}

/// <summary>System time plus an offset the test moves forward.</summary>
public sealed class ManualClock : TimeProvider
{
    private TimeSpan _offset;

    public void Advance(TimeSpan by) => _offset += by;

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + _offset;
}
