using Hub.Core.Diagnostics;
using Hub.Core.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hub.Core.Jobs;

/// <summary>
/// Runs jobs on every replica: a dispatcher claims jobs from <see cref="JobStore"/> (fair between tenants, expired leases
/// first) while the replica has room, and each job runs on its own task: its lease is renewed every
/// <see cref="JobsOptions.RenewInterval"/> while the <see cref="IJobHandler"/> for its kind runs, and it is finished
/// only while the lease is still held. The handler's token is tripped on a cancel request, a lost lease
/// or shutdown; on shutdown the lease is released so another replica resumes the job at once. A worker
/// that dies without releasing leaves the lease to expire, and the next claim anywhere takes the job over.
/// <para>This file holds the dispatcher and the store outages a job waits out; one run of a handler, with its renewals,
/// dependency outages and end, is in <c>JobWorker.Run.cs</c>.</para>
/// </summary>
public sealed partial class JobWorker(
    JobStore store,
    IEnumerable<IJobHandler> handlers,
    StoreLayout layout,
    IOptions<JobsOptions> options,
    TimeProvider time,
    ILogger<JobWorker> logger) : BackgroundService
{
    /// <summary>The most claims the dispatcher makes at once, while each claim finds a job.</summary>
    public const int MaxClaimsAtOnce = 8;

    /// <summary>Times a job may be planned again from the start because its counts did not add up.</summary>
    public const int MaxReplans = 3;

    /// <summary>The failure reason of a job whose counts still did not add up after <see cref="MaxReplans"/>.</summary>
    public const string InconsistentCounts = "inconsistent_counts";

    // While the store does not answer, a job pauses 250 ms, then twice as long each time, at most 5 s.
    private static readonly TimeSpan FirstStorePause = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxStorePause = TimeSpan.FromSeconds(5);

    // Finished jobs whose listeners were not all told (the replica or the store failed right after the job ended) are
    // told again by an idle worker: one look per replica every third of CompletionRetryDelay (at most every 10 s).
    private long _nextSweepTicks;

    private TimeSpan SweepInterval => TimeSpan.FromTicks(Math.Min(options.Value.CompletionRetryDelay.Ticks / 3, TimeSpan.FromSeconds(10).Ticks));

    private readonly Dictionary<string, IJobHandler> _handlers = handlers.ToDictionary(handler => handler.Kind, StringComparer.Ordinal);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        options.Value.WorkerEnabled ? Task.Run(() => DispatchAsync(stoppingToken), CancellationToken.None) : Task.CompletedTask;

    /// <summary>
    /// Claims jobs while this replica has room for them and runs each on its own task: jobs mostly wait on Mailchimp and
    /// Redis, so many run at once (up to <see cref="JobsOptions.Concurrency"/>, and none is claimed while the process is
    /// under the GC's high memory load). Mailchimp's cap per account stays the only limit on calls. While claims succeed,
    /// it makes more of them at once (twice as many each time, up to <see cref="MaxClaimsAtOnce"/>): a burst of queued jobs
    /// would otherwise wait for one round trip each, and on a busy replica a round trip is slow. With nothing to claim
    /// it waits for <see cref="JobStore.Claimable"/> (a job queued or ended here or on another replica) or the poll interval.
    /// On shutdown it waits for the running jobs, which give their leases back.
    /// </summary>
    private async Task DispatchAsync(CancellationToken stoppingToken)
    {
        using var room = new SemaphoreSlim(options.Value.Concurrency);
        var running = new HashSet<Task>();
        var claimsAtOnce = 1;
        await layout.WaitAsync(stoppingToken);
        await store.ListenAsync();
        try
        {
            while (true)
            {
                await room.WaitAsync(stoppingToken);
                var places = 1;
                while (places < claimsAtOnce && room.Wait(0))
                {
                    places++;
                }

                running.RemoveWhere(run => run.IsCompleted);
                // Each job starts as soon as its own claim returns, not when the slowest claim of the burst does.
                Task?[] runs = UnderMemoryPressure() ? [] : await Task.WhenAll(Enumerable.Range(0, places).Select(_ => ClaimAndStartAsync(room, stoppingToken)));
                var claimed = 0;
                foreach (var run in runs.OfType<Task>())
                {
                    running.Add(run);
                    claimed++;
                }

                if (claimed < places)
                {
                    room.Release(places - claimed);
                }

                if (claimed > 0)
                {
                    claimsAtOnce = claimed == places ? Math.Min(claimsAtOnce * 2, MaxClaimsAtOnce) : claimsAtOnce;
                    continue;
                }

                claimsAtOnce = 1;
                await IdleAsync(stoppingToken);
                if (!await store.Claimable.WaitAsync(options.Value.PollInterval, stoppingToken))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(running);
    }

    /// <summary>Claims a job and starts it (it gives its place in <paramref name="room"/> back when it ends); null when none was claimed.</summary>
    private async Task<Task?> ClaimAndStartAsync(SemaphoreSlim room, CancellationToken stoppingToken) =>
        await ClaimAsync(stoppingToken) is { } lease ? RunAndFreeAsync(lease, room, stoppingToken) : null;

    private async Task<JobLease?> ClaimAsync(CancellationToken stoppingToken)
    {
        try
        {
            return await store.ClaimAsync(stoppingToken);
        }
        catch (Exception exception) when (StoreFaults.IsStoreFault(exception))
        {
            LogClaimFailed(logger, exception);
            return null;
        }
    }

    /// <summary>What an idle replica does between claims: the queue-depth gauge, the sweep of untold completions, and the subscription if it is missing.</summary>
    private async Task IdleAsync(CancellationToken stoppingToken)
    {
        try
        {
            HubTelemetry.Jobs.RecordQueueDepth(await store.QueueDepthAsync(stoppingToken));
            var now = time.GetUtcNow().UtcTicks;
            var due = Interlocked.Read(ref _nextSweepTicks);
            if (now >= due && Interlocked.CompareExchange(ref _nextSweepTicks, now + SweepInterval.Ticks, due) == due)
            {
                await store.NotifyOverdueAsync(options.Value.CompletionRetryDelay, stoppingToken);
            }

            await store.ListenAsync();
        }
        catch (Exception exception) when (StoreFaults.IsStoreFault(exception))
        {
            LogClaimFailed(logger, exception);
        }
    }

    private async Task RunAndFreeAsync(JobLease lease, SemaphoreSlim room, CancellationToken stoppingToken)
    {
        await Task.Yield(); // the dispatcher goes on claiming while this job runs
        try
        {
            await RunAsync(lease, stoppingToken);
        }
        catch (Exception exception) when (StoreFaults.IsStoreFault(exception))
        {
            // Only when finishing a job that failed for another reason met an outage: the lease runs out on its
            // own and the job is taken over from its checkpoint.
            LogRunFailed(logger, exception, lease.JobId);
        }
        finally
        {
            room.Release();
        }
    }

    /// <summary>The GC's own "high memory load" (by default 90% of the memory the process may use, container limits included): claim nothing more until it eases.</summary>
    private static bool UnderMemoryPressure()
    {
        var memory = GC.GetGCMemoryInfo();
        return memory.HighMemoryLoadThresholdBytes > 0 && memory.MemoryLoadBytes >= memory.HighMemoryLoadThresholdBytes;
    }

    /// <summary>
    /// Runs a claimed job to its end. A store fault (<see cref="StoreFaults"/>) anywhere in a run pauses the job with
    /// growing pauses and runs the handler again from the stored checkpoint once Redis answers; an outage longer than
    /// <see cref="JobsOptions.StoreOutageLimit"/> fails the job with <c>store_unavailable</c>. A dependency that stays
    /// unavailable (<see cref="JobOutageException"/>) is waited out the same way within a run (see
    /// <see cref="PauseForDependencyAsync"/>), up to <see cref="JobsOptions.DependencyOutageLimit"/>. A run that finds the
    /// stored checkpoint moved (the store lost writes) continues from the stored one at once. A success whose counts do
    /// not add up is planned again from the start, at most <see cref="MaxReplans"/> times, then failed with
    /// <c>inconsistent_counts</c>.
    /// </summary>
    private async Task RunAsync(JobLease lease, CancellationToken stoppingToken)
    {
        // Every log line of the run, the handler's included, names the tenant and the job (hub.tenant.id, hub.job.id,
        // hub.job.kind): as attributes in the OTLP export, which adds the current job's (it leaves scopes out: ASP.NET Core's
        // request scope holds paths that can name an address), and in the scope, for log providers that show scopes.
        using var job = JobLogContext.Enter(lease.Tenant.ToString(), lease.JobId.ToString(), lease.Kind);
        using var scope = logger.BeginScope(job.Job.Attributes);
        var storeOutage = new JobOutage(FirstStorePause, MaxStorePause, options.Value.StoreOutageLimit, time);
        var dependencyOutage = new JobOutage(FirstDependencyPause, MaxDependencyPause, options.Value.DependencyOutageLimit, time);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await RunOnceAsync(lease, storeOutage, dependencyOutage, stoppingToken))
                {
                    return;
                }

                storeOutage.ResetPause();
            }
            catch (Exception exception) when (StoreFaults.IsStoreFault(exception))
            {
                if (!storeOutage.TryNextPause(out var pause, out var waited))
                {
                    LogOutageTooLong(logger, lease.JobId, waited);
                    await FinishDespiteOutageAsync(lease, JobOutcome.Failed(StoreFaults.Code), stoppingToken);
                    return;
                }

                HubTelemetry.Jobs.StorePauses.Add(1);
                LogStorePaused(logger, exception.GetType().Name, lease.JobId, pause);
                try
                {
                    await Task.Delay(pause, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    // Shutdown: the lease expires and another replica continues the job from its checkpoint.
                    return;
                }
            }
        }

        // Shut down before the job ran (claimed as the replica stopped) or between two runs of it: hand it back, as a run
        // does on shutdown, so another replica takes it over at once instead of when the lease runs out.
        try
        {
            if (await store.ReleaseAsync(lease, CancellationToken.None))
            {
                LogReleased(logger, lease.JobId);
            }
        }
        catch (Exception exception) when (StoreFaults.IsStoreFault(exception))
        {
            // The lease runs out on its own.
        }
    }

    /// <summary>Finishes the job once the store answers again, however long that takes, unless the replica stops first (then the lease expires and the job is continued elsewhere).</summary>
    private async Task FinishDespiteOutageAsync(JobLease lease, JobOutcome outcome, CancellationToken stoppingToken)
    {
        var outage = new JobOutage(FirstStorePause, MaxStorePause, TimeSpan.MaxValue, time);
        while (true)
        {
            try
            {
                Report(await store.FinishAsync(lease, outcome, CancellationToken.None), lease.JobId, null);
                return;
            }
            catch (Exception exception) when (StoreFaults.IsStoreFault(exception))
            {
                outage.TryNextPause(out var pause, out _);
                try
                {
                    await Task.Delay(pause, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} stopped on a Redis failure; it is taken over once its lease expires.")]
    private static partial void LogRunFailed(ILogger logger, Exception exception, JobId jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Claiming a job (or the idle work between claims) failed; retrying after the poll interval.")]
    private static partial void LogClaimFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} paused: the store did not answer ({Fault}); trying again in {Pause}.")]
    private static partial void LogStorePaused(ILogger logger, string fault, JobId jobId, TimeSpan pause);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} failed: the store did not answer for {Waited}.")]
    private static partial void LogOutageTooLong(ILogger logger, JobId jobId, TimeSpan waited);
}
