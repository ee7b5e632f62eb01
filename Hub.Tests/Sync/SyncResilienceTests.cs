using System.Net.Http.Json;
using System.Text.Json;
using Hub.Core.Webhooks;
using static Hub.Tests.Sync.MirrorSyncTests;
using static Hub.Tests.Sync.SyncEnvironment;

namespace Hub.Tests.Sync;

/// <summary>Sync jobs surviving replicas that stop or lose their lease, and a credential revoked mid-job. Each test has its own Hubs.</summary>
[TestFixture]
public sealed class SyncResilienceTests
{
    private static readonly Dictionary<string, string?> ShortLeases = new()
    {
        ["Hub:Jobs:LeaseDuration"] = "00:00:02",
        ["Hub:Jobs:RenewInterval"] = "00:00:00.250",
        ["Hub:Mailchimp:MaxConcurrentCallsPerAccount"] = "2",
    };

    [Test]
    public async Task A_job_released_by_a_stopping_replica_is_finished_by_another()
    {
        await using var env = await SyncEnvironment.StartAsync(ShortLeases);
        var (tenant, _) = await env.ConnectedTenantAsync();
        var audience = await env.LinkNewAudienceAsync(tenant, "handover");
        var second = await env.StartReplicaAsync();
        await env.Sandbox.SetLatencyAsync(TimeSpan.Zero, perMember: TimeSpan.FromMilliseconds(3));

        var jobId = await env.StartMirrorAsync(tenant, "handover", Members("m", 2000));
        await env.WaitForJobAsync(tenant, jobId, job => job.GetProperty("counts").GetProperty("added").GetInt64() > 0, via: second);
        var first = env.Hub;
        var runner = first.Logs.Lines.Any(line => line.Contains(jobId, StringComparison.Ordinal) && line.Contains(" started,", StringComparison.Ordinal)) ? first : second;
        await env.StopHubAsync(runner);
        var survivor = runner == first ? second : first;

        var job = await env.WaitForJobAsync(tenant, jobId, via: survivor);
        await AssertFinishedOnceAsync(env, tenant, job, audience, 2000);
    }

    [Test]
    public async Task A_job_whose_worker_lost_its_lease_is_taken_over_and_the_old_worker_writes_nothing_more()
    {
        await using var env = await SyncEnvironment.StartAsync(ShortLeases);
        var (tenant, _) = await env.ConnectedTenantAsync();
        var audience = await env.LinkNewAudienceAsync(tenant, "crash");
        await env.Sandbox.SetLatencyAsync(TimeSpan.Zero, perMember: TimeSpan.FromMilliseconds(3));

        var jobId = await env.StartMirrorAsync(tenant, "crash", Members("m", 2000));
        await env.WaitForJobAsync(tenant, jobId, job => job.GetProperty("counts").GetProperty("added").GetInt64() > 0);

        // The first worker hangs past its lease (as a crashed or frozen replica would): its token is void and the lease is due.
        var db = env.Hub.Redis.GetDatabase();
        var tenantId = TenantId.Parse(tenant.Id);
        await db.ScriptEvaluateAsync(
            "redis.call('HSET', KEYS[1], 'leaseToken', 'crashed', 'leaseExpires', 0) redis.call('ZADD', KEYS[2], 0, ARGV[1]) return 1",
            [env.Hub.Keys.Job(tenantId, JobId.Parse(jobId)), env.Hub.Keys.JobLeases(global::Hub.Core.Storage.RedisKeys.ShardOf(tenantId))], [jobId]);
        var second = await env.StartReplicaAsync();

        var job = await env.WaitForJobAsync(tenant, jobId, via: second);
        await AssertFinishedOnceAsync(env, tenant, job, audience, 2000);
        Assert.That(env.Hub.Logs.Lines.Any(line => line.Contains("lost its lease", StringComparison.Ordinal)), Is.True, "the first worker noticed and stopped");
    }

    [Test]
    public async Task Mailchimp_failing_past_the_clients_retries_pauses_the_job_and_it_finishes_from_its_checkpoint()
    {
        await using var env = await SyncEnvironment.StartAsync();
        var (tenant, _) = await env.ConnectedTenantAsync();
        var audience = await env.LinkNewAudienceAsync(tenant, "outage");

        // Every call fails, the client's retries included, for the job's first three seconds.
        await env.Sandbox.InjectFaultAsync("*", "500");
        var jobId = await env.StartMirrorAsync(tenant, "outage", Members("m", 2000));
        await env.WaitForJobAsync(tenant, jobId, job => job.GetProperty("state").GetString() == "running");
        await Task.Delay(TimeSpan.FromSeconds(3));
        var during = await env.GetJobAsync(tenant, jobId);
        var counters = await env.Sandbox.GetCountersAsync();
        await env.Sandbox.ClearFaultsAsync();

        var job = await env.WaitForJobAsync(tenant, jobId);
        Assert.Multiple(() =>
        {
            Assert.That(counters.FaultsInjected, Is.GreaterThan(0));
            Assert.That(during.GetProperty("state").GetString(), Is.EqualTo("running"), "paused, not failed, while Mailchimp is down");
            Assert.That(env.Hub.Logs.Lines.Any(line => line.Contains("a dependency is unavailable (mailchimp_unavailable", StringComparison.Ordinal)), Is.True);
            Assert.That(job.GetProperty("attempts").GetInt32(), Is.EqualTo(1), "the lease was kept through the pauses");
        });
        MirrorSyncTests.AssertCounts(job, "succeeded", total: 2000, added: 2000);
        Assert.That(await env.EmailsAsync(audience), Has.Count.EqualTo(2000));
    }

    [Test]
    public async Task Mailchimp_down_longer_than_the_outage_limit_fails_the_job_as_mailchimp_unavailable_and_a_new_put_converges()
    {
        await using var env = await SyncEnvironment.StartAsync(new() { ["Hub:Jobs:DependencyOutageLimit"] = "00:00:03" });
        var (tenant, _) = await env.ConnectedTenantAsync();
        var audience = await env.LinkNewAudienceAsync(tenant, "down");
        await env.Sandbox.InjectFaultAsync("*", "500");

        var failed = await env.SyncAsync(tenant, "down", Members("m", 600));
        await env.Sandbox.ClearFaultsAsync();
        Assert.Multiple(() =>
        {
            Assert.That(failed.GetProperty("state").GetString(), Is.EqualTo("failed"));
            Assert.That(failed.GetProperty("failureReason").GetString(), Is.EqualTo("mailchimp_unavailable"));
        });

        MirrorSyncTests.AssertCounts(await env.SyncAsync(tenant, "down", Members("m", 600)), "succeeded", total: 600, added: 600);
        Assert.That(await env.EmailsAsync(audience), Has.Count.EqualTo(600));
    }

    [Test]
    public async Task A_credential_revoked_mid_job_fails_it_after_one_401_and_the_connection_needs_reauthorization()
    {
        await using var env = await SyncEnvironment.StartAsync();
        var (tenant, account) = await env.ConnectedTenantAsync();
        var audience = await env.LinkNewAudienceAsync(tenant, "revoked");
        await env.SyncAsync(tenant, "revoked", Members("m", 1500));

        await env.Sandbox.SetLatencyAsync(TimeSpan.FromMilliseconds(300));
        await env.Sandbox.ResetCountersAsync();
        var jobId = await env.StartMirrorAsync(tenant, "revoked", Members("m", 1500, firstName: "Changed"), "?reconcile=true");
        await env.WaitForJobAsync(tenant, jobId, job => job.GetProperty("state").GetString() == "running");
        await env.Sandbox.RevokeAsync(account.Secret);

        var failed = await env.WaitForJobAsync(tenant, jobId);
        var counters = await env.Sandbox.GetCountersAsync();
        Assert.Multiple(() =>
        {
            Assert.That(failed.GetProperty("state").GetString(), Is.EqualTo("failed"));
            Assert.That(failed.GetProperty("failureReason").GetString(), Is.EqualTo("reauthorization_required"));
            Assert.That(counters.Statuses.GetValueOrDefault("401"), Is.EqualTo(1), string.Join(", ", counters.RouteStatuses));
        });

        using var client = env.Hub.Client(tenant.ApiKey);
        var connection = await client.GetFromJsonAsync<JsonElement>("/api/v1/connection");
        Assert.That(connection.GetProperty("state").GetString(), Is.EqualTo("reauthorization_required"));

        var hook = await WaitForWebhookAsync(env, WebhookEvents.SyncFailed, jobId);
        Assert.That(WebhookSignature.Verify(new Hub.Core.Security.Secret(tenant.WebhookSigningSecret), hook.Signature, hook.Body, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)), Is.True);
        var data = JsonDocument.Parse(hook.Body).RootElement.GetProperty("data");
        Assert.That(data.GetProperty("failureReason").GetString(), Is.EqualTo("reauthorization_required"));
        Assert.That(data.GetProperty("jobUrl").GetString(), Does.EndWith($"/api/v1/jobs/{jobId}"));
        Assert.That((await env.GetListAsync(tenant, "revoked")).GetProperty("lastSync").GetProperty("state").GetString(), Is.EqualTo("failed"));
        Assert.That((await env.AudienceAsync(audience)).Values.Count(member => member.MergeFields.TryGetValue("FNAME", out var name) && name?.ToString() == "Changed"), Is.Zero);
    }

    [Test]
    public async Task A_credential_revoked_while_batches_run_in_parallel_fails_the_job_and_no_call_follows()
    {
        await using var env = await SyncEnvironment.StartAsync(new() { ["Hub:Mailchimp:MaxConcurrentCallsPerAccount"] = "4" });
        var (tenant, account) = await env.ConnectedTenantAsync();
        await env.LinkNewAudienceAsync(tenant, "parallel");
        await env.Sandbox.SetLatencyAsync(TimeSpan.Zero, perMember: TimeSpan.FromMilliseconds(1));
        var jobId = await env.StartMirrorAsync(tenant, "parallel", Members("m", 6000));
        await env.WaitForJobAsync(tenant, jobId, job => job.GetProperty("counts").GetProperty("added").GetInt64() >= 500);
        await env.Sandbox.RevokeAsync(account.Secret);

        var failed = await env.WaitForJobAsync(tenant, jobId);
        var counters = await env.Sandbox.GetCountersAsync();
        await Task.Delay(500);
        var later = await env.Sandbox.GetCountersAsync();
        Assert.Multiple(() =>
        {
            Assert.That(failed.GetProperty("state").GetString(), Is.EqualTo("failed"));
            Assert.That(failed.GetProperty("failureReason").GetString(), Is.EqualTo("reauthorization_required"));
            // Calls already launched when the credential died each see a 401 (at most the account's cap);
            // the first 401 cancels the rest and no new call starts.
            Assert.That(counters.Statuses.GetValueOrDefault("401"), Is.InRange(1, 4), string.Join(", ", counters.RouteStatuses));
            Assert.That(Answered(later), Is.EqualTo(Answered(counters)), "no call answered after the job ended");
        });

        static long Answered(Hub.Sandbox.SandboxCounters counters) => counters.Statuses.Where(status => status.Key != "499").Sum(status => status.Value);
    }

    private static async Task AssertFinishedOnceAsync(SyncEnvironment env, Infrastructure.TestTenant tenant, JsonElement job, string audience, int count)
    {
        AssertCounts(job, "succeeded", total: count, added: count);
        Assert.That(job.GetProperty("attempts").GetInt32(), Is.EqualTo(2), job.ToString());
        var expected = Enumerable.Range(0, count).Select(i => $"m{i}@shop.test").Order(StringComparer.Ordinal).ToList();
        Assert.That(await env.EmailsAsync(audience), Is.EqualTo(expected));
        Assert.That((await env.Sandbox.GetCountersAsync()).MembersCreated, Is.EqualTo(count), "each contact created once");
        await WaitForWebhookAsync(env, WebhookEvents.SyncCompleted, job.GetProperty("id").GetString()!);
        await Task.Delay(300);
        Assert.That(env.Receiver.Received.Count(hook => hook.EventType == WebhookEvents.SyncCompleted && hook.Body.Contains(job.GetProperty("id").GetString()!, StringComparison.Ordinal)), Is.EqualTo(1));
    }

    private static async Task<Webhooks.ReceivedWebhook> WaitForWebhookAsync(SyncEnvironment env, string eventType, string jobId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (env.Receiver.Received.FirstOrDefault(hook => hook.EventType == eventType && hook.AnsweredStatus == 200 && hook.Body.Contains(jobId, StringComparison.Ordinal)) is { } found)
            {
                return found;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"No {eventType} webhook for job {jobId}.");
        throw new InvalidOperationException();
    }
}
