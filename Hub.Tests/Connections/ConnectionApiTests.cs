using System.Net;
using System.Net.Http.Json;
using Hub.Core.Connections;
using Hub.Core.Mailchimp;
using Hub.Core.Security;
using Hub.Core.Tenants;
using Hub.Core.Webhooks;
using Hub.Tests.Infrastructure;
using Hub.Tests.OAuth;
using Microsoft.Extensions.DependencyInjection;

namespace Hub.Tests.Connections;

[TestFixture]
public sealed class ConnectionApiTests() : EnvironmentFixture<ConsentEnvironment>(() => ConsentEnvironment.StartAsync())
{
    [Test]
    public async Task A_new_tenant_is_not_configured()
    {
        var tenant = await _env.CreateTenantAsync();
        var connection = await _env.GetConnectionAsync(tenant);
        Assert.That(connection.GetProperty("state").GetString(), Is.EqualTo("not_configured"));
        Assert.That(connection.GetProperty("mode").ValueKind, Is.EqualTo(System.Text.Json.JsonValueKind.Null));
    }

    [Test]
    public async Task A_valid_api_key_connects_after_Mailchimp_verified_it()
    {
        var tenant = await _env.CreateTenantAsync();
        var key = await _env.Sandbox.CreateAccountAsync("Key Shop", "us9", loginEmail: "keys@shop.test");
        using var client = _env.Hub.Client(tenant.ApiKey);
        using var response = await client.PutAsJsonAsync("/api/v1/connection/api-key", new { apiKey = key.Secret });
        var body = await response.JsonAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(body.GetProperty("state").GetString(), Is.EqualTo("connected"));
            Assert.That(body.GetProperty("mode").GetString(), Is.EqualTo("api_key"));
            Assert.That(body.GetProperty("dc").GetString(), Is.EqualTo("us9"));
            Assert.That(body.GetProperty("apiEndpoint").GetString(), Does.EndWith("/us9/3.0"));
            Assert.That(body.GetProperty("accountName").GetString(), Is.EqualTo("Key Shop"));
            Assert.That(body.GetProperty("loginEmail").GetString(), Is.EqualTo("keys@shop.test"));
            Assert.That(body.ToString(), Does.Not.Contain(key.Secret));
        });

        var credential = await _env.Hub.Services.GetRequiredService<ConnectionService>().GetCredentialAsync(TenantId.Parse(tenant.Id), CancellationToken.None);
        Assert.That(credential!.Kind, Is.EqualTo(MailchimpAuthKind.ApiKey));
        Assert.That(credential.Token.Reveal(), Is.EqualTo(key.Secret));
        Assert.That(credential.AccountKey, Is.EqualTo("us9:" + key.AccountId));
        await _env.Receiver.WaitForAsync(WebhookEvents.ConnectionConnected);
    }

    [TestCase("not-a-key")]
    [TestCase("0123456789abcdef0123456789abcdef")]
    [TestCase("0123456789abcdef0123456789abcdef-")]
    [TestCase("0123456789ABCDEF0123456789ABCDEF-us6; rm -rf")]
    public async Task A_malformed_api_key_is_a_validation_problem(string apiKey)
    {
        var tenant = await _env.CreateTenantAsync();
        using var client = _env.Hub.Client(tenant.ApiKey);
        using var response = await client.PutAsJsonAsync("/api/v1/connection/api-key", new { apiKey });
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "validation");
        Assert.That(problem.GetProperty("errors").TryGetProperty("apiKey", out _), Is.True);
        Assert.That((await _env.GetConnectionAsync(tenant)).GetProperty("state").GetString(), Is.EqualTo("not_configured"));
    }

    [Test]
    public async Task An_unknown_revoked_or_wrong_data_center_api_key_is_rejected_and_nothing_is_stored()
    {
        var tenant = await _env.CreateTenantAsync();
        var revoked = await _env.Sandbox.CreateAccountAsync("Revoked Shop", "us3");
        await _env.Sandbox.RevokeAsync(revoked.Secret);
        var valid = _env.Sandbox.DefaultApiKey.Secret;
        var wrongDc = valid[..valid.LastIndexOf('-')] + "-us5";
        using var client = _env.Hub.Client(tenant.ApiKey);
        foreach (var apiKey in new[] { "0123456789abcdef0123456789abcdef-us21", revoked.Secret, wrongDc })
        {
            using var response = await client.PutAsJsonAsync("/api/v1/connection/api-key", new { apiKey });
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnprocessableEntity, "mailchimp_key_rejected");
            Assert.That(problem.GetProperty("detail").GetString(), Does.Not.Contain(apiKey));
        }

        Assert.That((await _env.GetConnectionAsync(tenant)).GetProperty("state").GetString(), Is.EqualTo("not_configured"));
        var secrets = await _env.Hub.Redis.GetDatabase().HashKeysAsync(_env.Hub.Keys.TenantSecrets(TenantId.Parse(tenant.Id)));
        Assert.That(secrets.Select(s => s.ToString()), Is.EqualTo(new[] { SecretNames.WebhookSigning }));
    }

    [Test]
    public async Task An_unreachable_Mailchimp_is_a_bad_gateway_and_stores_nothing()
    {
        await using var env = await ConsentEnvironment.StartAsync(new() { ["Hub:Mailchimp:ApiBaseTemplate"] = "http://127.0.0.1:1/{dc}/3.0" });
        var tenant = await env.CreateTenantAsync();
        using var client = env.Hub.Client(tenant.ApiKey);
        using var response = await client.PutAsJsonAsync("/api/v1/connection/api-key", new { apiKey = env.Sandbox.DefaultApiKey.Secret });
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable, "mailchimp_unavailable");
        Assert.That((await env.GetConnectionAsync(tenant)).GetProperty("state").GetString(), Is.EqualTo("not_configured"));
    }

    [Test]
    public async Task OAuth_app_endpoint_url_must_match_the_configured_api_base()
    {
        var tenant = await _env.CreateTenantAsync();
        using var client = _env.Hub.Client(tenant.ApiKey);
        foreach (var endpointUrl in new[] { "https://evil.example/3.0", "https://us6.api.mailchimp.com.evil.example/3.0", "http://169.254.169.254/latest", "ftp://x" })
        {
            using var response = await client.PutAsJsonAsync("/api/v1/connection/oauth-app",
                new { clientId = "abc", clientSecret = "def", endpointUrl });
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "validation");
            Assert.That(problem.GetProperty("errors").TryGetProperty("endpointUrl", out _), Is.True, endpointUrl);
        }

        using var missing = await client.PutAsJsonAsync("/api/v1/connection/oauth-app", new { clientId = "", audienceId = "bad id!" });
        var errors = (await ProblemAssert.IsProblemAsync(missing, HttpStatusCode.BadRequest, "validation")).GetProperty("errors");
        Assert.That(errors.EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { "clientId", "clientSecret", "audienceId" }));
        Assert.That((await _env.GetConnectionAsync(tenant)).GetProperty("state").GetString(), Is.EqualTo("not_configured"));
    }

    [Test]
    public async Task Setting_an_OAuth_app_awaits_consent_and_never_shows_the_secret()
    {
        var tenant = await _env.CreateTenantAsync();
        using var client = _env.Hub.Client(tenant.ApiKey);
        using var response = await client.PutAsJsonAsync("/api/v1/connection/oauth-app",
            new { clientId = "cid-1", clientSecret = "top-secret-value-123", endpointUrl = _env.EndpointUrl("us21") + "/", audienceId = "abc123" });
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        Assert.That(text, Does.Not.Contain("top-secret-value-123"));
        var body = await _env.GetConnectionAsync(tenant);
        Assert.Multiple(() =>
        {
            Assert.That(body.GetProperty("state").GetString(), Is.EqualTo("awaiting_consent"));
            Assert.That(body.GetProperty("mode").GetString(), Is.EqualTo("oauth"));
            Assert.That(body.GetProperty("clientId").GetString(), Is.EqualTo("cid-1"));
            Assert.That(body.GetProperty("audienceId").GetString(), Is.EqualTo("abc123"));
            Assert.That(body.ToString(), Does.Not.Contain("top-secret-value-123"));
        });
    }

    [Test]
    public async Task A_consent_link_needs_an_OAuth_app_and_a_valid_locale()
    {
        var tenant = await _env.CreateTenantAsync();
        using var client = _env.Hub.Client(tenant.ApiKey);
        using var none = await client.PostAsJsonAsync("/api/v1/connection/consent-links", new { });
        await ProblemAssert.IsProblemAsync(none, HttpStatusCode.Conflict, "oauth_app_not_configured");

        await _env.SetOAuthAppAsync(tenant);
        using var badLocale = await client.PostAsJsonAsync("/api/v1/connection/consent-links", new { locale = "de" });
        await ProblemAssert.IsProblemAsync(badLocale, HttpStatusCode.BadRequest, "validation");

        using var created = await client.PostAsJsonAsync("/api/v1/connection/consent-links", new { locale = "nl" });
        var body = await created.JsonAsync();
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(body.GetProperty("expiresAt").GetDateTimeOffset(), Is.EqualTo(DateTimeOffset.UtcNow.AddHours(24)).Within(TimeSpan.FromMinutes(2)));
    }

    [Test]
    public async Task Disconnect_forgets_the_credentials()
    {
        var tenant = await _env.CreateTenantAsync();
        using var client = _env.Hub.Client(tenant.ApiKey);
        using (var connect = await client.PutAsJsonAsync("/api/v1/connection/api-key", new { apiKey = _env.Sandbox.DefaultApiKey.Secret }))
        {
            Assert.That(connect.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        using var disconnect = await client.DeleteAsync("/api/v1/connection");
        Assert.That(disconnect.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        Assert.That((await _env.GetConnectionAsync(tenant)).GetProperty("state").GetString(), Is.EqualTo("not_configured"));
        Assert.That(await _env.Hub.Services.GetRequiredService<ConnectionService>().GetCredentialAsync(TenantId.Parse(tenant.Id), CancellationToken.None), Is.Null);
        var secrets = await _env.Hub.Redis.GetDatabase().HashKeysAsync(_env.Hub.Keys.TenantSecrets(TenantId.Parse(tenant.Id)));
        Assert.That(secrets.Select(s => s.ToString()), Is.EqualTo(new[] { SecretNames.WebhookSigning }));
    }

    [Test]
    public async Task Managed_audiences_are_kept_per_tenant()
    {
        var connections = _env.Hub.Services.GetRequiredService<ConnectionService>();
        var a = TenantId.Parse((await _env.CreateTenantAsync()).Id);
        var b = TenantId.Parse((await _env.CreateTenantAsync()).Id);
        var none = CancellationToken.None;

        Assert.That(await connections.AddManagedAudienceAsync(a, "aud1", none), Is.True);
        Assert.That(await connections.AddManagedAudienceAsync(a, "aud1", none), Is.False);
        await connections.AddManagedAudienceAsync(a, "aud2", none);
        Assert.Multiple(async () =>
        {
            Assert.That(await connections.IsManagedAsync(a, "aud1", none), Is.True);
            Assert.That(await connections.IsManagedAsync(b, "aud1", none), Is.False);
            Assert.That(await connections.ListManagedAudiencesAsync(a, none), Is.EqualTo(new[] { "aud1", "aud2" }));
        });
        Assert.That(await connections.RemoveManagedAudienceAsync(a, "aud1", none), Is.True);
        Assert.That(await connections.ListManagedAudiencesAsync(a, none), Is.EqualTo(new[] { "aud2" }));
    }

    [Test]
    public async Task Deleting_a_tenant_removes_its_connection_data()
    {
        var tenant = await _env.CreateTenantAsync();
        using var client = _env.Hub.Client(tenant.ApiKey);
        using (await client.PutAsJsonAsync("/api/v1/connection/api-key", new { apiKey = _env.Sandbox.DefaultApiKey.Secret }))
        {
        }

        await _env.Hub.Services.GetRequiredService<ConnectionService>().AddManagedAudienceAsync(TenantId.Parse(tenant.Id), "aud1", CancellationToken.None);
        using var admin = _env.Hub.Admin();
        using var deleted = await admin.DeleteAsync($"/api/admin/tenants/{tenant.Id}");
        Assert.That(deleted.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        var left = await TestRedis.KeysAsync(_env.Hub.Redis, _env.Hub.ShardPrefixOf(tenant.Id) + "tenant:" + tenant.Id);
        Assert.That(left, Is.Empty);
    }

    [Test]
    public async Task Logs_and_Redis_hold_no_api_key_or_client_secret()
    {
        var tenant = await _env.CreateTenantAsync();
        var key = await _env.Sandbox.CreateAccountAsync("Leak Check", "us4");
        using var client = _env.Hub.Client(tenant.ApiKey);
        using (await client.PutAsJsonAsync("/api/v1/connection/api-key", new { apiKey = "0123456789abcdef0123456789abcdef-us4" }))
        {
        }

        using (await client.PutAsJsonAsync("/api/v1/connection/api-key", new { apiKey = key.Secret }))
        {
        }

        var other = await _env.CreateTenantAsync();
        using var otherClient = _env.Hub.Client(other.ApiKey);
        using (await otherClient.PutAsJsonAsync("/api/v1/connection/oauth-app", new { clientId = "cid", clientSecret = "client-secret-leak-check-42" }))
        {
        }

        var dump = await TestRedis.DumpAsync(_env.Hub.Redis, _env.Hub.Settings.KeyPrefix);
        foreach (var secret in new[] { key.Secret, "0123456789abcdef0123456789abcdef-us4", "client-secret-leak-check-42" })
        {
            Assert.That(dump, Does.Not.Contain(secret));
            Assert.That(_env.Hub.Logs.All, Does.Not.Contain(secret));
        }
    }
}
