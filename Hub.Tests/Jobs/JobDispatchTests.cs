using Hub.Core.Jobs;
using Hub.Core.Tenants;
using Hub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Hub.Tests.Jobs;

/// <summary>
/// Issue 16: a replica runs many I/O-bound jobs at once (up to <see cref="JobsOptions.Concurrency"/>, no more), and an idle
/// replica picks up a job queued on another one at once, not at its next poll.
/// </summary>
[TestFixture(TestBackend.Redis)]
[TestFixture(TestBackend.Garnet)]
[TestFixture(TestBackend.Cluster)]
public sealed class JobDispatchTests(string backend) : BackendFixture(backend)
{
    private readonly List<IHost> _hosts = [];
    private string _prefix = "";

    [SetUp]
    public void NewPrefix() => _prefix = TestRedis.NewPrefix();

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

    private async Task<IHost> ReplicaAsync(GateHandler handler, Dictionary<string, string?> settings)
    {
        var host = await JobsTestKit.StartAsync(Backend.Connection, _prefix, settings, services => services.AddSingleton<IJobHandler>(handler));
        _hosts.Add(host);
        return host;
    }

    private static async Task<List<JobId>> EnqueueAsync(IHost host, int count)
    {
        var store = host.Services.GetRequiredService<JobStore>();
        var ids = new List<JobId>();
        for (var i = 0; i < count; i++)
        {
            ids.Add((await store.EnqueueAsync(new JobRequest(TenantId.New(), GateHandler.JobKind, "list-1"), default)).Job.Id);
        }

        return ids;
    }

    private static async Task<List<Job?>> WaitForAllAsync(IHost host, IEnumerable<JobId> ids)
    {
        var store = host.Services.GetRequiredService<JobStore>();
        return [.. await Task.WhenAll(ids.Select(id => JobsTestKit.EventuallyAsync(() => store.GetAsync(id, default), job => job?.State.IsFinished() == true)))];
    }

    [Test]
    public async Task Jobs_of_many_tenants_run_at_once_on_one_replica()
    {
        const int jobs = 40;
        var handler = new GateHandler(openAt: jobs);
        var replica = await ReplicaAsync(handler, new() { ["Hub:Jobs:Concurrency"] = "64" });

        var finished = await WaitForAllAsync(replica, await EnqueueAsync(replica, jobs));

        Assert.Multiple(() =>
        {
            Assert.That(handler.MaxRunning, Is.EqualTo(jobs), "every job was running at the same moment");
            Assert.That(finished.Select(job => job?.State), Has.All.EqualTo(JobState.Succeeded));
        });
    }

    [Test]
    public async Task A_replica_never_runs_more_jobs_than_its_concurrency()
    {
        var handler = new GateHandler(openAt: int.MaxValue, holdFor: TimeSpan.FromMilliseconds(300));
        var replica = await ReplicaAsync(handler, new() { ["Hub:Jobs:Concurrency"] = "5" });

        var finished = await WaitForAllAsync(replica, await EnqueueAsync(replica, 20));

        Assert.Multiple(() =>
        {
            Assert.That(handler.MaxRunning, Is.EqualTo(5));
            Assert.That(finished.Select(job => job?.State), Has.All.EqualTo(JobState.Succeeded));
        });
    }

    [Test]
    public async Task An_idle_replica_picks_up_a_job_queued_on_another_at_once_not_at_its_next_poll()
    {
        var handler = new GateHandler(openAt: 1);
        var worker = await ReplicaAsync(handler, new() { ["Hub:Jobs:PollInterval"] = "00:01:00", ["Hub:Jobs:Concurrency"] = "4" });
        var api = await ReplicaAsync(handler, new() { ["Hub:Jobs:WorkerEnabled"] = "false" });
        await Task.Delay(500); // the worker found nothing and now waits (for a minute, unless told)

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var finished = await WaitForAllAsync(worker, await EnqueueAsync(api, 1));

        Assert.Multiple(() =>
        {
            Assert.That(finished[0]?.State, Is.EqualTo(JobState.Succeeded));
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), "picked up well before the one-minute poll");
        });

        // A job queued while the replica is busy is claimed as soon as there is room, also without a poll.
        clock.Restart();
        var next = await WaitForAllAsync(worker, await EnqueueAsync(api, 3));
        Assert.That(next.Select(job => job?.State), Has.All.EqualTo(JobState.Succeeded));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
    }

    [Test]
    public async Task An_idle_replica_records_no_span_while_it_looks_for_work()
    {
        var claims = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == Hub.Core.Diagnostics.HubTelemetry.SourceName,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => { if (activity.DisplayName == "redis job.claim") claims.Enqueue(activity.TraceId.ToString()); },
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);

        var handler = new GateHandler(openAt: 1);
        var replica = await ReplicaAsync(handler, new() { ["Hub:Jobs:PollInterval"] = "00:00:00.020" });
        await Task.Delay(1000); // some fifty looks for work, all finding nothing
        Assert.That(claims, Is.Empty, "an idle look for work made a trace of its own");

        // Inside a trace that is going, the same look is a span of it.
        using (var parent = Hub.Core.Diagnostics.HubTelemetry.Source.StartActivity("test parent"))
        {
            await replica.Services.GetRequiredService<JobStore>().ClaimAsync(default);
            Assert.That(claims, Is.EquivalentTo(new[] { parent!.TraceId.ToString() }));
        }
    }

    [Test]
    public async Task A_jobs_trace_is_its_own_and_links_to_the_request_that_queued_it()
    {
        var runs = new System.Collections.Concurrent.ConcurrentQueue<System.Diagnostics.Activity>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == Hub.Core.Diagnostics.HubTelemetry.SourceName,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => { if (activity.DisplayName == "job " + GateHandler.JobKind) runs.Enqueue(activity); },
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        var replica = await ReplicaAsync(new GateHandler(openAt: 1), new() { ["Hub:Jobs:Concurrency"] = "4" });

        List<JobId> queued;
        System.Diagnostics.ActivityTraceId requestTrace;
        using (var request = Hub.Core.Diagnostics.HubTelemetry.Source.StartActivity("test request"))
        {
            requestTrace = request!.TraceId;
            queued = await EnqueueAsync(replica, 1);
        }

        await WaitForAllAsync(replica, queued);
        var run = await JobsTestKit.EventuallyAsync(() => Task.FromResult(runs.FirstOrDefault()), found => found is not null);
        Assert.Multiple(() =>
        {
            Assert.That(run!.TraceId, Is.Not.EqualTo(requestTrace), "the job runs in a trace of its own");
            Assert.That(run.Links.Select(link => link.Context.TraceId), Is.EqualTo(new[] { requestTrace }));
        });
    }

    [Test]
    public async Task Job_metrics_name_the_tenant()
    {
        var finished = new System.Collections.Concurrent.ConcurrentQueue<string?>();
        using var meters = new System.Diagnostics.Metrics.MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == Hub.Core.Diagnostics.HubTelemetry.MeterName && instrument.Name == "hub.jobs.finished")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == Hub.Core.Diagnostics.HubTelemetry.Tags.TenantId) finished.Enqueue(tag.Value as string);
            }
        });
        meters.Start();
        var replica = await ReplicaAsync(new GateHandler(openAt: 1), new() { ["Hub:Jobs:Concurrency"] = "4" });
        var tenant = TenantId.New();
        var (job, _) = await replica.Services.GetRequiredService<JobStore>().EnqueueAsync(new JobRequest(tenant, GateHandler.JobKind, "list-1"), default);
        await WaitForAllAsync(replica, [job.Id]);

        await JobsTestKit.EventuallyAsync(() => Task.FromResult(finished.Contains(tenant.ToString())), found => found);
        Assert.That(finished, Does.Contain(tenant.ToString()));
    }

    [Test]
    public async Task Every_log_line_of_a_job_names_its_tenant_and_the_job_in_its_scope()
    {
        var logs = new CapturedLogs(includeScopes: true);
        var host = await JobsTestKit.StartAsync(Backend.Connection, _prefix, null, services => services
            .AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs)
            .AddSingleton<IJobHandler, LoggingHandler>());
        _hosts.Add(host);
        var tenant = TenantId.New();
        var (job, _) = await host.Services.GetRequiredService<JobStore>().EnqueueAsync(new JobRequest(tenant, LoggingHandler.JobKind, "list-1"), default);
        await WaitForAllAsync(host, [job.Id]);

        var line = logs.Lines.Single(line => line.Contains(LoggingHandler.Message, StringComparison.Ordinal));
        Assert.That(line, Does.Contain($"hub.tenant.id={tenant}").And.Contain($"hub.job.id={job.Id}"));
    }

    /// <summary>Logs one line and succeeds.</summary>
    private sealed class LoggingHandler(Microsoft.Extensions.Logging.ILogger<LoggingHandler> logger) : IJobHandler
    {
        public const string JobKind = "logging";
        public const string Message = "the handler at work";

        public string Kind => JobKind;

        public async Task<JobOutcome> RunAsync(JobContext context, CancellationToken cancellationToken)
        {
            Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(logger, Message);
            await context.AddCountsAsync(new JobCounts(Total: 1, Added: 1), cancellationToken);
            return JobOutcome.Succeeded;
        }
    }

    /// <summary>
    /// Each job waits until <c>openAt</c> jobs run at once (or <c>holdFor</c> passed, 10 s by default), then counts one member
    /// and succeeds. Remembers the most jobs that ran at once.
    /// </summary>
    private sealed class GateHandler(int openAt, TimeSpan? holdFor = null) : IJobHandler
    {
        public const string JobKind = "gate";
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _running;
        private int _maxRunning;

        public string Kind => JobKind;

        public int MaxRunning => Volatile.Read(ref _maxRunning);

        public async Task<JobOutcome> RunAsync(JobContext context, CancellationToken cancellationToken)
        {
            var running = Interlocked.Increment(ref _running);
            int max;
            while (running > (max = Volatile.Read(ref _maxRunning)) && Interlocked.CompareExchange(ref _maxRunning, running, max) != max)
            {
            }

            if (running >= openAt)
            {
                _open.TrySetResult();
            }

            try
            {
                await Task.WhenAny(_open.Task, Task.Delay(holdFor ?? TimeSpan.FromSeconds(10), cancellationToken));
                await context.AddCountsAsync(new JobCounts(Total: 1, Added: 1), cancellationToken);
                return JobOutcome.Succeeded;
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }
    }
}
