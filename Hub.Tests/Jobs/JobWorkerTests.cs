using Hub.Core.Jobs;
using Hub.Core.Members;
using Hub.Core.Sync;
using Hub.Core.Tenants;
using Hub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Hub.Tests.Jobs;

/// <summary>The worker end to end: a sync job applied to a fake audience by the test handler, across replicas.</summary>
[TestFixture(TestBackend.Redis)]
[TestFixture(TestBackend.Garnet)]
[TestFixture(TestBackend.Cluster)]
public class JobWorkerTests(string backend) : BackendFixture(backend)
{
    private const string List = "list-1";
    private const int Members = 2000;
    private readonly List<IHost> _hosts = [];
    private FakeAudience _audience = new();
    private readonly TenantId _tenant = TenantId.New();
    private string _prefix = "";

    [SetUp]
    public void NewPrefix()
    {
        _prefix = TestRedis.NewPrefix();
        _audience = new FakeAudience();
    }

    [TearDown]
    public async Task StopHosts()
    {
        foreach (var host in _hosts)
        {
            await host.StopAsync();
            host.Dispose();
        }

        _hosts.Clear();
    }

    private async Task<IHost> ReplicaAsync(bool worker = true, Func<int, CancellationToken, Task>? afterChunk = null, bool losesAMemberOnce = false, IJobHandler? handler = null)
    {
        var host = await JobsTestKit.StartAsync(Backend.Connection, _prefix,
            new() { ["Hub:Jobs:WorkerEnabled"] = worker ? "true" : "false", ["Hub:Jobs:LeaseDuration"] = "00:00:01", ["Hub:Jobs:RenewInterval"] = "00:00:00.200", ["Hub:Jobs:DependencyOutageLimit"] = "00:00:02" },
            services => services.AddSingleton(_audience).AddSingleton<IJobHandler, UncountedHandler>().AddSingleton<IJobHandler>(sp =>
                new FakeSyncHandler(sp.GetRequiredService<SyncPlanner>(), sp.GetRequiredService<MemberLedger>(), _audience)
                {
                    AfterChunk = afterChunk ?? ((_, _) => Task.CompletedTask),
                    LosesAMemberOnce = losesAMemberOnce,
                }).AddSingleton(handler ?? new DependencyOutageHandler(outages: 0)));
        _hosts.Add(host);
        return host;
    }

    private static async Task<Job> EnqueueSyncAsync(IHost host, TenantId tenant, Func<int, string>? row = null, int members = Members)
    {
        var staged = await host.Services.GetRequiredService<DesiredSetReader>().StageAsync(tenant, Hub.Core.Lists.ListKey.Parse("staged", null), new GeneratedBodyStream(members, ndjson: true, row), DesiredSetFormat.Detect, default);
        var (job, _) = await host.Services.GetRequiredService<JobStore>().EnqueueAsync(staged.Staged!.ToJobRequest(FakeSyncHandler.JobKind, List), default);
        return job;
    }

    private static Task<Job?> WaitForAsync(IHost host, JobId id, Func<Job, bool> done) =>
        JobsTestKit.EventuallyAsync(() => host.Services.GetRequiredService<JobStore>().GetAsync(id, default), job => job is not null && done(job));

    [Test]
    public async Task A_job_whose_worker_died_is_finished_by_another_from_its_checkpoint_without_repeating_work()
    {
        var crashed = await ReplicaAsync(worker: false);
        var job = await EnqueueSyncAsync(crashed, _tenant);

        // A worker that dies after three chunks: it neither renews nor releases its lease.
        var store = crashed.Services.GetRequiredService<JobStore>();
        var lease = (await store.ClaimAsync(default))!;
        using var death = new CancellationTokenSource();
        var handler = new FakeSyncHandler(crashed.Services.GetRequiredService<SyncPlanner>(), crashed.Services.GetRequiredService<MemberLedger>(), _audience)
        {
            AfterChunk = async (chunks, _) =>
            {
                if (chunks == 3)
                {
                    await death.CancelAsync();
                }
            },
        };
        var claimed = (await store.GetAsync(job.Id, default))!;
        Assert.CatchAsync<OperationCanceledException>(() => handler.RunAsync(new JobContext(claimed, lease, store, death), death.Token));
        var checkpoint = (await store.GetAsync(job.Id, default))!.Checkpoint;

        var survivor = await ReplicaAsync();
        var finished = await WaitForAsync(survivor, job.Id, read => read.State.IsFinished());

        Assert.Multiple(() =>
        {
            Assert.That(checkpoint, Does.StartWith("i:"));
            Assert.That(finished!.State, Is.EqualTo(JobState.Succeeded));
            Assert.That(finished.Attempts, Is.EqualTo(2));
            Assert.That(finished.Counts, Is.EqualTo(new JobCounts(Total: Members, Added: Members)));
            Assert.That(_audience.Members, Has.Count.EqualTo(Members));
            Assert.That(_audience.Upserts.Values, Has.All.EqualTo(1), "no member was sent twice");
        });

        // The next full sync sends only the difference.
        var next = await EnqueueSyncAsync(survivor, _tenant, row: i => i % 20 == 0
            ? $$"""{"email":"member{{i}}@example.com","mergeFields":{"FNAME":"Changed {{i}}"},"tags":["t{{i % 7}}"]}"""
            : $$"""{"email":"member{{i}}@example.com","mergeFields":{"FNAME":"Member {{i}}"},"tags":["t{{i % 7}}"]}""", members: Members - 100);
        var second = await WaitForAsync(survivor, next.Id, read => read.State.IsFinished());

        Assert.Multiple(() =>
        {
            Assert.That(second!.State, Is.EqualTo(JobState.Succeeded));
            Assert.That(second.Counts, Is.EqualTo(new JobCounts(Total: Members, Updated: (Members - 100) / 20, Removed: 100, Unchanged: Members - 100 - ((Members - 100) / 20))));
            Assert.That(_audience.Members, Has.Count.EqualTo(Members - 100));
            Assert.That(_audience.Removals.Values, Has.All.EqualTo(1));
        });
    }

    [Test]
    public async Task A_running_job_is_cancelled_at_its_next_checkpoint()
    {
        var replica = await ReplicaAsync(afterChunk: (_, cancellationToken) => Task.Delay(100, cancellationToken));
        var job = await EnqueueSyncAsync(replica, _tenant);
        await WaitForAsync(replica, job.Id, read => read.Checkpoint is not null);

        var result = await replica.Services.GetRequiredService<JobStore>().CancelAsync(_tenant, job.Id, default);
        var cancelled = await WaitForAsync(replica, job.Id, read => read.State.IsFinished());

        Assert.Multiple(() =>
        {
            Assert.That(result, Is.EqualTo(CancelResult.CancelRequested));
            Assert.That(cancelled!.State, Is.EqualTo(JobState.Cancelled));
            Assert.That(cancelled.Counts.Added, Is.GreaterThan(0).And.LessThan(Members));
        });
    }

    [Test]
    public async Task Shutdown_releases_the_job_and_another_replica_resumes_it_at_once()
    {
        var leaving = await ReplicaAsync(afterChunk: (_, cancellationToken) => Task.Delay(100, cancellationToken));
        var job = await EnqueueSyncAsync(leaving, _tenant);
        await WaitForAsync(leaving, job.Id, read => read.Checkpoint is not null);

        await leaving.StopAsync();
        var released = await leaving.Services.GetRequiredService<JobStore>().GetAsync(job.Id, default);
        var staying = await ReplicaAsync();
        var finished = await WaitForAsync(staying, job.Id, read => read.State.IsFinished());

        Assert.Multiple(() =>
        {
            Assert.That(released!.State, Is.EqualTo(JobState.Running));
            Assert.That(finished!.State, Is.EqualTo(JobState.Succeeded));
            Assert.That(finished.Attempts, Is.EqualTo(2));
            Assert.That(finished.Counts, Is.EqualTo(new JobCounts(Total: Members, Added: Members)));
            Assert.That(_audience.Upserts.Values, Has.All.EqualTo(1));
        });
    }

    [Test]
    public async Task A_success_missing_a_member_is_planned_again_and_then_adds_up()
    {
        var replica = await ReplicaAsync(losesAMemberOnce: true);
        var job = await EnqueueSyncAsync(replica, _tenant);
        var finished = await WaitForAsync(replica, job.Id, read => read.State.IsFinished());

        Assert.Multiple(() =>
        {
            Assert.That(finished!.State, Is.EqualTo(JobState.Succeeded));
            Assert.That(finished.Replans, Is.EqualTo(1));
            Assert.That(finished.Counts, Is.EqualTo(new JobCounts(Total: Members, Added: 1, Unchanged: Members - 1)), "the second plan sends only the lost member");
            Assert.That(_audience.Members, Has.Count.EqualTo(Members));
        });
    }

    [Test]
    public async Task A_success_whose_counts_never_add_up_fails_as_inconsistent_counts()
    {
        var replica = await ReplicaAsync();
        var (job, _) = await replica.Services.GetRequiredService<JobStore>().EnqueueAsync(
            new JobRequest(_tenant, UncountedHandler.JobKind, List) { InitialCounts = new JobCounts(Total: 5) }, default);
        var finished = await WaitForAsync(replica, job.Id, read => read.State.IsFinished());

        Assert.Multiple(() =>
        {
            Assert.That(finished!.State, Is.EqualTo(JobState.Failed));
            Assert.That(finished.FailureReason, Is.EqualTo(JobWorker.InconsistentCounts));
            Assert.That(finished.Replans, Is.EqualTo(JobWorker.MaxReplans));
        });
    }

    [Test]
    public async Task A_dependency_outage_pauses_the_job_which_then_resumes_from_its_checkpoint_and_succeeds()
    {
        var handler = new DependencyOutageHandler(outages: 2);
        var replica = await ReplicaAsync(handler: handler);
        var (job, _) = await replica.Services.GetRequiredService<JobStore>().EnqueueAsync(new JobRequest(_tenant, DependencyOutageHandler.JobKind, List), default);
        var finished = await WaitForAsync(replica, job.Id, read => read.State.IsFinished());

        Assert.Multiple(() =>
        {
            Assert.That(finished!.State, Is.EqualTo(JobState.Succeeded));
            Assert.That(finished.FailureReason, Is.Null);
            Assert.That(handler.StartedFrom, Is.EqualTo(new string?[] { null, DependencyOutageHandler.Halfway, DependencyOutageHandler.Halfway }), "each run after a pause starts from the stored checkpoint");
            Assert.That(finished.Counts, Is.EqualTo(new JobCounts(Total: 1, Added: 1)));
            Assert.That(finished.Attempts, Is.EqualTo(1), "the lease (1 s) was kept through the pauses (1 s, then 2 s)");
        });
    }

    [Test]
    public async Task A_dependency_that_stays_unavailable_fails_the_job_with_its_code_after_the_limit()
    {
        var handler = new DependencyOutageHandler(outages: int.MaxValue);
        var replica = await ReplicaAsync(handler: handler);
        var (job, _) = await replica.Services.GetRequiredService<JobStore>().EnqueueAsync(new JobRequest(_tenant, DependencyOutageHandler.JobKind, List), default);
        var finished = await WaitForAsync(replica, job.Id, read => read.State.IsFinished());

        Assert.Multiple(() =>
        {
            Assert.That(finished!.State, Is.EqualTo(JobState.Failed));
            Assert.That(finished.FailureReason, Is.EqualTo(DependencyOutageHandler.Code));
            Assert.That(handler.StartedFrom, Has.Count.GreaterThanOrEqualTo(2), "it was run again before the limit (2 s) ran out");
            Assert.That(finished.Attempts, Is.EqualTo(1));
        });
    }

    /// <summary>
    /// Finds its dependency down (<see cref="JobOutageException"/>) on its first runs, the first after saving a checkpoint,
    /// then counts one member and succeeds. Remembers the checkpoint each run started from.
    /// </summary>
    private sealed class DependencyOutageHandler(int outages) : IJobHandler
    {
        public const string JobKind = "dependency-outage";
        public const string Code = "test_dependency_unavailable";
        public const string Halfway = "halfway";

        public string Kind => JobKind;

        public System.Collections.Concurrent.ConcurrentQueue<string?> StartedFrom { get; } = new();

        public async Task<JobOutcome> RunAsync(JobContext context, CancellationToken cancellationToken)
        {
            StartedFrom.Enqueue(context.Checkpoint);
            var run = StartedFrom.Count;
            if (run == 1)
            {
                await context.SaveCheckpointAsync(Halfway, cancellationToken);
            }

            if (run <= outages)
            {
                throw new JobOutageException(Code, "The test dependency did not answer.");
            }

            await context.AddCountsAsync(new JobCounts(Total: 1, Added: 1), cancellationToken);
            return JobOutcome.Succeeded;
        }
    }

    /// <summary>Says it succeeded without counting a single member.</summary>
    private sealed class UncountedHandler : IJobHandler
    {
        public const string JobKind = "uncounted";

        public string Kind => JobKind;

        public Task<JobOutcome> RunAsync(JobContext context, CancellationToken cancellationToken) => Task.FromResult(JobOutcome.Succeeded);
    }
}
