using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Hosting;

/// <summary>
/// Honest answers during a store outage: while Redis cannot be reached every route answers 503
/// <c>store_unavailable</c> with Retry-After (never 500, never 401), and answers normally once it is back.
/// </summary>
public sealed class StoreOutageTests
{
    /// <summary>Short timeouts, so a request to an unreachable store fails within about a second.</summary>
    private const string FastTimeouts = "connectTimeout=500,syncTimeout=1000,asyncTimeout=1000";

    /// <summary>
    /// For a test that sets up on a live store first: a first write (or one fsynced to disk) can take over a second on 2
    /// busy cores, so the set-up gets 3 s; a request to the store once it is down or refusing still fails within them.
    /// </summary>
    private const string LiveStoreTimeouts = "connectTimeout=500,syncTimeout=3000,asyncTimeout=3000";

    private const string Email = "ann@customer.example";

    [Test]
    public async Task Every_route_answers_503_store_unavailable_while_the_store_cannot_be_reached()
    {
        await using var host = await HubHost.StartAsync(new HubHostSettings
        {
            Configuration = { ["Hub:Redis:ConnectionString"] = $"127.0.0.1:{HubHostSettings.FreePort()},{FastTimeouts}" },
            WaitUntilReady = false,
        });
        using var admin = host.Admin();
        using var tenant = host.Client("hub_" + Guid.NewGuid().ToString("N")[..10] + "_" + Convert.ToHexString(Guid.NewGuid().ToByteArray()));
        using var browser = host.Client();

        var requests = new (string Name, HttpClient Client, Func<HttpRequestMessage> Request)[]
        {
            ("admin list tenants", admin, () => new(HttpMethod.Get, "/api/admin/tenants")),
            ("admin create tenant", admin, () => new(HttpMethod.Post, "/api/admin/tenants") { Content = JsonContent.Create(new { name = "Acme" }) }),
            ("own tenant", tenant, () => new(HttpMethod.Get, "/api/v1/tenant")),
            ("job", tenant, () => new(HttpMethod.Get, "/api/v1/jobs/" + JobId.New())),
            ("lists", tenant, () => new(HttpMethod.Get, "/api/v1/lists")),
            ("upsert member", tenant, () => new(HttpMethod.Post, "/api/v1/lists/newsletter/members?note=" + Email) { Content = JsonContent.Create(new { email = Email }) }),
            ("get member", tenant, () => new(HttpMethod.Get, $"/api/v1/lists/newsletter/members/{Email}")),
            ("mirror members", tenant, () => new(HttpMethod.Put, "/api/v1/lists/newsletter/members") { Content = new StringContent($"[{{\"email\":\"{Email}\"}}]", Encoding.UTF8, "application/json") }),
            ("connection", tenant, () => new(HttpMethod.Get, "/api/v1/connection")),
            ("create audience", tenant, () => new(HttpMethod.Post, "/api/v1/audiences") { Content = JsonContent.Create(new { name = "Acme customers" }) }),
            ("passthrough", tenant, () => new(HttpMethod.Get, "/api/v1/mailchimp/lists")),
            ("webhook deliveries", tenant, () => new(HttpMethod.Get, "/api/v1/webhooks/deliveries")),
            ("consent link", browser, () => new(HttpMethod.Get, "/oauth2/authorize?session=x")),
            ("consent return", browser, () => new(HttpMethod.Get, "/oauth2/proxy?code=c&state=s")),
        };

        var clock = Stopwatch.StartNew();
        var answers = await Task.WhenAll(requests.Select(request => request.Client.SendAsync(request.Request())));
        TestContext.Out.WriteLine($"{requests.Length} requests answered in {clock.ElapsedMilliseconds} ms");
        for (var i = 0; i < requests.Length; i++)
        {
            await AssertStoreUnavailableAsync(answers[i], requests[i].Name);
        }

        var warnings = host.Logs.Lines.Where(line => line.StartsWith("Warning", StringComparison.Ordinal) && line.Contains("store_unavailable", StringComparison.Ordinal)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(warnings, Has.Count.EqualTo(requests.Length), "one warning per request:\n" + string.Join("\n", warnings));
            Assert.That(host.Logs.All, Does.Not.Contain(Email), "neither the path nor the query string nor the body is logged");
            Assert.That(host.Logs.Lines.Where(line => line.StartsWith("Error", StringComparison.Ordinal) && line.Contains("Microsoft.AspNetCore", StringComparison.Ordinal)), Is.Empty,
                "a store fault is not logged as an unhandled exception");
        });
    }

    [Test]
    public async Task Browser_pages_answer_a_503_page_and_the_readiness_probe_503()
    {
        await using var host = await HubHost.StartAsync(new HubHostSettings
        {
            Configuration = { ["Hub:Redis:ConnectionString"] = $"127.0.0.1:{HubHostSettings.FreePort()},{FastTimeouts}" },
            WaitUntilReady = false,
        });
        using var browser = host.Client();
        browser.DefaultRequestHeaders.Accept.ParseAdd("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
        browser.DefaultRequestHeaders.AcceptLanguage.ParseAdd("nl-NL,nl;q=0.9");

        using var page = await browser.GetAsync("/oauth2/authorize?session=x");
        var html = await page.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), html);
            Assert.That(page.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
            Assert.That(page.Headers.RetryAfter?.Delta, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(1)));
            Assert.That(page.Headers.CacheControl?.NoStore, Is.True);
            Assert.That(html, Does.Contain("<html lang=\"nl\">").And.Contain("store_unavailable"));
            Assert.That(html, Does.Not.Contain("   at "));
        });

        using var ready = await browser.GetAsync("/health/ready");
        Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        using var live = await browser.GetAsync("/health/live");
        Assert.That(live.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the process itself is alive");
    }

    [Test]
    public async Task Requests_answer_503_while_the_store_is_down_and_succeed_again_once_it_is_back()
    {
        // Its append-only file is fsynced on every write, so the data survives the kill.
        await using var redis = await RedisProcess.StartAsync("--appendfsync", "always");
        await using var host = await HubHost.StartAsync(new HubHostSettings
        {
            Configuration = { ["Hub:Redis:ConnectionString"] = $"{redis.Endpoint},{LiveStoreTimeouts}" },
        });
        var created = await host.CreateTenantAsync();
        using var tenant = host.Client(created.ApiKey);
        using var admin = host.Admin();
        var jobPath = "/api/v1/jobs/" + JobId.New();
        Func<HttpRequestMessage> upsert = () => new(HttpMethod.Post, "/api/v1/lists/newsletter/members") { Content = JsonContent.Create(new { email = Email }) };

        Assert.That((await tenant.GetAsync(jobPath)).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await tenant.SendAsync(upsert())).StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "no such list yet");

        await redis.KillAsync();

        await AssertStoreUnavailableAsync(await tenant.GetAsync(jobPath), "job");
        await AssertStoreUnavailableAsync(await tenant.SendAsync(upsert()), "upsert member");
        await AssertStoreUnavailableAsync(await tenant.GetAsync("/api/v1/tenant"), "own tenant");
        await AssertStoreUnavailableAsync(await admin.GetAsync("/api/admin/tenants"), "admin list tenants");

        await redis.RestartAsync();
        var deadline = Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            status = (await tenant.GetAsync(jobPath)).StatusCode;
        }
        while (status == HttpStatusCode.ServiceUnavailable && deadline.Elapsed < TimeSpan.FromSeconds(10));

        Assert.That(status, Is.EqualTo(HttpStatusCode.NotFound), "the job route answers again once the store is back");
        using var member = await tenant.SendAsync(upsert());
        await ProblemAssert.IsProblemAsync(member, HttpStatusCode.NotFound, "list_not_found");
        Assert.That((await admin.GetAsync("/api/admin/tenants")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await tenant.GetAsync("/api/v1/tenant")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Writes_answer_503_while_the_store_refuses_them_and_reads_still_work()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var host = await HubHost.StartAsync(new HubHostSettings
        {
            Configuration = { ["Hub:Redis:ConnectionString"] = $"{redis.Endpoint},{LiveStoreTimeouts}" },
        });
        var created = await host.CreateTenantAsync();
        using var tenant = host.Client(created.ApiKey);
        using var admin = host.Admin();
        var oauthApp = new { clientId = "client", clientSecret = "secret" };
        await using var control = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"{redis.Endpoint},allowAdmin=true");
        var server = control.GetServer(control.GetEndPoints()[0]);

        // A failover in progress: the server turned replica (of a primary that does not answer) serves reads and refuses writes.
        await server.ReplicaOfAsync(new IPEndPoint(IPAddress.Loopback, HubHostSettings.FreePort()));
        Assert.That((await tenant.GetAsync("/api/v1/connection")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "reads are served");
        await AssertStoreUnavailableAsync(await tenant.PutAsJsonAsync("/api/v1/connection/oauth-app", oauthApp), "set OAuth app");
        await AssertStoreUnavailableAsync(await admin.PostAsJsonAsync("/api/admin/tenants", new { name = "Acme" }), "admin create tenant");

        await server.ExecuteAsync("REPLICAOF", "NO", "ONE");
        var deadline = Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            using var answer = await tenant.PutAsJsonAsync("/api/v1/connection/oauth-app", oauthApp);
            status = answer.StatusCode;
        }
        while (status == HttpStatusCode.ServiceUnavailable && deadline.Elapsed < TimeSpan.FromSeconds(10));

        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), "writes succeed once the store is primary again");
    }

    private static async Task AssertStoreUnavailableAsync(HttpResponseMessage response, string name)
    {
        using (response)
        {
            var body = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable, "store_unavailable");
            Assert.Multiple(() =>
            {
                Assert.That(response.Headers.RetryAfter?.Delta, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(1)), name + ": Retry-After");
                Assert.That(body.GetProperty("detail").GetString(), Is.Not.Empty, name + ": detail");
            });
        }
    }
}
