using System.Net;
using System.Net.Http.Json;
using Hub.Core.Storage;
using Hub.Core.Webhooks;
using Hub.Tests.Infrastructure;
using Hub.Tests.Sync;
using StackExchange.Redis;

namespace Hub.Tests.Storage;

/// <summary>
/// Hub end to end on a real Redis Cluster of three masters (<see cref="RedisClusterTopology"/>): tenants, keys, an API-key
/// connection, a linked list, a 1,000-member sync with its signed webhook, single member writes and removals, on two replicas,
/// and the tenants' keys spread over the masters. (The store contract, job, consent, concurrency and staging fixtures also run
/// against the cluster: <c>[TestFixture(TestBackend.Cluster)]</c>.)
/// </summary>
[TestFixture]
public class ClusterTests
{
    [Test]
    public async Task Hub_syncs_writes_and_tells_on_a_three_master_cluster()
    {
        var cluster = await RedisClusterTopology.SharedAsync();
        await using var env = await SyncEnvironment.StartAsync(new() { ["Hub:Redis:ConnectionString"] = cluster.ConnectionString });
        var replica = await env.StartReplicaAsync();
        var (tenant, _) = await env.ConnectedTenantAsync();
        var audience = await env.LinkNewAudienceAsync(tenant, "crm");

        var job = await env.SyncAsync(tenant, "crm", SyncEnvironment.Members("m", 1000));
        var hook = await env.Receiver.WaitForAsync(WebhookEvents.SyncCompleted, tenantId: tenant.Id);

        // Single writes through the other replica: an upsert and a removal.
        using var client = replica.Client(tenant.ApiKey);
        var added = await client.PostAsJsonAsync("/api/v1/lists/crm/members", new { email = "late@shop.test" });
        var removed = await client.DeleteAsync("/api/v1/lists/crm/members/m1@shop.test");
        var emails = await env.EmailsAsync(audience);
        var list = await env.GetListAsync(tenant, "crm");

        Assert.Multiple(() =>
        {
            Assert.That(job.GetProperty("state").GetString(), Is.EqualTo("succeeded"));
            Assert.That(job.GetProperty("counts").GetProperty("added").GetInt64(), Is.EqualTo(1000));
            Assert.That(hook.Body, Does.Contain(job.GetProperty("id").GetString()!), "the sync's webhook");
            Assert.That(added.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(removed.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
            Assert.That(emails, Has.Count.EqualTo(1000).And.Contain("late@shop.test").And.No.Contain("m1@shop.test"));
            Assert.That(list.GetProperty("memberCount").GetInt64(), Is.EqualTo(1000), "the ledger");
        });
    }

    [Test]
    public async Task Tenants_spread_over_the_masters()
    {
        var cluster = await RedisClusterTopology.SharedAsync();
        await using var env = await SyncEnvironment.StartAsync(new() { ["Hub:Redis:ConnectionString"] = cluster.ConnectionString });
        for (var i = 0; i < 12; i++)
        {
            await env.CreateTenantAsync();
        }

        // Count this Hub's keys on each master (each holds its share of the slots).
        var perMaster = new List<int>();
        foreach (var master in cluster.Masters)
        {
            await using var connection = await ConnectionMultiplexer.ConnectAsync(master.Endpoint);
            var server = connection.GetServer(master.Endpoint);
            var count = 0;
            await foreach (var _ in server.KeysAsync(pattern: env.Hub.Settings.KeyPrefix + "*"))
            {
                count++;
            }

            perMaster.Add(count);
        }

        Assert.That(perMaster.Count(count => count > 0), Is.GreaterThanOrEqualTo(2), $"keys per master: {string.Join(", ", perMaster)}");
    }

    [Test]
    public async Task Shard_tags_split_the_slot_space_evenly()
    {
        var cluster = await RedisClusterTopology.SharedAsync();
        var slots = RedisKeys.AllShards.Select(shard => RedisKeys.ClusterSlot(RedisKeys.ShardTags[shard])).ToList();
        var redisSlots = new List<long>();
        foreach (var shard in RedisKeys.AllShards)
        {
            redisSlots.Add((long)(await cluster.Masters[0].SendAsync("CLUSTER", "KEYSLOT", $"hub:{{{RedisKeys.ShardTags[shard]}}}:tenant:t1"))!);
        }

        Assert.Multiple(() =>
        {
            Assert.That(slots.Select((slot, shard) => slot / (16384 / RedisKeys.ShardCount) == shard), Is.All.True, string.Join(", ", slots));
            Assert.That(redisSlots, Is.EqualTo(slots.Select(slot => (long)slot)), "Redis computes the same slots for keys with the tags");
        });
    }
}
