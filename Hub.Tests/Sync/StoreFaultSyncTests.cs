using System.Net;
using System.Text.Json;
using Hub.Tests.Infrastructure;
using static Hub.Tests.Sync.SyncEnvironment;

namespace Hub.Tests.Sync;

/// <summary>
/// Full syncs while the store fails under them, on a real redis-server of the test's own (append-only file, fsync
/// every second) or a Sentinel-watched primary and replica: restarted after 1 s and after 8 s, killed with SIGKILL,
/// failed over, and down for longer than <c>Hub:Jobs:StoreOutageLimit</c>. Each sync but the last must end
/// <c>succeeded</c> with the audience equal to the desired set and the counts adding up to the total.
/// </summary>
[NonParallelizable]
public class StoreFaultSyncTests
{
    // Long enough that the fault lands mid-sync: 8 batch calls of 500 at 0.5 s + 1 ms per member, two at a time.
    private const int Kept = 1_500;
    private const int Dropped = 200;
    private const int Fresh = 2_500;

    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Hub:Mailchimp:MaxConcurrentCallsPerAccount"] = "2",
        ["Hub:Jobs:LeaseDuration"] = "00:00:10",
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

    private async Task<SyncEnvironment> StartAsync(string connectionString, Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>(Settings) { ["Hub:Redis:ConnectionString"] = connectionString };
        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }

        _env = await SyncEnvironment.StartAsync(settings);
        return _env;
    }

    [TestCase(1)]
    [TestCase(8)]
    public async Task A_restart_with_the_append_only_file_mid_sync_loses_nothing(int downSeconds)
    {
        await using var redis = await RedisProcess.StartAsync();
        await StartAsync(redis.Endpoint);
        await SyncThroughAsync(async () =>
        {
            await redis.ShutdownAsync();
            await Task.Delay(TimeSpan.FromSeconds(downSeconds));
            await redis.RestartAsync();
        });
    }

    [Test]
    public async Task A_restart_during_the_removal_phase_removes_exactly_the_members_that_left()
    {
        await using var redis = await RedisProcess.StartAsync();
        await StartAsync(redis.Endpoint);
        await SyncThroughAsync(async () =>
        {
            await redis.ShutdownAsync();
            await Task.Delay(TimeSpan.FromSeconds(1));
            await redis.RestartAsync();
        }, duringRemovals: true);
    }

    [Test]
    public async Task A_killed_redis_restarted_8_seconds_later_loses_nothing()
    {
        await using var redis = await RedisProcess.StartAsync();
        await StartAsync(redis.Endpoint);
        await SyncThroughAsync(async () =>
        {
            await redis.KillAsync();
            await Task.Delay(TimeSpan.FromSeconds(8));
            await redis.RestartAsync();
        });
    }

    [Test]
    public async Task A_sentinel_failover_mid_sync_loses_nothing()
    {
        await using var topology = await SentinelTopology.StartAsync();
        await StartAsync(topology.ConnectionString);
        await SyncThroughAsync(topology.FailoverAsync);
    }

    [Test]
    public async Task An_outage_longer_than_the_limit_fails_the_job_as_store_unavailable_and_a_new_put_converges()
    {
        await using var redis = await RedisProcess.StartAsync();
        // Commands wait at most 1 s for a connection (StackExchange.Redis holds them 5 s by default), so the job meets
        // the outage at once and the 8 s outage is well over the 1 s limit.
        // The lease outlasts the outage, so no replica takes the job over (and continues it) the moment Redis is back.
        var env = await StartAsync(redis.Endpoint + ",asyncTimeout=1000,syncTimeout=1000",
            new() { ["Hub:Jobs:StoreOutageLimit"] = "00:00:01", ["Hub:Jobs:LeaseDuration"] = "00:01:00" });
        var (tenant, _) = await env.ConnectedTenantAsync();
        var audience = await env.LinkNewAudienceAsync(tenant, "outage");
        await env.Sandbox.SetLatencyAsync(TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(1));
        var desired = Members("member", Kept + Fresh);
        var jobId = await env.StartMirrorAsync(tenant, "outage", desired);
        await WaitForProgressAsync(env, tenant, jobId);

        await redis.ShutdownAsync();
        using (var client = env.Hub.Client(tenant.ApiKey))
        {
            // While Redis is down the job API says so, honestly.
            using var during = await client.GetAsync($"/api/v1/jobs/{jobId}");
            await ProblemAssert.IsProblemAsync(during, HttpStatusCode.ServiceUnavailable, "store_unavailable");
            Assert.That(during.Headers.RetryAfter, Is.Not.Null);
        }

        await Task.Delay(TimeSpan.FromSeconds(8));
        await redis.RestartAsync();
        var failed = await WaitForJobAsync(env, tenant, jobId);
        Assert.Multiple(() =>
        {
            Assert.That(failed.GetProperty("state").GetString(), Is.EqualTo("failed"), failed.ToString());
            Assert.That(failed.GetProperty("failureReason").GetString(), Is.EqualTo("store_unavailable"), failed.ToString());
        });

        await env.Sandbox.SetLatencyAsync(TimeSpan.Zero);
        var again = await WaitForJobAsync(env, tenant, await env.StartMirrorAsync(tenant, "outage", desired));
        AssertAddsUp(again, "succeeded", desired.Count);
        Assert.That(await env.EmailsAsync(audience), Is.EqualTo(Emails(desired)));
    }

    /// <summary>
    /// A first sync of <see cref="Kept"/> + <see cref="Dropped"/> members, then a second that keeps some, drops some and
    /// adds <see cref="Fresh"/>, with <paramref name="fault"/> once it recorded its first members (Mailchimp answers at
    /// once again after the fault, so the removals that follow, one call each, are quick): the second ends succeeded, its counts
    /// add up, and the audience's subscribed contacts are exactly the desired set.
    /// </summary>
    private async Task SyncThroughAsync(Func<Task> fault, bool duringRemovals = false)
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "faults");
        var first = Members("kept", Kept).Concat(Members("dropped", Dropped)).ToList();
        AssertAddsUp(await _env.SyncAsync(tenant, "faults", first), "succeeded", first.Count);

        // During removals: one archive call per member at 0.1 s, two at a time, so the removal phase lasts about 10 s.
        await _env.Sandbox.SetLatencyAsync(TimeSpan.FromMilliseconds(duringRemovals ? 100 : 500), TimeSpan.FromMilliseconds(1));
        var desired = Members("kept", Kept).Concat(Members("fresh", Fresh)).ToList();
        var jobId = await _env.StartMirrorAsync(tenant, "faults", desired);
        if (duringRemovals)
        {
            await WaitForJobAsync(_env, tenant, jobId, job => Counts(job).Removed > 0 || job.GetProperty("state").GetString() is not ("queued" or "running"));
        }
        else
        {
            await WaitForProgressAsync(_env, tenant, jobId);
        }

        await fault();
        await _env.Sandbox.SetLatencyAsync(TimeSpan.Zero);

        var job = await WaitForJobAsync(_env, tenant, jobId);
        AssertAddsUp(job, "succeeded", desired.Count + Dropped);
        Assert.Multiple(() =>
        {
            Assert.That(Counts(job).Added, Is.EqualTo(Fresh), job.ToString());
            Assert.That(Counts(job).Removed, Is.EqualTo(Dropped), job.ToString());
        });
        var subscribed = await _env.EmailsAsync(audience);
        var expected = Emails(desired);
        Assert.Multiple(() =>
        {
            Assert.That(expected.Except(subscribed).Count(), Is.Zero, "missing from the audience");
            Assert.That(subscribed.Except(expected).Count(), Is.Zero, "extra in the audience");
        });
    }

    private static List<string> Emails(IEnumerable<object> members) =>
        members.Select(member => JsonSerializer.SerializeToElement(member).GetProperty("email").GetString()!.ToLowerInvariant()).Order(StringComparer.Ordinal).ToList();

    private static (long Total, long Added, long Updated, long Removed, long Unchanged, long Failed) Counts(JsonElement job)
    {
        var counts = job.GetProperty("counts");
        return (counts.GetProperty("total").GetInt64(), counts.GetProperty("added").GetInt64(), counts.GetProperty("updated").GetInt64(),
            counts.GetProperty("removed").GetInt64(), counts.GetProperty("unchanged").GetInt64(), counts.GetProperty("failed").GetInt64());
    }

    private static void AssertAddsUp(JsonElement job, string state, long total)
    {
        var counts = Counts(job);
        Assert.Multiple(() =>
        {
            Assert.That(job.GetProperty("state").GetString(), Is.EqualTo(state), job.ToString());
            Assert.That(counts.Total, Is.EqualTo(total), job.ToString());
            Assert.That(counts.Added + counts.Updated + counts.Removed + counts.Unchanged + counts.Failed, Is.EqualTo(counts.Total), job.ToString());
        });
    }

    /// <summary>Waits until the job has recorded some members, so the fault lands mid-sync.</summary>
    private static Task<JsonElement> WaitForProgressAsync(SyncEnvironment env, TestTenant tenant, string jobId) =>
        WaitForJobAsync(env, tenant, jobId, job => Counts(job) is var counts && counts.Added + counts.Updated + counts.Unchanged > 0
            || job.GetProperty("state").GetString() is not ("queued" or "running"));

    /// <summary>Polls the job (through outages: any answer but 200 is read as "not yet") until it finishes; at most two minutes.</summary>
    private static async Task<JsonElement> WaitForJobAsync(SyncEnvironment env, TestTenant tenant, string jobId, Func<JsonElement, bool>? done = null)
    {
        done ??= job => job.GetProperty("state").GetString() is not ("queued" or "running");
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        using var client = env.Hub.Client(tenant.ApiKey);
        string last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var response = await client.GetAsync($"/api/v1/jobs/{jobId}");
                last = await response.Content.ReadAsStringAsync();
                if (response.StatusCode == HttpStatusCode.OK && JsonDocument.Parse(last).RootElement is var job && done(job))
                {
                    return job.Clone();
                }
            }
            catch (HttpRequestException exception)
            {
                last = exception.Message;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"Job {jobId} did not get there in two minutes; last answer: {last}");
        throw new InvalidOperationException();
    }
}
