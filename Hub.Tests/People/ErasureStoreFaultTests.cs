using System.Net.Http.Json;
using System.Text.Json;
using Hub.Tests.Infrastructure;
using Hub.Tests.Sync;
using static Hub.Tests.People.PeopleEnvironment;

namespace Hub.Tests.People;

/// <summary>
/// An erasure while the store fails under it, on a redis-server of the test's own (append-only file, fsync every second),
/// and while the replica running it stops: it must end succeeded only with the contact gone from every audience, and leave
/// the address nowhere in Redis.
/// </summary>
[NonParallelizable]
public class ErasureStoreFaultTests
{
    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Hub:Jobs:LeaseDuration"] = "00:00:03",
        ["Hub:Jobs:RenewInterval"] = "00:00:01",
    };

    private SyncEnvironment _env = null!;

    [TearDown]
    public async Task Stop()
    {
        if (_env is not null)
        {
            await _env.DisposeAsync();
        }
    }

    [Test]
    public async Task A_redis_restart_mid_erasure_loses_nothing_and_leaves_no_trace()
    {
        await using var redis = await RedisProcess.StartAsync();
        _env = await SyncEnvironment.StartAsync(new Dictionary<string, string?>(Settings) { ["Hub:Redis:ConnectionString"] = redis.Endpoint });
        var (tenant, audiences, address) = await PersonInAudiencesAsync(3);
        using var client = _env.Hub.Client(tenant.ApiKey);
        // Every Mailchimp call takes 2 s, so the restart lands while the deletes are on their way.
        await _env.Sandbox.SetLatencyAsync(TimeSpan.FromSeconds(2));

        var id = (await StartErasureAsync(client, address)).GetProperty("erasureId").GetString()!;
        await WaitForStateAsync(client, id, "running");
        await Task.Delay(500);
        await redis.ShutdownAsync();
        await Task.Delay(TimeSpan.FromSeconds(2));
        await redis.RestartAsync();

        await AssertErasedAsync(client, id, audiences, address);
        Assert.That(await KeysHoldingAsync(_env.Hub.Redis, address), Is.Empty, "Redis holds the address in some form");
    }

    [Test]
    public async Task A_replica_stopping_mid_erasure_hands_it_to_another()
    {
        _env = await SyncEnvironment.StartAsync(new Dictionary<string, string?>(Settings));
        var (tenant, audiences, address) = await PersonInAudiencesAsync(3);
        var first = _env.Hub;
        var second = await _env.StartReplicaAsync(new Dictionary<string, string?> { ["Hub:Jobs:WorkerEnabled"] = "false" });
        using var client = second.Client(tenant.ApiKey);
        await _env.Sandbox.SetLatencyAsync(TimeSpan.FromSeconds(2));

        var id = (await StartErasureAsync(client, address)).GetProperty("erasureId").GetString()!;
        await WaitForStateAsync(client, id, "running");
        // A worker on the second replica, then the first stops with the erasure in flight.
        var third = await _env.StartReplicaAsync();
        await _env.StopHubAsync(first);

        var erasure = await AssertErasedAsync(client, id, audiences, address);
        Assert.That(erasure.GetProperty("attempts").GetInt32(), Is.GreaterThanOrEqualTo(2), erasure.ToString());
        Assert.That(await KeysHoldingAsync(third.Redis, address), Is.Empty, "Redis holds the address in some form");
    }

    /// <summary>A connected tenant with <paramref name="count"/> audience-mode lists, each holding one new address.</summary>
    private async Task<(TestTenant Tenant, List<string> Audiences, string Address)> PersonInAudiencesAsync(int count)
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var address = NewAddress();
        var audiences = new List<string>();
        for (var i = 0; i < count; i++)
        {
            audiences.Add(await _env.LinkNewAudienceAsync(tenant, $"list-{i}"));
            var job = await _env.SyncAsync(tenant, $"list-{i}", [new { email = address }]);
            Assert.That(job.GetProperty("state").GetString(), Is.EqualTo("succeeded"), job.ToString());
        }

        return (tenant, audiences, address);
    }

    private static async Task WaitForStateAsync(HttpClient client, string id, string state)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while ((await client.GetFromJsonAsync<JsonElement>($"/api/v1/people/erasures/{id}")).GetProperty("state").GetString() != state)
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"Erasure {id} never was {state}.");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits for the erasure (the store may still be coming back), asserts it succeeded with every audience done and the contact gone.</summary>
    private async Task<JsonElement> AssertErasedAsync(HttpClient client, string id, List<string> audiences, string address)
    {
        JsonElement erasure = default;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            using var response = await client.GetAsync($"/api/v1/people/erasures/{id}");
            if (response.IsSuccessStatusCode)
            {
                erasure = await response.Content.ReadFromJsonAsync<JsonElement>();
                if (erasure.GetProperty("state").GetString() is not ("queued" or "running"))
                {
                    break;
                }
            }

            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"Erasure {id} did not end: {erasure}");
            await Task.Delay(100);
        }

        Assert.Multiple(() =>
        {
            Assert.That(erasure.GetProperty("state").GetString(), Is.EqualTo("succeeded"), erasure.ToString());
            Assert.That(erasure.GetProperty("recordsForgotten").GetBoolean(), Is.True);
            Assert.That(erasure.GetProperty("audiences").EnumerateArray().Select(entry => entry.GetProperty("audienceId").GetString()), Is.EquivalentTo(audiences));
            Assert.That(erasure.GetProperty("audiences").EnumerateArray().Select(entry => entry.GetProperty("state").GetString()),
                Is.All.AnyOf("deleted", "not_in_audience"), erasure.ToString());
        });
        foreach (var audience in audiences)
        {
            Assert.That(await _env.AudienceAsync(audience), Does.Not.ContainKey(address.ToLowerInvariant()), audience);
        }

        return erasure;
    }
}
