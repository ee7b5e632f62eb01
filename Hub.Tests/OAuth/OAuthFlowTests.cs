using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hub.Core.Connections;
using Hub.Core.Mailchimp;
using Hub.Core.Tenants;
using Hub.Core.Webhooks;
using Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;

namespace Hub.Tests.OAuth;

[TestFixture]
public sealed class OAuthFlowTests() : EnvironmentFixture<ConsentEnvironment>(() => ConsentEnvironment.StartAsync())
{
    [Test]
    public async Task Consent_connects_the_tenant_and_shows_the_account_name()
    {
        var tenant = await _env.CreateTenantAsync();
        var audienceId = await _env.Sandbox.CreateListAsync(_env.Sandbox.DefaultApiKey, "Handed over");
        await _env.SetOAuthAppAsync(tenant, endpointUrl: _env.EndpointUrl(), audienceId: audienceId);
        Assert.That((await _env.GetConnectionAsync(tenant)).GetProperty("state").GetString(), Is.EqualTo("awaiting_consent"));

        using var browser = ConsentEnvironment.Browser();
        var link = await _env.CreateLinkAsync(tenant, locale: "en");
        Assert.That(link, Does.StartWith(_env.Hub.Settings.Configuration["Hub:PublicBaseUrl"] + "/oauth2/authorize?session="));
        var callback = await _env.ConsentAtSandboxAsync(browser, link);
        using var result = await _env.CompleteAsync(browser, callback);
        var html = await result.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(result.StatusCode, Is.EqualTo(HttpStatusCode.OK), html);
            Assert.That(result.RequestMessage!.RequestUri, Is.EqualTo(_env.ResultUrl));
            Assert.That(html, Does.Contain("<strong id=\"account-name\">Sandbox Shop</strong>"));
            Assert.That(html, Does.Contain("<html lang=\"en\">"));
            Assert.That(result.Headers.CacheControl?.NoStore, Is.True);
        });

        var connection = await _env.GetConnectionAsync(tenant);
        Assert.Multiple(() =>
        {
            Assert.That(connection.GetProperty("state").GetString(), Is.EqualTo("connected"));
            Assert.That(connection.GetProperty("mode").GetString(), Is.EqualTo("oauth"));
            Assert.That(connection.GetProperty("dc").GetString(), Is.EqualTo("us21"));
            Assert.That(connection.GetProperty("apiEndpoint").GetString(), Does.EndWith("/us21/3.0"), "the same shape as in API-key mode");
            Assert.That(connection.GetProperty("accountName").GetString(), Is.EqualTo("Sandbox Shop"));
            Assert.That(connection.GetProperty("loginEmail").GetString(), Is.EqualTo("owner@sandbox.test"));
            Assert.That(connection.GetProperty("managedAudiences").EnumerateArray().Select(a => a.GetString()), Is.EqualTo(new[] { audienceId }));
            Assert.That(connection.GetProperty("issue").ValueKind, Is.EqualTo(JsonValueKind.Null));
        });

        var connections = _env.Hub.Services.GetRequiredService<ConnectionService>();
        var id = TenantId.Parse(tenant.Id);
        var credential = await connections.GetCredentialAsync(id, CancellationToken.None);
        Assert.That(credential, Is.Not.Null);
        Assert.That(credential!.Kind, Is.EqualTo(MailchimpAuthKind.OAuth));
        Assert.That(credential.AccountKey, Does.StartWith("us21:"));
        using (var marketing = _env.Sandbox.Marketing(new SandboxCredential("", credential.DataCenter, credential.Token.Reveal())))
        using (var ping = await marketing.GetAsync("ping"))
        {
            Assert.That(ping.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the stored token works against Mailchimp");
        }

        Assert.That(await connections.IsManagedAsync(id, audienceId, CancellationToken.None), Is.True);
        var hook = await _env.Receiver.WaitForAsync(WebhookEvents.ConnectionConnected, tenantId: tenant.Id);
        var body = JsonDocument.Parse(hook.Body).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(body.GetProperty("tenantId").GetString(), Is.EqualTo(tenant.Id));
            Assert.That(body.GetProperty("data").GetProperty("accountName").GetString(), Is.EqualTo("Sandbox Shop"));
            Assert.That(WebhookSignature.Verify(new Core.Security.Secret(tenant.WebhookSigningSecret), hook.Signature, hook.Body, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)), Is.True);
        });
    }

    [Test]
    public async Task Consent_redirects_to_the_return_url_with_status_connected()
    {
        var tenant = await _env.CreateTenantAsync();
        await _env.SetOAuthAppAsync(tenant);
        using var browser = ConsentEnvironment.Browser();
        var callback = await _env.ConsentAtSandboxAsync(browser, await _env.CreateLinkAsync(tenant, returnUrl: ConsentEnvironment.ReturnOrigin + "/settings/mailchimp?tab=1"));
        using var result = await browser.GetAsync(callback);

        Assert.That(result.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(result.Headers.Location!.ToString(), Is.EqualTo(ConsentEnvironment.ReturnOrigin + "/settings/mailchimp?tab=1&status=connected"));
    }

    [Test]
    public async Task After_consent_the_address_bar_is_clean_and_the_result_is_shown_once_to_its_own_browser()
    {
        var tenant = await _env.CreateTenantAsync();
        await _env.SetOAuthAppAsync(tenant);
        using var browser = ConsentEnvironment.Browser();
        var callback = await _env.ConsentAtSandboxAsync(browser, await _env.CreateLinkAsync(tenant, locale: "en"));

        using var redirect = await browser.GetAsync(callback);
        Assert.That(redirect.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await redirect.Content.ReadAsStringAsync());
        Assert.That(redirect.Headers.Location, Is.EqualTo(_env.ResultUrl), "no code or state in the URL the customer is left with");
        var resultCookie = redirect.Headers.GetValues("Set-Cookie").Single(cookie => cookie.StartsWith("hub_oauth_result=", StringComparison.Ordinal)).ToLowerInvariant();
        Assert.That(resultCookie, Does.Contain("httponly").And.Contain("path=/oauth2").And.Contain("samesite=lax"));

        // Someone else's browser, with no cookie or a made-up one, sees nothing.
        using var stranger = ConsentEnvironment.Browser();
        using (var nothing = await stranger.GetAsync(_env.ResultUrl))
        {
            await AssertResultUnavailableAsync(nothing);
        }

        using var forged = new HttpRequestMessage(HttpMethod.Get, _env.ResultUrl);
        forged.Headers.Add("Cookie", "hub_oauth_result=" + new string('A', 43));
        using (var guessed = await ConsentEnvironment.Browser().SendAsync(forged))
        {
            await AssertResultUnavailableAsync(guessed);
        }

        using var page = await browser.GetAsync(_env.ResultUrl);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK), html);
            Assert.That(html, Does.Contain("<strong id=\"account-name\">Sandbox Shop</strong>").And.Contain("<html lang=\"en\">"));
            Assert.That(page.Headers.CacheControl?.NoStore, Is.True);
        });

        using var again = await browser.GetAsync(_env.ResultUrl);
        await AssertResultUnavailableAsync(again);
    }

    [Test]
    public async Task Pages_say_which_tenant_asks_HTML_encoded_in_English_and_Dutch()
    {
        const string name = "Acme <b>& Co</b>";
        const string encoded = "<strong>Acme &lt;b&gt;&amp; Co&lt;/b&gt;</strong>";
        var tenant = await _env.CreateTenantAsync(name: name);
        await _env.SetOAuthAppAsync(tenant);

        using var english = ConsentEnvironment.Browser();
        using var connected = await _env.CompleteAsync(english, await _env.ConsentAtSandboxAsync(english, await _env.CreateLinkAsync(tenant, locale: "en")));
        var connectedHtml = await connected.Content.ReadAsStringAsync();
        using var dutch = ConsentEnvironment.Browser();
        using var denied = await dutch.GetAsync(await _env.ConsentAtSandboxAsync(dutch, await _env.CreateLinkAsync(tenant, locale: "nl"), allow: false));
        var deniedHtml = await denied.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(connected.StatusCode, Is.EqualTo(HttpStatusCode.OK), connectedHtml);
            Assert.That(connectedHtml, Does.Contain(encoded + " asks for access to your Mailchimp account.").And.Not.Contain("<b>"));
            Assert.That(denied.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), deniedHtml);
            Assert.That(deniedHtml, Does.Contain(encoded + " vraagt toegang tot uw Mailchimp-account.").And.Not.Contain("<b>"));
        });
    }

    [TestCase("https://app.host.example/settings", true, true, "https://app.host.example/settings?status=connected&issue=data_center_mismatch,audience_not_found")]
    [TestCase("https://app.host.example/settings?tab=mailchimp", false, true, "https://app.host.example/settings?tab=mailchimp&status=connected&issue=audience_not_found")]
    [TestCase("https://app.host.example/settings#mailchimp", true, false, "https://app.host.example/settings?status=connected&issue=data_center_mismatch#mailchimp")]
    [TestCase("https://app.host.example/settings?tab=1#mailchimp", false, false, "https://app.host.example/settings?tab=1&status=connected#mailchimp")]
    public async Task The_return_url_gets_status_and_each_issue_code(string returnUrl, bool wrongEndpoint, bool wrongAudience, string expected)
    {
        var tenant = await _env.CreateTenantAsync();
        await _env.SetOAuthAppAsync(tenant, endpointUrl: wrongEndpoint ? _env.EndpointUrl("us7") : null, audienceId: wrongAudience ? "doesnotexist1" : null);
        using var browser = ConsentEnvironment.Browser();
        using var result = await browser.GetAsync(await _env.ConsentAtSandboxAsync(browser, await _env.CreateLinkAsync(tenant, returnUrl: returnUrl)));

        Assert.That(result.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await result.Content.ReadAsStringAsync());
        Assert.That(result.Headers.Location!.OriginalString, Is.EqualTo(expected));
    }

    [Test]
    public async Task Consent_reports_an_endpoint_and_audience_that_do_not_match_the_account()
    {
        var tenant = await _env.CreateTenantAsync();
        await _env.SetOAuthAppAsync(tenant, endpointUrl: _env.EndpointUrl("us7"), audienceId: "doesnotexist1");
        using var browser = ConsentEnvironment.Browser();
        using var result = await _env.CompleteAsync(browser, await _env.ConsentAtSandboxAsync(browser, await _env.CreateLinkAsync(tenant, locale: "nl")));
        var html = await result.Content.ReadAsStringAsync();

        Assert.That(result.StatusCode, Is.EqualTo(HttpStatusCode.OK), html);
        Assert.That(html, Does.Contain("Mailchimp is gekoppeld").And.Contain("us7").And.Contain("doesnotexist1"));
        Assert.That(html, Does.Contain("Let op: </strong>De endpoint-URL noemt datacenter us7, maar het Mailchimp-account dat toestemming gaf staat in us21.")
            .And.Contain("Doelgroep doesnotexist1 bestaat niet in het Mailchimp-account dat toestemming gaf")
            .And.Not.Contain("does not exist"), "the issue is in Dutch on the Dutch page");
        var connection = await _env.GetConnectionAsync(tenant);
        Assert.Multiple(() =>
        {
            Assert.That(connection.GetProperty("state").GetString(), Is.EqualTo("connected"));
            Assert.That(connection.GetProperty("issue").GetString(), Does.Contain("us7").And.Contain("doesnotexist1"));
            Assert.That(connection.GetProperty("managedAudiences").GetArrayLength(), Is.Zero);
        });
    }

    [Test]
    public async Task Consent_link_is_single_use()
    {
        var tenant = await _env.CreateTenantAsync();
        await _env.SetOAuthAppAsync(tenant);
        var link = await _env.CreateLinkAsync(tenant);
        using var browser = ConsentEnvironment.Browser();
        using var first = await browser.GetAsync(link);
        using var second = await browser.GetAsync(link);

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        await AssertFailurePageAsync(second, "link_invalid");
    }

    [Test]
    public async Task Denying_at_Mailchimp_shows_a_page_sends_connection_failed_and_stores_nothing()
    {
        var tenant = await _env.CreateTenantAsync();
        await _env.SetOAuthAppAsync(tenant);
        using var browser = ConsentEnvironment.Browser();
        var callback = await _env.ConsentAtSandboxAsync(browser, await _env.CreateLinkAsync(tenant), allow: false);
        Assert.That(callback.Query, Does.Contain("error=access_denied"));
        using var result = await browser.GetAsync(callback);

        await AssertFailurePageAsync(result, "access_denied");
        await AssertNotConnectedAsync(tenant);
        var hook = await WaitForFailureAsync(tenant);
        Assert.That(JsonDocument.Parse(hook.Body).RootElement.GetProperty("data").GetProperty("reason").GetString(), Is.EqualTo("access_denied"));
    }

    [Test]
    public async Task Replayed_state_fails()
    {
        var tenant = await _env.CreateTenantAsync();
        await _env.SetOAuthAppAsync(tenant);
        using var browser = ConsentEnvironment.Browser();
        var callback = await _env.ConsentAtSandboxAsync(browser, await _env.CreateLinkAsync(tenant));
        using var first = await _env.CompleteAsync(browser, callback);
        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        using var replay = await browser.GetAsync(callback);
        await AssertFailurePageAsync(replay, "state_invalid");
    }

    [Test]
    public async Task Unknown_or_missing_state_fails()
    {
        using var browser = _env.Hub.Client();
        using var unknown = await browser.GetAsync("/oauth2/proxy?code=abc&state=" + new string('x', 43));
        using var missing = await browser.GetAsync("/oauth2/proxy?code=abc");
        await AssertFailurePageAsync(unknown, "state_invalid");
        await AssertFailurePageAsync(missing, "state_invalid");
    }

    [Test]
    public async Task Expired_state_fails_and_state_lives_ten_minutes()
    {
        var tenant = await _env.CreateTenantAsync();
        await _env.SetOAuthAppAsync(tenant);
        using var browser = ConsentEnvironment.Browser();
        var callback = await _env.ConsentAtSandboxAsync(browser, await _env.CreateLinkAsync(tenant));
        var state = QueryHelpers.ParseQuery(callback.Query)["state"].ToString();
        Assert.That(Base64UrlLength(state), Is.GreaterThanOrEqualTo(16), "at least 128 random bits");

        var key = _env.Hub.Settings.KeyPrefix + "oauth:state:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(state)));
        var db = _env.Hub.Redis.GetDatabase();
        var ttl = await db.KeyTimeToLiveAsync(key);
        Assert.That(ttl, Is.GreaterThan(TimeSpan.FromMinutes(9)).And.LessThanOrEqualTo(TimeSpan.FromMinutes(10)));
        Assert.That((string?)await db.StringGetAsync(key), Does.Not.Contain(state), "Redis keeps only hashes of state and cookie");

        await db.KeyExpireAsync(key, TimeSpan.FromMilliseconds(1));
        await Task.Delay(20);
        using var result = await browser.GetAsync(callback);
        await AssertFailurePageAsync(result, "state_invalid");
        await AssertNotConnectedAsync(tenant);
    }

    [Test]
    public async Task Missing_cookie_fails()
    {
        var tenant = await _env.CreateTenantAsync();
        await _env.SetOAuthAppAsync(tenant);
        using var browser = ConsentEnvironment.Browser();
        var callback = await _env.ConsentAtSandboxAsync(browser, await _env.CreateLinkAsync(tenant));
        using var otherBrowser = ConsentEnvironment.Browser();
        using var result = await otherBrowser.GetAsync(callback);

        await AssertFailurePageAsync(result, "browser_mismatch");
        await AssertNotConnectedAsync(tenant);
        await WaitForFailureAsync(tenant);
    }

    [Test]
    public async Task A_callback_from_another_browser_fails_without_spoiling_the_consent_for_its_own_browser()
    {
        var tenant = await _env.CreateTenantAsync();
        await _env.SetOAuthAppAsync(tenant);
        using var browser = ConsentEnvironment.Browser();
        var callback = await _env.ConsentAtSandboxAsync(browser, await _env.CreateLinkAsync(tenant, returnUrl: ConsentEnvironment.ReturnOrigin + "/settings"));

        // Someone who saw the callback URL uses it first, from a browser without the consent cookie.
        using var otherBrowser = ConsentEnvironment.Browser();
        using var spoiled = await otherBrowser.GetAsync(callback);
        await AssertFailurePageAsync(spoiled, "browser_mismatch");
        await AssertNotConnectedAsync(tenant);

        // The state (and Mailchimp's code) is still there for the browser that holds the cookie.
        using var result = await browser.GetAsync(callback);
        Assert.That(result.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(result.Headers.Location!.ToString(), Is.EqualTo(ConsentEnvironment.ReturnOrigin + "/settings?status=connected"));
        Assert.That((await _env.GetConnectionAsync(tenant)).GetProperty("state").GetString(), Is.EqualTo("connected"));

        // And it is single-use as before.
        using var replay = await browser.GetAsync(callback);
        await AssertFailurePageAsync(replay, "state_invalid");
    }

    [Test]
    public async Task A_stray_or_forged_callback_in_the_customers_browser_does_not_spoil_the_consent_in_progress()
    {
        var tenant = await _env.CreateTenantAsync();
        var other = await _env.CreateTenantAsync();
        await _env.SetOAuthAppAsync(tenant);
        await _env.SetOAuthAppAsync(other);
        using var browser = ConsentEnvironment.Browser();
        using var otherBrowser = ConsentEnvironment.Browser();
        var callback = await _env.ConsentAtSandboxAsync(browser, await _env.CreateLinkAsync(tenant));
        var foreignCallback = await _env.ConsentAtSandboxAsync(otherBrowser, await _env.CreateLinkAsync(other));

        // Before Mailchimp's genuine redirect arrives, the customer's browser is sent to a made-up state, then to another consent's.
        using (var stray = await browser.GetAsync(new Uri(_env.Hub.BaseUrl, "/oauth2/proxy?state=x")))
        {
            await AssertFailurePageAsync(stray, "state_invalid");
            Assert.That(stray.Headers.TryGetValues("Set-Cookie", out _), Is.False, "the state cookie is left alone");
        }

        using (var forged = await browser.GetAsync(foreignCallback))
        {
            await AssertFailurePageAsync(forged, "browser_mismatch");
            Assert.That(await forged.Content.ReadAsStringAsync(), Does.Not.Contain("asks for access"), "a browser without the cookie is not told who asked");
            Assert.That(forged.Headers.TryGetValues("Set-Cookie", out _), Is.False, "the state cookie is left alone");
        }

        using var result = await _env.CompleteAsync(browser, callback);
        Assert.That(result.StatusCode, Is.EqualTo(HttpStatusCode.OK), await result.Content.ReadAsStringAsync());
        Assert.That((await _env.GetConnectionAsync(tenant)).GetProperty("state").GetString(), Is.EqualTo("connected"));
        using var otherResult = await _env.CompleteAsync(otherBrowser, foreignCallback);
        Assert.That(otherResult.StatusCode, Is.EqualTo(HttpStatusCode.OK), await otherResult.Content.ReadAsStringAsync());
        Assert.That((await _env.GetConnectionAsync(other)).GetProperty("state").GetString(), Is.EqualTo("connected"));
    }

    [Test]
    public async Task Wrong_cookie_fails()
    {
        var tenant = await _env.CreateTenantAsync();
        await _env.SetOAuthAppAsync(tenant);
        using var browser = ConsentEnvironment.Browser();
        var callback = await _env.ConsentAtSandboxAsync(browser, await _env.CreateLinkAsync(tenant));
        using var forged = new HttpRequestMessage(HttpMethod.Get, callback);
        forged.Headers.Add("Cookie", "hub_oauth=" + new string('A', 43));
        using var plain = ConsentEnvironment.Browser();
        using var result = await plain.SendAsync(forged);

        await AssertFailurePageAsync(result, "browser_mismatch");
        await AssertNotConnectedAsync(tenant);
    }

    [Test]
    public async Task A_state_created_for_another_tenant_does_not_connect_either_tenant()
    {
        var tenantA = await _env.CreateTenantAsync();
        var tenantB = await _env.CreateTenantAsync();
        await _env.SetOAuthAppAsync(tenantA);
        await _env.SetOAuthAppAsync(tenantB);
        using var browserA = ConsentEnvironment.Browser();
        using var browserB = ConsentEnvironment.Browser();
        await _env.ConsentAtSandboxAsync(browserA, await _env.CreateLinkAsync(tenantA));
        var callbackB = await _env.ConsentAtSandboxAsync(browserB, await _env.CreateLinkAsync(tenantB));

        // Browser A (with tenant A's cookie) arrives with the code and state made for tenant B.
        using var result = await browserA.GetAsync(callbackB);

        await AssertFailurePageAsync(result, "browser_mismatch");
        await AssertNotConnectedAsync(tenantA);
        await AssertNotConnectedAsync(tenantB);
    }

    [Test]
    public async Task Two_simultaneous_callbacks_with_one_state_connect_exactly_once()
    {
        var tenant = await _env.CreateTenantAsync();
        await _env.SetOAuthAppAsync(tenant);
        var cookies = new CookieContainer();
        using var browser = ConsentEnvironment.Browser(cookies);
        var callback = await _env.ConsentAtSandboxAsync(browser, await _env.CreateLinkAsync(tenant));
        using var second = ConsentEnvironment.Browser(cookies);

        var results = await Task.WhenAll(browser.GetAsync(callback), second.GetAsync(callback));
        var statuses = results.Select(r => r.StatusCode).ToList();
        Assert.That(statuses.Count(s => s == HttpStatusCode.Redirect), Is.EqualTo(1), string.Join(",", statuses));
        Assert.That(statuses.Count(s => s == HttpStatusCode.BadRequest), Is.EqualTo(1));
        foreach (var result in results)
        {
            result.Dispose();
        }

        await _env.Receiver.WaitForAsync(WebhookEvents.ConnectionConnected, tenantId: tenant.Id);
        await Task.Delay(300);
        var connectedHooks = _env.Receiver.Received.Count(h => h.EventType == WebhookEvents.ConnectionConnected && h.AnsweredStatus == 200 && h.Body.Contains(tenant.Id, StringComparison.Ordinal));
        Assert.That(connectedHooks, Is.EqualTo(1));
    }

    [Test]
    public async Task A_refused_code_exchange_fails_and_stores_nothing()
    {
        var tenant = await _env.CreateTenantAsync();
        await _env.SetOAuthAppAsync(tenant, clientSecret: "not-the-registered-secret");
        using var browser = ConsentEnvironment.Browser();
        using var result = await browser.GetAsync(await _env.ConsentAtSandboxAsync(browser, await _env.CreateLinkAsync(tenant)));

        await AssertFailurePageAsync(result, "token_exchange_failed");
        await AssertNotConnectedAsync(tenant);
        Assert.That(JsonDocument.Parse((await WaitForFailureAsync(tenant)).Body).RootElement.GetProperty("data").GetProperty("reason").GetString(), Is.EqualTo("token_exchange_failed"));
    }

    [Test]
    public async Task A_metadata_answer_with_an_error_body_fails_and_stores_nothing()
    {
        await using var broken = await ConsentEnvironment.StartAsync(new() { ["Hub:Mailchimp:MetadataUrl"] = _env.Receiver.InvalidMetadataUrl });
        var tenant = await broken.CreateTenantAsync();
        await broken.SetOAuthAppAsync(tenant);
        using var browser = ConsentEnvironment.Browser();
        using var result = await browser.GetAsync(await broken.ConsentAtSandboxAsync(browser, await broken.CreateLinkAsync(tenant)));

        await AssertFailurePageAsync(result, "metadata_failed");
        var connection = await broken.GetConnectionAsync(tenant);
        Assert.That(connection.GetProperty("state").GetString(), Is.EqualTo("awaiting_consent"));
    }

    [Test]
    public async Task Return_url_must_be_on_an_allowed_origin()
    {
        var tenant = await _env.CreateTenantAsync();
        await _env.SetOAuthAppAsync(tenant);
        using var client = _env.Hub.Client(tenant.ApiKey);
        foreach (var returnUrl in new[]
        {
            "https://evil.example/callback",
            "https://app.host.example.evil.example/",
            "https://app.host.example@evil.example/",
            "//evil.example/",
            "/relative",
            "javascript:alert(1)",
            "http://app.host.example/",
            "https://app.host.example:8443/",
        })
        {
            using var response = await client.PostAsync("/api/v1/connection/consent-links",
                JsonContent(new { returnUrl }));
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "validation");
            Assert.That(problem.GetProperty("errors").TryGetProperty("returnUrl", out _), Is.True, returnUrl);
        }
    }

    [Test]
    public async Task A_return_url_with_control_characters_is_refused_when_the_link_is_made()
    {
        var tenant = await _env.CreateTenantAsync();
        await _env.SetOAuthAppAsync(tenant);
        using var client = _env.Hub.Client(tenant.ApiKey);
        foreach (var returnUrl in new[]
        {
            ConsentEnvironment.ReturnOrigin + "/done\r\nSet-Cookie: hub=1",
            ConsentEnvironment.ReturnOrigin + "/done\nx",
            ConsentEnvironment.ReturnOrigin + "/done\tx",
            ConsentEnvironment.ReturnOrigin + "/done\u0000",
        })
        {
            using var response = await client.PostAsync("/api/v1/connection/consent-links", JsonContent(new { returnUrl }));
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "validation");
            Assert.That(problem.GetProperty("errors").TryGetProperty("returnUrl", out _), Is.True, returnUrl);
        }
    }

    [Test]
    public async Task Pages_are_Dutch_or_English_by_query_then_Accept_Language_and_encode_everything()
    {
        using var client = _env.Hub.Client();
        using var dutch = new HttpRequestMessage(HttpMethod.Get, "/oauth2/authorize?session=nope");
        dutch.Headers.Add("Accept-Language", "nl-NL,nl;q=0.9,en;q=0.5");
        using var dutchPage = await client.SendAsync(dutch);
        var dutchHtml = await dutchPage.Content.ReadAsStringAsync();
        using var queried = new HttpRequestMessage(HttpMethod.Get, "/oauth2/authorize?session=nope&locale=en");
        queried.Headers.Add("Accept-Language", "nl");
        using var englishPage = await client.SendAsync(queried);
        var englishHtml = await englishPage.Content.ReadAsStringAsync();
        using var hostile = await client.GetAsync("/oauth2/proxy?state=%3Cscript%3E&error=%3Cscript%3Ealert(1)%3C/script%3E");
        var hostileHtml = await hostile.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(dutchHtml, Does.Contain("<html lang=\"nl\">").And.Contain("Deze koppellink werkt niet meer").And.Contain("<h1>"));
            Assert.That(englishHtml, Does.Contain("<html lang=\"en\">").And.Contain("This connection link no longer works"));
            Assert.That(hostileHtml, Does.Not.Contain("<script"));
            Assert.That(dutchPage.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
            Assert.That(dutchHtml, Does.Not.Contain("http://").And.Not.Contain("https://"), "no external assets");
        });
    }

    [Test]
    public async Task Revocation_flips_to_reauthorization_required_and_sends_one_webhook()
    {
        var tenant = await _env.CreateTenantAsync();
        await _env.SetOAuthAppAsync(tenant);
        using var browser = ConsentEnvironment.Browser();
        using (var done = await _env.CompleteAsync(browser, await _env.ConsentAtSandboxAsync(browser, await _env.CreateLinkAsync(tenant))))
        {
            Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        var connections = _env.Hub.Services.GetRequiredService<ConnectionService>();
        var id = TenantId.Parse(tenant.Id);
        var flips = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => connections.MarkReauthorizationRequiredAsync(id, CancellationToken.None)));

        Assert.That(flips.Count(flipped => flipped), Is.EqualTo(1));
        Assert.That((await _env.GetConnectionAsync(tenant)).GetProperty("state").GetString(), Is.EqualTo("reauthorization_required"));
        Assert.That(await connections.GetCredentialAsync(id, CancellationToken.None), Is.Null);
        await _env.Receiver.WaitForAsync(WebhookEvents.ConnectionRevoked, tenantId: tenant.Id);
        await Task.Delay(300);
        Assert.That(_env.Receiver.Received.Count(h => h.EventType == WebhookEvents.ConnectionRevoked && h.Body.Contains(tenant.Id, StringComparison.Ordinal)), Is.EqualTo(1));
    }

    [Test]
    public async Task Logs_and_Redis_hold_no_client_secret_token_code_or_state()
    {
        var tenant = await _env.CreateTenantAsync();
        await _env.SetOAuthAppAsync(tenant);
        using var browser = ConsentEnvironment.Browser();
        var link = await _env.CreateLinkAsync(tenant);
        var callback = await _env.ConsentAtSandboxAsync(browser, link);
        using (var done = await _env.CompleteAsync(browser, callback))
        {
            Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        var credential = await _env.Hub.Services.GetRequiredService<ConnectionService>().GetCredentialAsync(TenantId.Parse(tenant.Id), CancellationToken.None);
        var query = QueryHelpers.ParseQuery(callback.Query);
        var session = QueryHelpers.ParseQuery(new Uri(link).Query)["session"].ToString();
        var secrets = new[] { ConsentEnvironment.ClientSecret, credential!.Token.Reveal(), query["code"].ToString(), query["state"].ToString(), session };
        var dump = await TestRedis.DumpAsync(_env.Hub.Redis, _env.Hub.Settings.KeyPrefix);
        var logs = _env.Hub.Logs.All;
        foreach (var secret in secrets)
        {
            Assert.That(dump, Does.Not.Contain(secret));
            Assert.That(logs, Does.Not.Contain(secret));
        }
    }

    private static StringContent JsonContent(object value) =>
        new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    private static int Base64UrlLength(string value) => value.Length * 3 / 4;

    private static async Task AssertFailurePageAsync(HttpResponseMessage response, string code)
    {
        var html = await response.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), html);
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
            Assert.That(html, Does.Contain("<h1>").And.Contain("What to do next").And.Contain(code));
        });
    }

    private static async Task AssertResultUnavailableAsync(HttpResponseMessage response)
    {
        var html = await response.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), html);
            Assert.That(html, Does.Contain("result_unavailable").And.Not.Contain("Sandbox Shop"));
        });
    }

    private async Task AssertNotConnectedAsync(TestTenant tenant)
    {
        var connection = await _env.GetConnectionAsync(tenant);
        Assert.That(connection.GetProperty("state").GetString(), Is.EqualTo("awaiting_consent"));
        var credential = await _env.Hub.Services.GetRequiredService<ConnectionService>().GetCredentialAsync(TenantId.Parse(tenant.Id), CancellationToken.None);
        Assert.That(credential, Is.Null);
        var secrets = await _env.Hub.Redis.GetDatabase().HashKeysAsync(_env.Hub.Keys.TenantSecrets(TenantId.Parse(tenant.Id)));
        Assert.That(secrets.Select(s => s.ToString()), Does.Not.Contain(Core.Security.SecretNames.MailchimpAccessToken));
    }

    private async Task<Webhooks.ReceivedWebhook> WaitForFailureAsync(TestTenant tenant)
    {
        for (var i = 0; i < 200; i++)
        {
            if (_env.Receiver.Received.FirstOrDefault(h => h.EventType == WebhookEvents.ConnectionFailed && h.Body.Contains(tenant.Id, StringComparison.Ordinal)) is { } hook)
            {
                return hook;
            }

            await Task.Delay(50);
        }

        Assert.Fail("No connection.failed webhook for the tenant.");
        throw new InvalidOperationException();
    }
}
