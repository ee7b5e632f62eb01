using System.Net;
using System.Net.Http.Json;
using Hub.Core.Lists;
using Hub.Core.Mailchimp;
using Hub.Core.Members;
using Hub.Core.Tenants;
using Hub.Core.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Hub.Tests.Infrastructure;
using StackExchange.Redis;

namespace Hub.Tests.Lists;

/// <summary>The per-account cap across replicas, retries on Mailchimp faults, and a key revoked mid-use.</summary>
[TestFixture]
public sealed class MemberResilienceTests() : EnvironmentFixture<FacadeEnvironment>(() => FacadeEnvironment.StartAsync())
{
    [TearDown]
    public Task ClearSandboxAsync() => _env.Sandbox.ClearFaultsAndLatencyAsync();

    [Test]
    public async Task Fifty_parallel_upserts_through_two_replicas_stay_under_the_per_account_cap()
    {
        await using var replica = await _env.Hub.StartReplicaAsync();
        using var tenant = await _env.CreateTenantAsync();
        var list = await FacadeEnvironment.LinkListAsync(tenant, "busy");
        var audienceId = list.GetProperty("audienceId").GetString()!;
        // The sandbox would answer 429 beyond 10; raise it so only Hub's cap can keep the count down.
        await _env.Sandbox.SetAccountLimitsAsync(tenant.Mailchimp.AccountId, maxConcurrentRequests: 100);
        await _env.Sandbox.SetLatencyAsync(TimeSpan.FromMilliseconds(100));
        await _env.Sandbox.ResetCountersAsync();

        using var second = replica.Client(tenant.Tenant.ApiKey);
        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
        {
            var client = i % 2 == 0 ? tenant.Client : second;
            using var response = await client.PostAsJsonAsync("/api/v1/lists/busy/members", new { email = $"m{i}@shop.test" });
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }));

        Assert.That(responses.Where(response => response.StatusCode != HttpStatusCode.OK).Select(response => response.Body), Is.Empty);
        var counters = await _env.Sandbox.GetCountersAsync();
        Assert.Multiple(() =>
        {
            Assert.That(counters.MaxConcurrent[tenant.Mailchimp.AccountId], Is.InRange(2, 8), "Hub:Mailchimp:MaxConcurrentCallsPerAccount defaults to 8");
            Assert.That(counters.Throttled, Is.Zero);
        });
        Assert.That((await _env.Sandbox.GetMembersAsync(audienceId)).Count(member => member.Status == "subscribed"), Is.EqualTo(50));
    }

    [Test]
    public async Task Requests_leave_no_concurrency_slot_taken_whether_they_call_Mailchimp_fail_first_or_follow_a_new_account()
    {
        using var tenant = await _env.CreateTenantAsync();
        await FacadeEnvironment.LinkListAsync(tenant, "slots");
        var slots = (RedisKey)$"{_env.Hub.Settings.KeyPrefix}mailchimp:concurrency:{tenant.Mailchimp.Dc}:{tenant.Mailchimp.AccountId}";

        // Each request takes a slot of the account it used last while reading its list and credential.
        await FacadeEnvironment.UpsertAsync(tenant, "slots", new { email = "ann@shop.test" });
        Assert.That((await tenant.Client.GetAsync("/api/v1/lists/slots/members/ann@shop.test")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using (var missing = await tenant.Client.PostAsJsonAsync("/api/v1/lists/nope/members", new { email = "bob@shop.test" }))
        {
            await ProblemAssert.IsProblemAsync(missing, HttpStatusCode.NotFound, "list_not_found");
        }

        await WaitForNoHoldersAsync(slots);

        // The tenant moves to another Mailchimp account: the slot taken for the old one is given back.
        var other = await _env.Sandbox.CreateAccountAsync("Other shop", "us21");
        using (var moved = await tenant.Client.PutAsJsonAsync("/api/v1/connection/api-key", new { apiKey = other.Secret }))
        {
            Assert.That(moved.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        using (await tenant.Client.GetAsync("/api/v1/lists/slots/members/ann@shop.test"))
        {
        }

        await WaitForNoHoldersAsync(slots);
        await WaitForNoHoldersAsync($"{_env.Hub.Settings.KeyPrefix}mailchimp:concurrency:{other.Dc}:{other.AccountId}");
    }

    /// <summary>A slot is given back just after the answer is read, so this waits a moment for it.</summary>
    private static async Task WaitForNoHoldersAsync(RedisKey slots)
    {
        var redis = await TestRedis.ConnectAsync();
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (await redis.GetDatabase().SortedSetLengthAsync(slots) > 0)
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"{slots} still has holders");
            await Task.Delay(10);
        }
    }

    [TestCase("429")]
    [TestCase("500")]
    public async Task An_upsert_converges_through_injected_faults(string kind)
    {
        using var tenant = await _env.CreateTenantAsync();
        var list = await FacadeEnvironment.LinkListAsync(tenant, "flaky");
        var audienceId = list.GetProperty("audienceId").GetString()!;
        // The create-only POST for a new address is not retried; updating a member Hub added is a PUT, which is.
        await FacadeEnvironment.UpsertAsync(tenant, "flaky", new { email = "ann@shop.test", mergeFields = new { FNAME = "First" } });
        await _env.Sandbox.InjectFaultAsync("PUT member", kind, times: 2);

        var member = await FacadeEnvironment.UpsertAsync(tenant, "flaky", new { email = "ann@shop.test", mergeFields = new { FNAME = "Ann" } });
        Assert.That(member.GetProperty("status").GetString(), Is.EqualTo("subscribed"));
        var counters = await _env.Sandbox.GetCountersAsync();
        Assert.That(counters.RouteStatuses.GetValueOrDefault($"PUT member {kind}"), Is.GreaterThanOrEqualTo(2));
        var stored = await _env.SandboxMemberAsync(audienceId, "ann@shop.test");
        Assert.That(stored!.MergeFields["FNAME"]!.GetValue<string>(), Is.EqualTo("Ann"));
        Assert.That((await _env.Sandbox.GetMembersAsync(audienceId)), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task A_contact_Hub_created_but_could_not_tag_stays_Hubs_and_is_written_again()
    {
        using var tenant = await _env.CreateTenantAsync();
        await FacadeEnvironment.LinkListAsync(tenant, "tagless");
        var ledger = _env.Hub.Services.GetRequiredService<MemberLedger>();
        var (tenantId, list, hash) = (TenantId.Parse(tenant.Id), ListKey.Parse("tagless", null), SubscriberHash.FromEmail("ann@shop.test").Value);
        await _env.Sandbox.InjectFaultAsync("POST tags", "500");
        using (var untagged = await tenant.Client.PostAsJsonAsync("/api/v1/lists/tagless/members", new { email = "ann@shop.test", tags = new[] { "vip" } }))
        {
            Assert.That(untagged.IsSuccessStatusCode, Is.False, "the tags were not written");
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await ledger.GetFingerprintAsync(tenantId, list, hash, default), Is.EqualTo(MemberService.TagsPending), "recorded as written without its tags");
            Assert.That(await ledger.IsHubAddedAsync(tenantId, list, hash, default), Is.True, "Hub created the contact");
        });

        await _env.Sandbox.ClearFaultsAsync();
        await FacadeEnvironment.UpsertAsync(tenant, "tagless", new { email = "ann@shop.test", tags = new[] { "vip" } });
        Assert.Multiple(async () =>
        {
            Assert.That(await ledger.GetFingerprintAsync(tenantId, list, hash, default), Is.Not.EqualTo(MemberService.TagsPending).And.Not.Null, "written again, with its tags");
            Assert.That(await ledger.IsHubAddedAsync(tenantId, list, hash, default), Is.True, "still one Hub created (it may remove it)");
        });
    }

    [Test]
    public async Task Faults_that_outlast_the_retries_are_a_503_and_the_ledger_records_nothing()
    {
        using var tenant = await _env.CreateTenantAsync();
        await FacadeEnvironment.LinkListAsync(tenant, "down");
        await _env.Sandbox.InjectFaultAsync("POST member", "500");
        using var response = await tenant.Client.PostAsJsonAsync("/api/v1/lists/down/members", new { email = "ann@shop.test" });
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable, "mailchimp_unavailable");
        var read = await tenant.Client.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/v1/lists/down");
        Assert.That(read.GetProperty("memberCount").GetInt64(), Is.Zero);
    }

    [Test]
    public async Task A_key_revoked_mid_use_asks_for_reauthorization_and_sends_one_webhook()
    {
        using var tenant = await _env.CreateTenantAsync();
        await FacadeEnvironment.LinkListAsync(tenant, "revoked");
        await FacadeEnvironment.UpsertAsync(tenant, "revoked", new { email = "ann@shop.test" });
        await _env.Sandbox.RevokeAsync(tenant.Mailchimp.Secret);

        using var first = await tenant.Client.PostAsJsonAsync("/api/v1/lists/revoked/members", new { email = "bob@shop.test" });
        await ProblemAssert.IsProblemAsync(first, HttpStatusCode.Conflict, "reauthorization_required");
        var before = await _env.MarketingCallsAsync();
        using var second = await tenant.Client.GetAsync("/api/v1/lists/revoked/members");
        await ProblemAssert.IsProblemAsync(second, HttpStatusCode.Conflict, "reauthorization_required");
        Assert.That(await _env.MarketingCallsAsync(), Is.EqualTo(before), "a connection known to be revoked is not tried again");

        var connection = await tenant.Client.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/v1/connection");
        Assert.That(connection.GetProperty("state").GetString(), Is.EqualTo("reauthorization_required"));
        await _env.Receiver.WaitForAsync(WebhookEvents.ConnectionRevoked);
        await Task.Delay(500);
        Assert.That(_env.Receiver.Received.Count(hook => hook.EventType == WebhookEvents.ConnectionRevoked && hook.Body.Contains(tenant.Id, StringComparison.Ordinal)),
            Is.EqualTo(1));
    }
}
