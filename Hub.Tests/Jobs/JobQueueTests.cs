using Hub.Core.Jobs;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Hub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Hub.Tests.Jobs;

[TestFixture(TestBackend.Redis)]
[TestFixture(TestBackend.Garnet)]
[TestFixture(TestBackend.Cluster)]
public class JobQueueTests(string backend) : BackendFixture(backend)
{
    private string _prefix = "";
    private IHost _host = null!;
    private RecordingListener _listener = null!;

    private JobStore Store => _host.Services.GetRequiredService<JobStore>();

    [SetUp]
    public async Task StartStoreOnly()
    {
        _prefix = TestRedis.NewPrefix();
        _listener = new RecordingListener();
        _host = await JobsTestKit.StartAsync(Backend.Connection, _prefix,
            new() { ["Hub:Jobs:WorkerEnabled"] = "false", ["Hub:Jobs:LeaseDuration"] = "00:00:01", ["Hub:Jobs:RenewInterval"] = "00:00:00.200", ["Hub:Jobs:MaxAttempts"] = "2" },
            services => services.AddSingleton<IJobCompletionListener>(_listener));
    }

    [TearDown]
    public async Task StopHost()
    {
        await _host.StopAsync();
        _host.Dispose();
    }

    private Task<(Job Job, JobId? Superseded)> EnqueueAsync(TenantId tenant, string list) =>
        Store.EnqueueAsync(new JobRequest(tenant, "test.kind", list), default);

    [Test]
    public async Task Enqueued_job_is_claimed_and_finished()
    {
        var tenant = TenantId.New();
        var (queued, _) = await EnqueueAsync(tenant, "list-1");
        Assert.That(await Store.QueueDepthAsync(default), Is.EqualTo(1));

        var lease = await Store.ClaimAsync(default);
        Assert.That(lease, Is.Not.Null);
        var running = await Store.GetAsync(queued.Id, default);
        await Store.AddCountsAsync(lease!, new JobCounts(Total: 3, Added: 2, Unchanged: 1), default);
        var finished = await Store.FinishAsync(lease!, JobOutcome.Succeeded, default);
        var recent = await Store.ListRecentAsync(tenant, null, 10, default);

        Assert.Multiple(() =>
        {
            Assert.That(queued.State, Is.EqualTo(JobState.Queued));
            Assert.That(lease!.JobId, Is.EqualTo(queued.Id));
            Assert.That(running!.State, Is.EqualTo(JobState.Running));
            Assert.That(running.Attempts, Is.EqualTo(1));
            Assert.That(running.StartedAt, Is.Not.Null);
            Assert.That(finished!.State, Is.EqualTo(JobState.Succeeded));
            Assert.That(finished.Counts, Is.EqualTo(new JobCounts(3, 2, 0, 0, 1, 0)));
            Assert.That(finished.FinishedAt, Is.GreaterThanOrEqualTo(finished.StartedAt!.Value));
            Assert.That(finished.Duration, Is.Not.Null);
            Assert.That(recent.Items.Select(job => job.Id), Is.EqualTo(new[] { queued.Id }));
            Assert.That(_listener.Finished.Select(job => job.Id), Is.EqualTo(new[] { queued.Id }));
        });
        Assert.That(await Store.ClaimAsync(default), Is.Null);
        Assert.That(await Store.QueueDepthAsync(default), Is.Zero);
    }

    [Test]
    public async Task Finishing_with_failed_members_is_partial_success()
    {
        await EnqueueAsync(TenantId.New(), "list-1");
        var lease = (await Store.ClaimAsync(default))!;
        await Store.AddCountsAsync(lease, new JobCounts(Total: 2, Added: 1, Failed: 1), default);
        await Store.RecordMemberErrorsAsync(lease, [new MemberError("x@example.com", "Fake email.", false)], default);

        var finished = await Store.FinishAsync(lease, JobOutcome.Succeeded, default);

        Assert.Multiple(() =>
        {
            Assert.That(finished!.State, Is.EqualTo(JobState.PartiallySucceeded));
            Assert.That(finished.Errors, Is.EqualTo(new[] { new MemberError("x@example.com", "Fake email.", false) }));
            Assert.That(finished.ErrorTotal, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task One_job_runs_per_list_and_a_newer_request_supersedes_the_queued_one()
    {
        var tenant = TenantId.New();
        var (first, _) = await EnqueueAsync(tenant, "list-1");
        var lease = (await Store.ClaimAsync(default))!;
        var (second, supersededBySecond) = await EnqueueAsync(tenant, "list-1");

        Assert.That(await Store.ClaimAsync(default), Is.Null, "the list already has a running job");

        var (third, supersededByThird) = await EnqueueAsync(tenant, "list-1");
        var secondAfter = await Store.GetAsync(second.Id, default);
        await Store.FinishAsync(lease, JobOutcome.Succeeded, default);
        var next = await Store.ClaimAsync(default);

        Assert.Multiple(() =>
        {
            Assert.That(lease.JobId, Is.EqualTo(first.Id));
            Assert.That(supersededBySecond, Is.Null, "a running job is not superseded");
            Assert.That(supersededByThird, Is.EqualTo(second.Id));
            Assert.That(secondAfter!.State, Is.EqualTo(JobState.Cancelled));
            Assert.That(secondAfter.SupersededBy, Is.EqualTo(third.Id));
            Assert.That(next?.JobId, Is.EqualTo(third.Id));
            Assert.That(_listener.Finished.Select(job => job.Id), Is.EquivalentTo(new[] { second.Id, first.Id }));
        });
    }

    [Test]
    [TestCase(true, TestName = "Tenants of one shard take turns, so many queued jobs do not starve another tenant")]
    [TestCase(false, TestName = "Tenants of different shards take turns, so many queued jobs do not starve another tenant")]
    public async Task Tenants_take_turns_so_many_queued_jobs_do_not_starve_another_tenant(bool sameShard)
    {
        var busy = TenantId.New();
        var quiet = TenantInShard(sameShard ? RedisKeys.ShardOf(busy) : (RedisKeys.ShardOf(busy) + 1) % RedisKeys.ShardCount);
        for (var i = 0; i < 5; i++)
        {
            await EnqueueAsync(busy, $"list-{i}");
        }

        var (quietJob, _) = await EnqueueAsync(quiet, "list-q");

        var first = await Store.ClaimAsync(default);
        var second = await Store.ClaimAsync(default);

        Assert.Multiple(() =>
        {
            Assert.That(new[] { first!.Tenant, second!.Tenant }, Is.EquivalentTo(new[] { busy, quiet }), "one job of each tenant first");
            Assert.That(new[] { first.JobId, second.JobId }, Does.Contain(quietJob.Id));
        });
    }

    [Test]
    public async Task Each_waiting_tenant_gets_a_turn_whichever_shard_it_is_in()
    {
        // One busy tenant alone in its shard; two tenants sharing another. Shards are served in proportion to the tenants
        // waiting in them, so the first three claims serve all three tenants (taking the shards in plain turns would serve the
        // lone tenant every other claim: one tenant, half the claims).
        var alone = TenantId.New();
        var first = TenantInShard((RedisKeys.ShardOf(alone) + 1) % RedisKeys.ShardCount);
        var second = TenantInShard(RedisKeys.ShardOf(first));
        for (var i = 0; i < 6; i++)
        {
            await EnqueueAsync(alone, $"list-{i}");
        }

        await EnqueueAsync(first, "list-a1");
        await EnqueueAsync(first, "list-a2");
        await EnqueueAsync(second, "list-b1");
        await EnqueueAsync(second, "list-b2");

        var claimed = new List<TenantId>();
        for (var i = 0; i < 6; i++)
        {
            claimed.Add((await Store.ClaimAsync(default))!.Tenant);
        }

        Assert.Multiple(() =>
        {
            Assert.That(claimed.Take(3), Is.EquivalentTo(new[] { alone, first, second }), "the first three claims: " + string.Join(", ", claimed));
            Assert.That(claimed.Count(tenant => tenant == alone), Is.EqualTo(2), "the lone tenant's share of six claims");
        });
    }

    private static TenantId TenantInShard(int shard)
    {
        while (true)
        {
            var tenant = TenantId.New();
            if (RedisKeys.ShardOf(tenant) == shard)
            {
                return tenant;
            }
        }
    }

    [Test]
    public async Task Finishing_cancelling_or_superseding_a_job_frees_its_staged_input()
    {
        // The scripts free a job's staged set with UNLINK (a DEL of 100,000 members held the store 39 ms): the same outcome.
        var tenant = TenantId.New();
        var keys = _host.Services.GetRequiredService<RedisKeys>();
        var db = Backend.Connection.GetDatabase();
        async Task<JobId> StagedAsync(string list)
        {
            var (job, _) = await EnqueueAsync(tenant, list);
            await db.HashSetAsync(keys.JobInput(tenant, job.Id), [new HashEntry("a", "1"), new HashEntry("b", "2")]);
            return job.Id;
        }

        var finished = await StagedAsync("list-1");
        var cancelled = await StagedAsync("list-2");
        var lease = (await Store.ClaimAsync(default))!;
        var superseded = await StagedAsync("list-1"); // queued behind the running one, then superseded by the next
        await StagedAsync("list-1");
        await Store.CancelAsync(tenant, cancelled, default);
        await Store.FinishAsync(lease, JobOutcome.Succeeded, default);

        Assert.Multiple(async () =>
        {
            Assert.That(lease.JobId, Is.EqualTo(finished));
            foreach (var id in new[] { finished, cancelled, superseded })
            {
                Assert.That(await db.KeyExistsAsync(keys.JobInput(tenant, id)), Is.False, id.ToString());
            }
        });
    }

    [Test]
    public async Task Cancelling_a_queued_job_takes_effect_at_once()
    {
        var tenant = TenantId.New();
        var (job, _) = await EnqueueAsync(tenant, "list-1");

        var result = await Store.CancelAsync(tenant, job.Id, default);
        var read = await Store.GetAsync(tenant, job.Id, default);

        Assert.Multiple(async () =>
        {
            Assert.That(result, Is.EqualTo(CancelResult.Cancelled));
            Assert.That(read!.State, Is.EqualTo(JobState.Cancelled));
            Assert.That(await Store.ClaimAsync(default), Is.Null);
            Assert.That(await Store.QueueDepthAsync(default), Is.Zero);
            Assert.That(await Store.CancelAsync(TenantId.New(), job.Id, default), Is.EqualTo(CancelResult.NotFound), "another tenant's job");
            Assert.That(await Store.CancelAsync(tenant, job.Id, default), Is.EqualTo(CancelResult.AlreadyFinished));
        });
    }

    [Test]
    public async Task A_lease_taken_over_refuses_the_old_workers_writes()
    {
        var (job, _) = await EnqueueAsync(TenantId.New(), "list-1");
        var crashed = (await Store.ClaimAsync(default))!;
        await Store.SaveCheckpointAsync(crashed, "step-1", default);
        await Task.Delay(1100);

        var takenOver = await Store.ClaimAsync(default);
        var staleWrite = await Store.SaveCheckpointAsync(crashed, "stale", default);
        var staleFinish = await Store.FinishAsync(crashed, JobOutcome.Succeeded, default);
        var read = await Store.GetAsync(job.Id, default);

        Assert.Multiple(() =>
        {
            Assert.That(takenOver!.JobId, Is.EqualTo(job.Id));
            Assert.That(takenOver.Token, Is.Not.EqualTo(crashed.Token));
            Assert.That(staleWrite, Is.EqualTo(LeaseStatus.Lost));
            Assert.That(staleFinish, Is.Null);
            Assert.That(read!.State, Is.EqualTo(JobState.Running));
            Assert.That(read.Checkpoint, Is.EqualTo("step-1"));
            Assert.That(read.Attempts, Is.EqualTo(2));
        });
    }

    [Test]
    public async Task A_job_that_keeps_losing_its_lease_fails_after_max_attempts()
    {
        var (job, _) = await EnqueueAsync(TenantId.New(), "list-1");
        Assert.That(await Store.ClaimAsync(default), Is.Not.Null);
        await Task.Delay(1100);
        Assert.That(await Store.ClaimAsync(default), Is.Not.Null, "second attempt");
        await Task.Delay(1100);

        Assert.That(await Store.ClaimAsync(default), Is.Null);
        var read = await Store.GetAsync(job.Id, default);
        Assert.Multiple(() =>
        {
            Assert.That(read!.State, Is.EqualTo(JobState.Failed));
            Assert.That(read.Attempts, Is.EqualTo(2));
            Assert.That(read.FailureReason, Does.Contain("lease"));
            Assert.That(_listener.Finished.Select(finished => finished.Id), Is.EqualTo(new[] { job.Id }));
        });
    }

    [Test]
    public async Task A_released_job_is_taken_over_at_once_without_using_an_attempt()
    {
        var (job, _) = await EnqueueAsync(TenantId.New(), "list-1");
        var first = (await Store.ClaimAsync(default))!;
        Assert.That(await Store.ReleaseAsync(first, default), Is.True);
        var second = (await Store.ClaimAsync(default))!;
        await Store.ReleaseAsync(second, default);
        var third = await Store.ClaimAsync(default);

        Assert.Multiple(async () =>
        {
            Assert.That(third?.JobId, Is.EqualTo(job.Id), "max attempts is 2, but releases do not count as lost leases");
            Assert.That((await Store.GetAsync(job.Id, default))!.Attempts, Is.EqualTo(3));
        });
    }

    [Test]
    public async Task Replicas_claiming_at_once_get_each_job_exactly_once()
    {
        var tenants = Enumerable.Range(0, 4).Select(_ => TenantId.New()).ToList();
        var jobs = new List<JobId>();
        for (var i = 0; i < 40; i++)
        {
            jobs.Add((await EnqueueAsync(tenants[i % tenants.Count], $"list-{i}")).Job.Id);
        }

        var connections = new List<IConnectionMultiplexer>();
        var replicas = new List<IHost>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                connections.Add(await Backend.ConnectAsync());
                replicas.Add(await JobsTestKit.StartAsync(connections[i], _prefix, new() { ["Hub:Jobs:WorkerEnabled"] = "false", ["Hub:Jobs:LeaseDuration"] = "00:01:00" }, start: false));
            }

            var claimed = await Task.WhenAll(replicas.SelectMany(replica => Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
            {
                var store = replica.Services.GetRequiredService<JobStore>();
                var leases = new List<JobLease>();
                for (var empty = 0; empty < 5;)
                {
                    if (await store.ClaimAsync(default) is { } lease)
                    {
                        leases.Add(lease);
                    }
                    else
                    {
                        empty++;
                    }
                }

                return leases;
            }))));

            var ids = claimed.SelectMany(leases => leases).Select(lease => lease.JobId).ToList();
            Assert.Multiple(async () =>
            {
                Assert.That(ids, Is.EquivalentTo(jobs), "every job claimed, none twice");
                Assert.That(await Store.QueueDepthAsync(default), Is.Zero);
                Assert.That(await Store.ClaimAsync(default), Is.Null);
            });
        }
        finally
        {
            foreach (var replica in replicas)
            {
                replica.Dispose();
            }

            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    [Test]
    public async Task Deleting_a_tenant_removes_its_jobs_and_queue()
    {
        var tenant = TenantId.New();
        var other = TenantId.New();
        await EnqueueAsync(tenant, "list-1");
        await EnqueueAsync(tenant, "list-2");
        var (kept, _) = await EnqueueAsync(other, "list-1");

        await Store.DeleteTenantDataAsync(tenant, default);

        var redis = Backend.Connection;
        var remaining = await TestRedis.KeysAsync(redis, _prefix);
        Assert.Multiple(async () =>
        {
            Assert.That(remaining.Select(key => key.ToString()), Has.None.Contains(tenant.ToString()));
            Assert.That(await Store.QueueDepthAsync(default), Is.EqualTo(1));
            Assert.That((await Store.ClaimAsync(default))?.JobId, Is.EqualTo(kept.Id));
        });
    }

    [Test]
    public async Task Embedded_store_keeps_jobs_queue_and_leases_across_a_restart()
    {
        if (!Backend.IsGarnet)
        {
            Assert.Pass("Persistence of a real Redis is its operator's concern.");
        }

        // Every state change is a Lua script; the embedded store must replay their writes from its append-only file.
        var directory = Path.Combine(Path.GetTempPath(), "hub-garnet-restart-" + Guid.NewGuid().ToString("N"));
        var settings = new Dictionary<string, string?> { ["Hub:Jobs:WorkerEnabled"] = "false", ["Hub:Jobs:LeaseDuration"] = "00:01:00" };
        var tenant = TenantId.New();
        Job finished, superseded, queued;
        JobLease running;
        await using (var server = EmbeddedGarnetServer.Start(directory, 0, NullLoggerFactory.Instance))
        await using (var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString))
        using (var host = await JobsTestKit.StartAsync(connection, _prefix, settings, start: false))
        {
            var store = host.Services.GetRequiredService<JobStore>();
            (finished, _) = await store.EnqueueAsync(new JobRequest(tenant, "test.kind", "list-1"), default);
            var lease = (await store.ClaimAsync(default))!;
            await store.AddCountsAsync(lease, new JobCounts(Total: 2, Added: 1, Failed: 1), default);
            await store.RecordMemberErrorsAsync(lease, [new MemberError("x@example.com", "Fake email.", false)], default);
            await store.FinishAsync(lease, JobOutcome.Succeeded, default);

            await store.EnqueueAsync(new JobRequest(tenant, "test.kind", "list-2"), default);
            running = (await store.ClaimAsync(default))!;
            await store.SaveCheckpointAsync(running, "step-1", default);

            (superseded, _) = await store.EnqueueAsync(new JobRequest(tenant, "test.kind", "list-3"), default);
            (queued, _) = await store.EnqueueAsync(new JobRequest(tenant, "test.kind", "list-3"), default);
        }

        await using (var server = EmbeddedGarnetServer.Start(directory, 0, NullLoggerFactory.Instance))
        await using (var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString))
        using (var host = await JobsTestKit.StartAsync(connection, _prefix, settings, start: false))
        {
            var store = host.Services.GetRequiredService<JobStore>();
            var readFinished = await store.GetAsync(finished.Id, default);
            var readSuperseded = await store.GetAsync(superseded.Id, default);
            var readRunning = await store.GetAsync(running.JobId, default);
            var depth = await store.QueueDepthAsync(default);
            var next = await store.ClaimAsync(default);
            var renewed = await store.RenewAsync(running, default);
            var finishedRunning = await store.FinishAsync(running, JobOutcome.Succeeded, default);
            Assert.Multiple(async () =>
            {
                Assert.That(readFinished!.State, Is.EqualTo(JobState.PartiallySucceeded));
                Assert.That(readFinished.Counts, Is.EqualTo(new JobCounts(2, 1, 0, 0, 0, 1)));
                Assert.That(readFinished.Errors.Select(error => error.Email), Is.EqualTo(new[] { "x@example.com" }));
                Assert.That(readSuperseded!.State, Is.EqualTo(JobState.Cancelled));
                Assert.That(readSuperseded.SupersededBy, Is.EqualTo(queued.Id));
                Assert.That(readRunning!.State, Is.EqualTo(JobState.Running));
                Assert.That(readRunning.Checkpoint, Is.EqualTo("step-1"));
                Assert.That(depth, Is.EqualTo(1));
                Assert.That(next?.JobId, Is.EqualTo(queued.Id), "the queued job, not the running one whose lease still runs");
                Assert.That(renewed, Is.EqualTo(LeaseStatus.Held));
                Assert.That(finishedRunning?.State, Is.EqualTo(JobState.Succeeded));
                Assert.That(await store.QueueDepthAsync(default), Is.Zero);
            });
        }

        TestBackend.TryDeleteDirectory(directory);
    }
}
