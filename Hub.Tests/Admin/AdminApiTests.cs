using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Hub.Core.Jobs;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Hub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Hub.Tests.Admin;

public class AdminApiTests
{
    private HubHost _hub = null!;
    private HttpClient _admin = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _hub = await HubHost.StartAsync();
        _admin = _hub.Admin();
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        _admin.Dispose();
        await _hub.DisposeAsync();
    }

    private static object FullTenant(string name) => new
    {
        name,
        allowedReturnOrigins = new[] { "https://app.example.com", "http://localhost:3000" },
        webhookUrl = "https://hooks.example.com/hub",
        defaultPermissionReminder = "You applied for a job with us.",
        defaultContact = new { company = "Acme BV", address1 = "Main 1", city = "Utrecht", country = "NL", zip = "3511AA", state = "UT" },
        defaultCampaignDefaults = new { fromName = "Acme", fromEmail = "news@acme.example.com", subject = "News", language = "nl" },
    };

    [Test]
    public async Task Tenant_can_be_created_read_listed_updated_disabled_and_deleted()
    {
        var created = await _admin.PostAsJsonAsync("/api/admin/tenants", FullTenant("Lifecycle"));
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        var body = await created.JsonAsync();
        var id = body.GetProperty("tenant").GetProperty("id").GetString()!;
        Assert.Multiple(() =>
        {
            Assert.That(created.Headers.Location?.ToString(), Is.EqualTo($"/api/admin/tenants/{id}"));
            Assert.That(body.GetProperty("webhookSigningSecret").GetString(), Does.StartWith("whsec_"));
            Assert.That(body.GetProperty("tenant").GetProperty("defaultContact").GetProperty("city").GetString(), Is.EqualTo("Utrecht"));
        });

        var read = await (await _admin.GetAsync($"/api/admin/tenants/{id}")).JsonAsync();
        Assert.That(read.GetProperty("name").GetString(), Is.EqualTo("Lifecycle"));
        Assert.That(read.TryGetProperty("webhookSigningSecret", out _), Is.False, "the secret is shown only on create");

        var list = await (await _admin.GetAsync("/api/admin/tenants?limit=200")).JsonAsync();
        Assert.That(list.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("id").GetString()), Does.Contain(id));

        var updated = await _admin.PatchAsJsonAsync($"/api/admin/tenants/{id}", new { name = "Renamed", webhookUrl = "" });
        var updatedBody = await updated.JsonAsync();
        Assert.Multiple(() =>
        {
            Assert.That(updated.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(updatedBody.GetProperty("name").GetString(), Is.EqualTo("Renamed"));
            Assert.That(updatedBody.GetProperty("webhookUrl").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(updatedBody.GetProperty("defaultPermissionReminder").GetString(), Is.EqualTo("You applied for a job with us."));
        });

        var disabled = await (await _admin.PostAsync($"/api/admin/tenants/{id}/disable", null)).JsonAsync();
        Assert.That(disabled.GetProperty("enabled").GetBoolean(), Is.False);
        var enabled = await (await _admin.PostAsync($"/api/admin/tenants/{id}/enable", null)).JsonAsync();
        Assert.That(enabled.GetProperty("enabled").GetBoolean(), Is.True);

        Assert.That((await _admin.DeleteAsync($"/api/admin/tenants/{id}")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        await ProblemAssert.IsProblemAsync(await _admin.GetAsync($"/api/admin/tenants/{id}"), HttpStatusCode.NotFound, "tenant_not_found");
        Assert.That(await TestRedis.KeysAsync(_hub.Redis, _hub.ShardPrefixOf(id) + "tenant:" + id), Is.Empty);
    }

    [Test]
    public async Task Keys_rotate_several_work_at_once_and_a_revoked_key_is_refused_at_once()
    {
        var tenant = await _hub.CreateTenantAsync("Rotation");
        var second = await (await _admin.PostAsJsonAsync($"/api/admin/tenants/{tenant.Id}/keys", new { name = "second" })).JsonAsync();
        var secondKey = second.GetProperty("key").GetString()!;

        using var first = _hub.Client(tenant.ApiKey);
        using var next = _hub.Client(secondKey);
        Assert.That((await first.GetAsync("/api/v1/tenant")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var me = await (await next.GetAsync("/api/v1/tenant")).JsonAsync();
        Assert.That(me.GetProperty("id").GetString(), Is.EqualTo(tenant.Id));

        var keys = await (await _admin.GetAsync($"/api/admin/tenants/{tenant.Id}/keys")).JsonAsync();
        Assert.That(keys.GetProperty("items").GetArrayLength(), Is.EqualTo(2));
        Assert.That(keys.GetProperty("total").GetInt64(), Is.EqualTo(2));
        Assert.That(keys.GetRawText(), Does.Not.Contain(secondKey), "listing never shows keys");
        var firstKeyId = keys.GetProperty("items").EnumerateArray().First(k => k.GetProperty("name").GetString() == "test").GetProperty("id").GetString();

        Assert.That((await _admin.DeleteAsync($"/api/admin/tenants/{tenant.Id}/keys/{firstKeyId}")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        await ProblemAssert.IsProblemAsync(await first.GetAsync("/api/v1/tenant"), HttpStatusCode.Unauthorized, "unauthorized");
        Assert.That((await next.GetAsync("/api/v1/tenant")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await ProblemAssert.IsProblemAsync(await _admin.DeleteAsync($"/api/admin/tenants/{tenant.Id}/keys/{firstKeyId}"), HttpStatusCode.NotFound, "api_key_not_found");
    }

    [Test]
    public async Task A_key_revoked_or_a_tenant_disabled_through_one_replica_is_refused_by_another_at_once()
    {
        // The replica would remember keys for a minute; only the notice through Redis can reach it in time.
        await using var replica = await _hub.StartReplicaAsync(new() { ["Hub:TenantKeys:CacheDuration"] = "00:01:00" });
        var tenant = await _hub.CreateTenantAsync("Two replicas");
        var second = (await (await _admin.PostAsJsonAsync($"/api/admin/tenants/{tenant.Id}/keys", new { name = "second" })).JsonAsync()).GetProperty("key").GetString()!;
        using var first = replica.Client(tenant.ApiKey);
        using var next = replica.Client(second);
        Assert.That((await first.GetAsync("/api/v1/tenant")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await next.GetAsync("/api/v1/tenant")).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var keys = await (await _admin.GetAsync($"/api/admin/tenants/{tenant.Id}/keys")).JsonAsync();
        var firstKeyId = keys.GetProperty("items").EnumerateArray().First(k => k.GetProperty("name").GetString() == "test").GetProperty("id").GetString();
        Assert.That((await _admin.DeleteAsync($"/api/admin/tenants/{tenant.Id}/keys/{firstKeyId}")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        Assert.That(await StatusWithinAsync(first, HttpStatusCode.Unauthorized), Is.EqualTo(HttpStatusCode.Unauthorized));

        await _admin.PostAsync($"/api/admin/tenants/{tenant.Id}/disable", null);
        Assert.That(await StatusWithinAsync(next, HttpStatusCode.Forbidden), Is.EqualTo(HttpStatusCode.Forbidden));
        await _admin.PostAsync($"/api/admin/tenants/{tenant.Id}/enable", null);
        Assert.That(await StatusWithinAsync(next, HttpStatusCode.OK), Is.EqualTo(HttpStatusCode.OK));
    }

    /// <summary>Reads the tenant profile until it answers <paramref name="expected"/> or a second passes; returns the last status.</summary>
    private static async Task<HttpStatusCode> StatusWithinAsync(HttpClient client, HttpStatusCode expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(1);
        while (true)
        {
            using var response = await client.GetAsync("/api/v1/tenant");
            if (response.StatusCode == expected || DateTime.UtcNow > deadline)
            {
                return response.StatusCode;
            }

            await Task.Delay(10);
        }
    }

    [TestCase(null)]
    [TestCase("Bearer hub_kdoesnotexist_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [TestCase("Bearer not-a-key")]
    [TestCase("Basic dXNlcjpwYXNz")]
    public async Task Tenant_routes_refuse_missing_or_unknown_keys_with_401(string? authorization)
    {
        using var client = _hub.Client();
        if (authorization is not null)
        {
            client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);
        }

        var response = await client.GetAsync("/api/v1/tenant");
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized, "unauthorized");
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.Contain("Bearer"));
    }

    [Test]
    public async Task Disabled_tenant_gets_403_and_is_served_again_once_enabled()
    {
        var tenant = await _hub.CreateTenantAsync("Disabled");
        using var client = _hub.Client(tenant.ApiKey);
        await _admin.PostAsync($"/api/admin/tenants/{tenant.Id}/disable", null);

        await ProblemAssert.IsProblemAsync(await client.GetAsync("/api/v1/tenant"), HttpStatusCode.Forbidden, "tenant_disabled");

        await _admin.PostAsync($"/api/admin/tenants/{tenant.Id}/enable", null);
        Assert.That((await client.GetAsync("/api/v1/tenant")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Admin_key_does_not_open_tenant_routes_and_tenant_key_does_not_open_admin_routes()
    {
        var tenant = await _hub.CreateTenantAsync("Crossed");
        using var tenantClient = _hub.Client(tenant.ApiKey);

        await ProblemAssert.IsProblemAsync(await _admin.GetAsync("/api/v1/tenant"), HttpStatusCode.Unauthorized, "unauthorized");
        await ProblemAssert.IsProblemAsync(await tenantClient.GetAsync("/api/admin/tenants"), HttpStatusCode.Unauthorized, "unauthorized");
        await ProblemAssert.IsProblemAsync(await tenantClient.PostAsJsonAsync("/api/admin/tenants", new { name = "Sneaky" }), HttpStatusCode.Unauthorized);
    }

    public static IEnumerable<TestCaseData> InvalidTenants()
    {
        yield return new TestCaseData("{\"name\": ", "$.name").SetName("Malformed JSON is a 400 with an errors map");
        yield return new TestCaseData("{\"name\": 42}", "$.name").SetName("A wrongly typed field is a 400 naming it");
        yield return new TestCaseData("{}", "name").SetName("A missing name is a 400 naming it");
        yield return new TestCaseData("{\"name\": \"" + new string('x', 201) + "\"}", "name").SetName("An oversized name is a 400 naming it");
        yield return new TestCaseData("{\"name\": \"a\", \"allowedReturnOrigins\": [\"https://ok.example.com/path\"]}", "allowedReturnOrigins[0]").SetName("A return origin with a path is a 400");
        yield return new TestCaseData("{\"name\": \"a\", \"webhookUrl\": \"ftp://x.example.com\"}", "webhookUrl").SetName("A non-http webhook is a 400");
        yield return new TestCaseData("{\"name\": \"a\", \"webhookUrl\": \"http://10.0.0.5/hook\"}", "webhookUrl").SetName("A private-range webhook is a 400 outside Development");
        yield return new TestCaseData("{\"name\": \"\\u0001\\u0007\\u001b\"}", "name").SetName("A name of control characters only is a 400");
        yield return new TestCaseData("{\"name\": \"Acme\\r\\nLtd\"}", "name").SetName("A name with CR or LF is a 400");
        yield return new TestCaseData("{\"name\": \"a\", \"webhookUrl\": \"https://hooks.example.com/in\\r\\nX-Injected: 1\"}", "webhookUrl").SetName("A webhook URL with CR or LF is a 400");
        yield return new TestCaseData("{\"name\": \"a\", \"webhookUrl\": \"https://hooks.example.com/in\\tx\"}", "webhookUrl").SetName("A webhook URL with a tab is a 400");
        yield return new TestCaseData("{\"name\": \"a\", \"defaultContact\": {\"company\": \"x\"}}", "defaultContact.address1").SetName("An incomplete default contact is a 400");
        yield return new TestCaseData("{\"name\": \"a\", \"defaultCampaignDefaults\": {\"fromName\": \"x\", \"fromEmail\": \"nope\", \"subject\": \"s\", \"language\": \"en\"}}", "defaultCampaignDefaults.fromEmail").SetName("An invalid from email is a 400");
    }

    [TestCaseSource(nameof(InvalidTenants))]
    public async Task Invalid_tenant_input_is_refused_and_changes_nothing(string json, string errorKey)
    {
        var before = await CountTenantsAsync();

        var response = await _admin.PostAsync("/api/admin/tenants", new StringContent(json, Encoding.UTF8, "application/json"));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "validation");
        Assert.That(problem.GetProperty("errors").TryGetProperty(errorKey, out _), Is.True, problem.GetRawText());
        Assert.That(await CountTenantsAsync(), Is.EqualTo(before));
    }

    [Test]
    public async Task Invalid_update_is_refused_and_leaves_the_tenant_as_it_was()
    {
        var tenant = await _hub.CreateTenantAsync("Unchanged");
        var response = await _admin.PatchAsync($"/api/admin/tenants/{tenant.Id}",
            new StringContent("{\"name\": \"\", \"webhookUrl\": \"notaurl\"}", Encoding.UTF8, "application/json"));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "validation");
        Assert.That(problem.GetProperty("errors").EnumerateObject().Select(p => p.Name), Is.SupersetOf(new[] { "name", "webhookUrl" }));
        var read = await (await _admin.GetAsync($"/api/admin/tenants/{tenant.Id}")).JsonAsync();
        Assert.That(read.GetProperty("name").GetString(), Is.EqualTo("Unchanged"));
    }

    [Test]
    public async Task Body_over_one_mebibyte_is_413_and_creates_nothing()
    {
        var before = await CountTenantsAsync();
        var json = "{\"name\": \"big\", \"defaultPermissionReminder\": \"" + new string('x', 1024 * 1024 + 10) + "\"}";

        var response = await _admin.PostAsync("/api/admin/tenants", new StringContent(json, Encoding.UTF8, "application/json"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        Assert.That(await CountTenantsAsync(), Is.EqualTo(before));
    }

    [TestCase("GET", "/api/admin/tenants/tn_aaaaaaaaaaaaaaaaaaaa")]
    [TestCase("GET", "/api/admin/tenants/not-an-id")]
    [TestCase("PATCH", "/api/admin/tenants/tn_aaaaaaaaaaaaaaaaaaaa")]
    [TestCase("DELETE", "/api/admin/tenants/tn_aaaaaaaaaaaaaaaaaaaa")]
    [TestCase("POST", "/api/admin/tenants/tn_aaaaaaaaaaaaaaaaaaaa/keys")]
    [TestCase("GET", "/api/admin/tenants/tn_aaaaaaaaaaaaaaaaaaaa/keys")]
    [TestCase("POST", "/api/admin/tenants/tn_aaaaaaaaaaaaaaaaaaaa/disable")]
    public async Task Unknown_tenant_id_is_404(string method, string path)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = method is "PATCH" or "POST" ? JsonContent.Create(new { name = "x" }) : null,
        };
        await ProblemAssert.IsProblemAsync(await _admin.SendAsync(request), HttpStatusCode.NotFound, "tenant_not_found");
    }

    [Test]
    public async Task Unknown_route_and_wrong_method_are_problem_json()
    {
        await ProblemAssert.IsProblemAsync(await _admin.GetAsync("/api/admin/nothing-here"), HttpStatusCode.NotFound, "not_found");
        await ProblemAssert.IsProblemAsync(await _admin.PutAsync("/api/admin/tenants", JsonContent.Create(new { })), HttpStatusCode.MethodNotAllowed, "method_not_allowed");
    }

    [Test]
    public async Task Redis_holds_no_plaintext_secret_or_key_after_tenants_are_created()
    {
        var tenants = new List<TestTenant>();
        for (var i = 0; i < 3; i++)
        {
            tenants.Add(await _hub.CreateTenantAsync($"Secretive {i}", FullTenant($"Secretive {i}")));
        }

        var dump = await TestRedis.DumpAsync(_hub.Redis, _hub.Settings.KeyPrefix);
        Assert.Multiple(() =>
        {
            Assert.That(dump, Does.Not.Contain(_hub.Settings.AdminKey));
            foreach (var tenant in tenants)
            {
                Assert.That(dump, Does.Contain(tenant.Id), "the dump covers the tenants");
                Assert.That(dump, Does.Not.Contain(tenant.ApiKey[^43..]), "API key");
                Assert.That(dump, Does.Not.Contain(tenant.WebhookSigningSecret["whsec_".Length..]), "webhook signing secret");
            }

            foreach (var key in _hub.Settings.EncryptionKeys.Values)
            {
                Assert.That(dump, Does.Not.Contain(key), "encryption key");
            }
        });
    }

    [Test]
    public async Task Secret_values_never_reach_the_logs()
    {
        var tenant = await _hub.CreateTenantAsync("Logged");
        using var client = _hub.Client(tenant.ApiKey);
        await client.GetAsync("/api/v1/tenant");

        Assert.Multiple(() =>
        {
            Assert.That(_hub.Logs.All, Does.Not.Contain(tenant.ApiKey[^43..]));
            Assert.That(_hub.Logs.All, Does.Not.Contain(tenant.WebhookSigningSecret["whsec_".Length..]));
            Assert.That(_hub.Logs.All, Does.Not.Contain(_hub.Settings.AdminKey));
        });
    }

    [Test]
    public async Task Re_encrypt_reports_how_many_secrets_moved_to_the_new_active_key()
    {
        var settings = new HubHostSettings();
        int tenantsCreated;
        await using (var before = await HubHost.StartAsync(settings))
        {
            await before.CreateTenantAsync("One");
            await before.CreateTenantAsync("Two");
            tenantsCreated = 2;
        }

        var rotated = new HubHostSettings
        {
            KeyPrefix = settings.KeyPrefix,
            AdminKey = settings.AdminKey,
            EncryptionKeys = new() { ["k1"] = settings.EncryptionKeys["k1"], ["k2"] = HubHostSettings.NewKey() },
            ActiveKeyId = "k2",
        };
        await using var after = await HubHost.StartAsync(rotated);
        using var admin = after.Admin();

        var report = await (await admin.PostAsync("/api/admin/encryption/re-encrypt", null)).JsonAsync();
        var again = await (await admin.PostAsync("/api/admin/encryption/re-encrypt", null)).JsonAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(report.GetProperty("reEncrypted").GetInt32(), Is.EqualTo(tenantsCreated));
            Assert.That(report.GetProperty("activeKeyId").GetString(), Is.EqualTo("k2"));
            Assert.That(again.GetProperty("reEncrypted").GetInt32(), Is.Zero);
            Assert.That(await TestRedis.DumpAsync(after.Redis, rotated.KeyPrefix), Does.Not.Contain("enc:v1:k1:"));
        });
    }

    [Test]
    public async Task Tenant_rate_limit_answers_429_problem_with_retry_after()
    {
        await using var limited = await HubHost.StartAsync(new HubHostSettings
        {
            Configuration = { ["Hub:RateLimit:PermitsPerSecond"] = "1", ["Hub:RateLimit:Burst"] = "2" },
        });
        var tenant = await limited.CreateTenantAsync("Busy");
        var other = await limited.CreateTenantAsync("Quiet");
        using var client = limited.Client(tenant.ApiKey);
        using var otherClient = limited.Client(other.ApiKey);

        var responses = new List<HttpResponseMessage>();
        for (var i = 0; i < 4; i++)
        {
            responses.Add(await client.GetAsync("/api/v1/tenant"));
        }

        var rejected = responses.First(r => r.StatusCode == HttpStatusCode.TooManyRequests);
        await ProblemAssert.IsProblemAsync(rejected, HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.Multiple(async () =>
        {
            Assert.That(rejected.Headers.RetryAfter?.Delta?.TotalSeconds, Is.GreaterThanOrEqualTo(1));
            Assert.That((await otherClient.GetAsync("/api/v1/tenant")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "limits are per tenant");
        });
    }

    private async Task<long> CountTenantsAsync() =>
        (await (await _admin.GetAsync("/api/admin/tenants?limit=1")).JsonAsync()).GetProperty("total").GetInt64();
}

public class HostingTests
{
    [Test]
    public async Task Ready_probe_answers_200_when_redis_answers()
    {
        await using var hub = await HubHost.StartAsync();
        using var client = hub.Client();
        Assert.Multiple(async () =>
        {
            Assert.That((await client.GetAsync("/health/live")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That((await client.GetAsync("/health/ready")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }

    [Test]
    public async Task Ready_probe_answers_503_when_redis_is_gone()
    {
        await using var hub = await HubHost.StartAsync(new HubHostSettings
        {
            Configuration = { ["Hub:Redis:ConnectionString"] = "127.0.0.1:1,connectTimeout=200" },
            WaitUntilReady = false,
        });
        using var client = hub.Client();
        Assert.Multiple(async () =>
        {
            Assert.That((await client.GetAsync("/health/live")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That((await client.GetAsync("/health/ready")).StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        });
    }

    [Test]
    public async Task Embedded_store_serves_ready_with_no_redis_configured()
    {
        await using var hub = await HubHost.StartAsync(new HubHostSettings { UseEmbeddedStore = true, Environment = "Development" });
        using var client = hub.Client();
        Assert.That((await client.GetAsync("/health/ready")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(hub.Logs.All, Does.Contain("EMBEDDED Garnet store"));
    }

    [Test]
    public async Task Embedded_store_serves_tenants_keys_and_jobs_in_development()
    {
        // The host's own job worker is off, so this test's claim is the only one.
        await using var hub = await HubHost.StartAsync(new HubHostSettings
        {
            UseEmbeddedStore = true,
            Environment = "Development",
            Configuration = { ["Hub:Jobs:WorkerEnabled"] = "false" },
        });
        var tenant = await hub.CreateTenantAsync("Embedded");
        using var client = hub.Client(tenant.ApiKey);
        var own = await client.GetAsync("/api/v1/tenant");
        Assert.That(own.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        // The job store on the host's embedded connection.
        var jobs = new JobStore(hub.Redis, hub.Services.GetRequiredService<RedisKeys>(), Options.Create(new JobsOptions()), TimeProvider.System, [], NullLogger<JobStore>.Instance);
        var tenantId = TenantId.Parse(tenant.Id);
        var (queued, _) = await jobs.EnqueueAsync(new JobRequest(tenantId, "test.kind", "list-1"), default);
        var lease = await jobs.ClaimAsync(default);
        Assert.That(lease?.JobId, Is.EqualTo(queued.Id));
        await jobs.AddCountsAsync(lease!, new JobCounts(Total: 1, Added: 1), default);
        var finished = await jobs.FinishAsync(lease!, JobOutcome.Succeeded, default);

        Assert.Multiple(async () =>
        {
            Assert.That((await own.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString(), Is.EqualTo(tenant.Id));
            Assert.That(finished?.State, Is.EqualTo(JobState.Succeeded));
            Assert.That(finished?.Counts, Is.EqualTo(new JobCounts(Total: 1, Added: 1)));
            Assert.That(await jobs.QueueDepthAsync(default), Is.Zero);
            Assert.That(hub.Logs.All, Does.Contain("EMBEDDED Garnet store"));
        });
    }

    [TestCase("Hub:Encryption:Keys", "Hub:Encryption:Keys is empty")]
    [TestCase("Hub:Admin:ApiKey", "Hub:Admin:ApiKey must be set")]
    public void Outside_development_missing_keys_stop_start_up_naming_the_setting(string missing, string message)
    {
        var settings = new HubHostSettings
        {
            Environment = "Production",
            EncryptionKeys = missing == "Hub:Encryption:Keys" ? [] : new() { ["k1"] = HubHostSettings.NewKey() },
            ActiveKeyId = missing == "Hub:Encryption:Keys" ? "" : "k1",
            AdminKey = missing == "Hub:Admin:ApiKey" ? "" : "x".PadRight(40, 'x'),
        };
        Assert.That(async () => await HubHost.StartAsync(settings),
            Throws.InstanceOf<Microsoft.Extensions.Options.OptionsValidationException>().With.Message.Contains(message));
    }

    [Test]
    public void An_api_base_template_without_dc_stops_start_up_naming_the_key()
    {
        var settings = new HubHostSettings { Configuration = new() { ["Hub:Mailchimp:ApiBaseTemplate"] = "https://api.example.com/3.0" } };
        Assert.That(async () => await HubHost.StartAsync(settings),
            Throws.InstanceOf<Microsoft.Extensions.Options.OptionsValidationException>().With.Message.Contains("Hub:Mailchimp:ApiBaseTemplate must be an http(s) URL containing {dc}"));
    }

    [Test]
    public async Task Swagger_documents_every_route_with_its_auth_scheme()
    {
        await using var hub = await HubHost.StartAsync();
        using var client = hub.Client();
        var document = await (await client.GetAsync("/swagger/v1/swagger.json")).JsonAsync();
        var paths = document.GetProperty("paths");
        var schemes = document.GetProperty("components").GetProperty("securitySchemes");

        Assert.Multiple(() =>
        {
            Assert.That(schemes.TryGetProperty("AdminKey", out _), Is.True);
            Assert.That(schemes.TryGetProperty("TenantKey", out _), Is.True);
            foreach (var path in new[] { "/api/admin/tenants", "/api/admin/tenants/{tenantId}", "/api/admin/tenants/{tenantId}/keys", "/api/admin/encryption/re-encrypt", "/api/v1/tenant" })
            {
                Assert.That(paths.TryGetProperty(path, out _), Is.True, path);
            }

            foreach (var path in paths.EnumerateObject().Where(path => path.Name.StartsWith("/api/", StringComparison.Ordinal)))
            {
                foreach (var operation in path.Value.EnumerateObject())
                {
                    Assert.That(operation.Value.TryGetProperty("security", out _), Is.True, $"{operation.Name} {path.Name} names its auth scheme");
                    Assert.That(operation.Value.GetProperty("responses").TryGetProperty("401", out _), Is.True, $"{operation.Name} {path.Name} documents 401");
                }
            }
        });
    }
}
