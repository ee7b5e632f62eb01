using Hub.Core.Diagnostics;
using Hub.Core.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hub.Core.Jobs;

/// <summary>
/// Runs jobs on every replica: <see cref="JobsOptions.Concurrency"/> loops each claim a job from
/// <see cref="JobStore"/> (fair between tenants, expired leases first), renew its lease every
/// <see cref="JobsOptions.RenewInterval"/> while the <see cref="IJobHandler"/> for its kind runs, and finish
/// it only while still holding the lease. The handler's token is tripped on a cancel request, a lost lease
/// or shutdown; on shutdown the lease is released so another replica resumes the job at once. A worker
/// that dies without releasing leaves the lease to expire, and the next claim anywhere takes the job over.
/// <para>This file holds the loops and the store outages a job waits out; one run of a handler, with its renewals,
/// dependency outages and end, is in <c>JobWorker.Run.cs</c>.</para>
/// </summary>
public sealed partial class JobWorker(
    JobStore store,
    IEnumerable<IJobHandler> handlers,
    IOptions<JobsOptions> options,
    TimeProvider time,
    ILogger<JobWorker> logger) : BackgroundService
{
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

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.WorkerEnabled)
        {
            return Task.CompletedTask;
        }

        return Task.WhenAll(Enumerable.Range(0, options.Value.Concurrency).Select(_ => Task.Run(() => LoopAsync(stoppingToken), CancellationToken.None)));
    }

    private async Task LoopAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            JobLease? lease = null;
            try
            {
                lease = await store.ClaimAsync(stoppingToken);
                if (lease is null)
                {
                    HubTelemetry.Jobs.RecordQueueDepth(await store.QueueDepthAsync(stoppingToken));
                    var now = time.GetUtcNow().UtcTicks;
                    var due = Interlocked.Read(ref _nextSweepTicks);
                    if (now >= due && Interlocked.CompareExchange(ref _nextSweepTicks, now + SweepInterval.Ticks, due) == due)
                    {
                        await store.NotifyOverdueAsync(options.Value.CompletionRetryDelay, stoppingToken);
                    }
                }
            }
            catch (Exception exception) when (StoreFaults.IsStoreFault(exception))
            {
                LogClaimFailed(logger, exception);
            }

            if (lease is not null)
            {
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

                continue;
            }

            try
            {
                await Task.Delay(options.Value.PollInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Claiming a job failed; retrying after the poll interval.")]
    private static partial void LogClaimFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} paused: the store did not answer ({Fault}); trying again in {Pause}.")]
    private static partial void LogStorePaused(ILogger logger, string fault, JobId jobId, TimeSpan pause);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} failed: the store did not answer for {Waited}.")]
    private static partial void LogOutageTooLong(ILogger logger, JobId jobId, TimeSpan waited);
}
