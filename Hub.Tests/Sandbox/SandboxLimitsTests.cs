using System.Net;
using System.Net.Http.Json;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Sandbox;

public sealed class SandboxLimitsTests
{
    [Test]
    public async Task Eleventh_concurrent_request_of_an_account_gets_429_and_max_concurrency_is_ten()
    {
        await using var host = await SandboxHost.StartAsync();
        var key = await host.CreateAccountAsync("Busy Shop");
        await host.SetLatencyAsync(TimeSpan.FromMilliseconds(300));
        using var client = host.Marketing(key);

        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => client.GetAsync("ping")));
        var statuses = responses.Select(r => r.StatusCode).ToList();
        Assert.That(statuses, Has.Some.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(statuses, Has.Some.EqualTo(HttpStatusCode.OK));
        var throttled = responses.First(r => r.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.That((await throttled.JsonAsync())["title"]!.GetValue<string>(), Is.EqualTo("Too Many Requests"));
        Assert.That(throttled.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/problem+json"));

        var counters = await host.GetCountersAsync();
        Assert.That(counters.MaxConcurrent[key.AccountId], Is.EqualTo(10));
        Assert.That(counters.Calls["GET ping"], Is.EqualTo(30));
        Assert.That(counters.Statuses["429"], Is.EqualTo(statuses.Count(s => s == HttpStatusCode.TooManyRequests)));
    }

    [Test]
    public async Task Concurrency_limit_is_per_account_and_configurable()
    {
        await using var host = await SandboxHost.StartAsync(o => o.MaxConcurrentRequestsPerAccount = 3);
        var first = await host.CreateAccountAsync("First");
        var second = await host.CreateAccountAsync("Second");
        await host.SetLatencyAsync(TimeSpan.FromMilliseconds(300));
        using var a = host.Marketing(first);
        using var b = host.Marketing(second);

        var responses = await Task.WhenAll(Enumerable.Range(0, 3).SelectMany(_ => new[] { a.GetAsync("ping"), b.GetAsync("ping") }));
        Assert.That(responses.Select(r => r.StatusCode), Is.All.EqualTo(HttpStatusCode.OK));
        await host.SetAccountLimitsAsync(first.AccountId, maxConcurrentRequests: 1);
        var limited = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => a.GetAsync("ping")));
        Assert.That(limited.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests), Is.EqualTo(2));
    }

    [Test]
    public async Task Per_member_latency_slows_batch_calls()
    {
        await using var host = await SandboxHost.StartAsync();
        var (_, client, listId) = await host.NewAudienceAsync();
        await host.SetLatencyAsync(TimeSpan.Zero, TimeSpan.FromMilliseconds(20));
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var response = await client.PostAsJsonAsync($"lists/{listId}", new { members = Enumerable.Range(0, 20).Select(i => SandboxTestKit.Member($"l{i}@shop.test")).ToArray() });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(started.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(380)));
    }

    [Test]
    public async Task Latency_is_the_answer_time_per_call_plus_per_member()
    {
        await using var host = await SandboxHost.StartAsync();
        var (_, client, listId) = await host.NewAudienceAsync();
        var members = Enumerable.Range(0, 500).Select(i => SandboxTestKit.Member($"w{i}@shop.test")).ToArray();
        await client.PostAsJsonAsync($"lists/{listId}", new { members }); // warm up: the first call pays for JIT

        // 500 ms per call + 500 x 1 ms: one second in all; the sandbox's own work for 500 members happens inside it.
        await host.SetLatencyAsync(TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(1));
        var timings = new List<TimeSpan>();
        for (var i = 0; i < 3; i++)
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            using var response = await client.PostAsJsonAsync($"lists/{listId}", new { members, update_existing = true });
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            timings.Add(started.Elapsed);
        }

        Assert.That(timings, Is.All.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(995)));
        Assert.That(timings.Min(), Is.LessThan(TimeSpan.FromMilliseconds(1_150)), "the latency is the answer's time, not added to the sandbox's own work");
    }

    [TestCase("429", HttpStatusCode.TooManyRequests)]
    [TestCase("500", HttpStatusCode.InternalServerError)]
    public async Task Injected_faults_hit_only_their_route_and_count(string kind, HttpStatusCode expected)
    {
        await using var host = await SandboxHost.StartAsync();
        var (_, client, listId) = await host.NewAudienceAsync();
        await host.InjectFaultAsync("PUT members", kind, share: 1, times: 2);
        var path = $"lists/{listId}/members/{SandboxTestKit.Hash("f@shop.test")}";
        var body = new { email_address = "f@shop.test", status_if_new = "subscribed" };

        Assert.That((await client.PutAsJsonAsync(path, body)).StatusCode, Is.EqualTo(expected));
        Assert.That((await client.GetAsync($"lists/{listId}")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await client.PutAsJsonAsync(path, body)).StatusCode, Is.EqualTo(expected));
        Assert.That((await client.PutAsJsonAsync(path, body)).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var counters = await host.GetCountersAsync();
        Assert.That(counters.FaultsInjected, Is.EqualTo(2));
        Assert.That(counters.RouteStatuses[$"PUT member {(int)expected}"], Is.EqualTo(2));
        Assert.That(counters.MembersCreated, Is.EqualTo(1));
    }

    [Test]
    public async Task Fault_share_zero_never_fires_and_pattern_routes_match()
    {
        await using var host = await SandboxHost.StartAsync();
        var (_, client, listId) = await host.NewAudienceAsync();
        await host.InjectFaultAsync("GET /lists/{list_id}", "500", share: 0);
        Assert.That((await client.GetAsync($"lists/{listId}")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await host.ClearFaultsAsync();
        await host.InjectFaultAsync("GET /lists/{list_id}", "500");
        Assert.That((await client.GetAsync($"lists/{listId}")).StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        Assert.That((await client.GetAsync("ping")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Hang_fault_holds_the_call_past_the_client_timeout_and_frees_the_slot()
    {
        await using var host = await SandboxHost.StartAsync();
        var (key, _, listId) = await host.NewAudienceAsync();
        await host.InjectFaultAsync("POST batch", "hang", times: 1);
        using var impatient = host.Marketing(key);
        impatient.Timeout = TimeSpan.FromMilliseconds(500);
        Assert.That(async () => await impatient.PostAsJsonAsync($"lists/{listId}", new { members = Array.Empty<object>() }), Throws.InstanceOf<TaskCanceledException>());

        using var client = host.Marketing(key);
        Assert.That(async () =>
        {
            for (var i = 0; i < 50 && host.State.GetCounters().Statuses.GetValueOrDefault("499") == 0; i++) await Task.Delay(50);
            return host.State.GetCounters().Statuses.GetValueOrDefault("499");
        }, Is.EqualTo(1));
        Assert.That((await client.GetAsync("ping")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Counters_reset_to_zero()
    {
        await using var host = await SandboxHost.StartAsync();
        using var client = host.Marketing(host.DefaultApiKey);
        await client.GetAsync("ping");
        Assert.That((await host.GetCountersAsync()).Calls["GET ping"], Is.EqualTo(1));
        await host.ResetCountersAsync();
        var counters = await host.GetCountersAsync();
        Assert.That(counters.Calls, Is.Empty);
        Assert.That(counters.MembersWritten, Is.Zero);
    }

    [Test]
    public async Task Sandbox_works_under_a_prefix_with_the_seeded_account()
    {
        await using var host = await SandboxHost.StartAsync(prefix: "/sandbox");
        Assert.That(host.BaseUrl.AbsolutePath, Is.EqualTo("/sandbox/"));
        using var client = host.Marketing(host.DefaultApiKey);
        var root = await (await client.GetAsync("")).JsonAsync();
        Assert.That(root["account_name"]!.GetValue<string>(), Is.EqualTo("Sandbox Shop"));
        using var raw = new HttpClient { BaseAddress = host.BaseUrl };
        Assert.That((await raw.GetAsync("_control/accounts")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var outside = new Uri(host.BaseUrl, "/_control/accounts");
        Assert.That((await raw.GetAsync(outside)).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }
}
