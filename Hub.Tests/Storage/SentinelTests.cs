using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Hub.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace Hub.Tests.Storage;

/// <summary>
/// Hub on a Redis Sentinel deployment (<c>serviceName=</c> in <c>Hub:Redis:ConnectionString</c>): it
/// connects through the sentinels to the primary and follows it to the other node on a failover.
/// </summary>
[TestFixture]
public sealed class SentinelTests
{
    private static readonly TimeSpan RecoveryLimit = TimeSpan.FromSeconds(15);

    [Test]
    public async Task Hub_connects_through_the_sentinels_and_follows_a_manual_failover()
    {
        await using var topology = await SentinelTopology.StartAsync();
        await using var hub = await StartHubAsync(topology);
        var before = await hub.CreateTenantAsync("Before the failover");
        Assert.That(await topology.Primary.SendAsync("EXISTS", TenantKey(hub, before.Id)), Is.EqualTo(1L), "Hub writes to the primary the sentinels name");
        await WaitForReplicaAsync(topology, TenantKey(hub, before.Id));

        await topology.FailoverAsync();
        await CreateTenantWithinAsync(hub, RecoveryLimit);

        // Until Sentinel turns the old primary into a replica (some 10 s later) it still accepts writes,
        // and Hub may write there (see docs/configuration.md, Redis Sentinel: those writes are lost). Once it has, Hub writes to the new one.
        await topology.WaitUntilReplicatingAsync();
        var after = await CreateTenantWithinAsync(hub, RecoveryLimit);
        await AssertServedFromTheNewPrimaryAsync(hub, topology, before, after);
    }

    [Test]
    public async Task Hub_follows_the_sentinels_when_the_primary_is_killed()
    {
        await using var topology = await SentinelTopology.StartAsync();
        await using var hub = await StartHubAsync(topology);
        var before = await hub.CreateTenantAsync("Before the crash");
        // A write reaches the replica asynchronously: wait for it, so this test is about Hub following
        // the new primary, not about replication lag.
        await WaitForReplicaAsync(topology, TenantKey(hub, before.Id));

        await topology.KillPrimaryAsync();

        var after = await CreateTenantWithinAsync(hub, RecoveryLimit);
        await AssertServedFromTheNewPrimaryAsync(hub, topology, before, after);
    }

    [Test]
    public void Hub_does_not_start_when_no_sentinel_answers()
    {
        var nobody = HubHostSettings.FreePort();
        var refused = Assert.CatchAsync(() => HubHost.StartAsync(new HubHostSettings
        {
            Configuration = new() { ["Hub:Redis:ConnectionString"] = $"127.0.0.1:{nobody},serviceName={SentinelTopology.ServiceName},connectTimeout=1000" },
        }));
        Assert.That(refused!.ToString(), Does.Contain("Hub:Redis:ConnectionString names the Sentinel service"));
    }

    private static Task<HubHost> StartHubAsync(SentinelTopology topology) =>
        HubHost.StartAsync(new HubHostSettings { Configuration = new() { ["Hub:Redis:ConnectionString"] = topology.ConnectionString } });

    private static string TenantKey(HubHost hub, string tenantId) =>
        new RedisKeys(Options.Create(new StorageOptions { KeyPrefix = hub.Settings.KeyPrefix })).Tenant(TenantId.Parse(tenantId))!;

    /// <summary>Creates a tenant through the admin API, retrying until it succeeds; fails after <paramref name="limit"/>. Returns its id.</summary>
    private static async Task<string> CreateTenantWithinAsync(HubHost hub, TimeSpan limit)
    {
        using var admin = hub.Admin();
        var clock = Stopwatch.StartNew();
        var failures = new List<string>();
        while (clock.Elapsed < limit)
        {
            try
            {
                using var created = await admin.PostAsJsonAsync("/api/admin/tenants", new { name = "After the failover" });
                if (created.StatusCode == HttpStatusCode.Created)
                {
                    TestContext.Out.WriteLine($"An admin write succeeded after {clock.Elapsed.TotalSeconds:F1} s; failed before: [{string.Join(", ", failures)}]");
                    return (await created.JsonAsync()).GetProperty("tenant").GetProperty("id").GetString()!;
                }

                failures.Add($"{clock.Elapsed.TotalSeconds:F1} s: {(int)created.StatusCode}");
            }
            catch (HttpRequestException exception)
            {
                failures.Add($"{clock.Elapsed.TotalSeconds:F1} s: {exception.Message}");
            }

            await Task.Delay(200);
        }

        Assert.Fail($"No admin write succeeded within {limit.TotalSeconds} s: {string.Join(", ", failures)}");
        return "";
    }

    /// <summary>The new write is on the new primary, and what was written before the failover still reads and authenticates.</summary>
    private static async Task AssertServedFromTheNewPrimaryAsync(HubHost hub, SentinelTopology topology, TestTenant before, string after)
    {
        using var admin = hub.Admin();
        using var tenantClient = hub.Client(before.ApiKey);
        using var read = await admin.GetAsync($"/api/admin/tenants/{before.Id}");
        using var readAfter = await admin.GetAsync($"/api/admin/tenants/{after}");
        using var tenantCall = await tenantClient.GetAsync("/api/v1/tenant");
        var onNewPrimary = await topology.Primary.SendAsync("EXISTS", TenantKey(hub, after));
        Assert.Multiple(() =>
        {
            Assert.That(onNewPrimary, Is.EqualTo(1L), "the write after the failover is on the new primary");
            Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the tenant written before the failover reads back");
            Assert.That(readAfter.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the tenant written after it reads back");
            Assert.That(tenantCall.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the earlier tenant's API key still authenticates");
            Assert.That(hub.Redis.GetServer(topology.Primary.Endpoint).IsReplica, Is.False, "Hub sees the new primary as primary");
        });
    }

    private static async Task WaitForReplicaAsync(SentinelTopology topology, string key)
    {
        for (var i = 0; i < 200 && await topology.Replica.SendAsync("EXISTS", key) is not 1L; i++)
        {
            await Task.Delay(50);
        }
    }
}
