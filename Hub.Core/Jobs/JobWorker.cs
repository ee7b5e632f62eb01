using System.Diagnostics;
using Hub.Core.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Hub.Core.Storage;

namespace Hub.Core.Jobs;

/// <summary>
/// Runs jobs on every replica: <see cref="JobsOptions.Concurrency"/> loops each claim a job from
/// <see cref="JobStore"/> (fair between tenants, expired leases first), renew its lease every
/// <see cref="JobsOptions.RenewInterval"/> while the <see cref="IJobHandler"/> for its kind runs, and finish
/// it only while still holding the lease. The handler's token is tripped on a cancel request, a lost lease
/// or shutdown; on shutdown the lease is released so another replica resumes the job at once. A worker
/// that dies without releasing leaves the lease to expire, and the next claim anywhere takes the job over.
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

    private static readonly TimeSpan MaxOutagePause = TimeSpan.FromSeconds(5);

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
    /// <see cref="JobsOptions.StoreOutageLimit"/> fails the job with <c>store_unavailable</c>. A run that finds the
    /// stored checkpoint moved (the store lost writes) continues from the stored one at once. A success whose counts do
    /// not add up is planned again from the start, at most <see cref="MaxReplans"/> times, then failed with
    /// <c>inconsistent_counts</c>.
    /// </summary>
    private async Task RunAsync(JobLease lease, CancellationToken stoppingToken)
    {
        var outage = new Outage();
        var pause = TimeSpan.Zero;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await RunOnceAsync(lease, outage, stoppingToken))
                {
                    return;
                }

                pause = TimeSpan.Zero;
            }
            catch (Exception exception) when (StoreFaults.IsStoreFault(exception))
            {
                outage.Since ??= time.GetUtcNow();
                var waited = time.GetUtcNow() - outage.Since.Value;
                if (waited >= options.Value.StoreOutageLimit)
                {
                    LogOutageTooLong(logger, lease.JobId, waited);
                    await FinishDespiteOutageAsync(lease, JobOutcome.Failed(StoreFaults.Code), stoppingToken);
                    return;
                }

                HubTelemetry.Jobs.StorePauses.Add(1);
                pause = pause == TimeSpan.Zero ? TimeSpan.FromMilliseconds(250) : TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, MaxOutagePause.Ticks));
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

    /// <summary>When the store stopped answering, while it does not answer; null once it answered again.</summary>
    private sealed class Outage
    {
        public DateTimeOffset? Since { get; set; }
    }

    /// <summary>One run of the handler. True when the job is done with here (finished, lost, released); false to run it again from the stored checkpoint.</summary>
    private async Task<bool> RunOnceAsync(JobLease lease, Outage outage, CancellationToken stoppingToken)
    {
        // Still ours? After an outage the lease may have expired and the job moved on to another replica.
        var renewed = await store.RenewAsync(lease, CancellationToken.None);
        outage.Since = null;
        if (renewed == LeaseStatus.Lost)
        {
            LogLeaseLost(logger, lease.JobId);
            return true;
        }

        var job = await store.GetAsync(lease.JobId, includeErrors: false, CancellationToken.None);
        if (job is null)
        {
            return true;
        }

        using var activity = HubTelemetry.Source.StartActivity($"job {job.Kind}", ActivityKind.Internal);
        activity?.SetTag(HubTelemetry.Jobs.JobIdTag, job.Id.ToString());
        activity?.SetTag(HubTelemetry.Jobs.KindTag, job.Kind);
        activity?.SetTag(HubTelemetry.Jobs.AttemptTag, job.Attempts);
        activity?.SetTag(HubTelemetry.Tags.TenantId, job.Tenant.ToString());
        HubTelemetry.Jobs.Started.Add(1, new KeyValuePair<string, object?>(HubTelemetry.Jobs.KindTag, job.Kind));
        LogStarted(logger, job.Id, job.Kind, job.Attempts, job.Checkpoint is not null);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var context = new JobContext(job, lease, store, stop);
        using var renewalStop = new CancellationTokenSource();
        var renewal = RenewAsync(context, renewalStop.Token);

        JobOutcome? outcome = null;
        try
        {
            outcome = _handlers.TryGetValue(job.Kind, out var handler)
                ? await handler.RunAsync(context, stop.Token)
                : JobOutcome.Failed($"No handler is registered for job kind '{job.Kind}'.");
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Cancel request, lost lease or shutdown: decided below.
        }
        catch (JobCheckpointMovedException)
        {
            LogCheckpointMoved(logger, job.Id);
            activity?.SetStatus(ActivityStatusCode.Error, "checkpoint moved");
            return false;
        }
        catch (JobReplanException replan)
        {
            return !await ReplanAsync(lease, replan.Message, activity);
        }
        catch (Exception exception) when (!StoreFaults.IsStoreFault(exception) && exception is not OperationCanceledException)
        {
            LogHandlerFailed(logger, exception, job.Id);
            outcome = JobOutcome.Failed($"The job stopped on an unexpected error ({exception.GetType().Name}).");
        }
        finally
        {
            await renewalStop.CancelAsync();
            await renewal;
        }

        if (context.LeaseLost)
        {
            LogLeaseLost(logger, job.Id);
            activity?.SetStatus(ActivityStatusCode.Error, "lease lost");
            return true;
        }

        if (outcome is null && context.CancelRequested)
        {
            outcome = new JobOutcome(JobState.Cancelled, "Cancelled on request.");
        }

        if (outcome is null)
        {
            // Shutdown: hand the job back so another replica continues from the checkpoint at once.
            await store.ReleaseAsync(lease, CancellationToken.None);
            LogReleased(logger, job.Id);
            return true;
        }

        Job? finished;
        try
        {
            finished = await store.FinishAsync(lease, outcome, CancellationToken.None);
        }
        catch (JobCountsInconsistentException)
        {
            return !await ReplanAsync(lease, "its counts do not add up to its total", activity);
        }

        Report(finished, lease.JobId, activity);
        return true;
    }

    /// <summary>Plans the job again from the start; when it was planned again too often already, fails it with <c>inconsistent_counts</c>. True when it is to run again.</summary>
    private async Task<bool> ReplanAsync(JobLease lease, string reason, Activity? activity)
    {
        if (await store.ReplanAsync(lease, MaxReplans, CancellationToken.None))
        {
            LogReplanned(logger, lease.JobId, reason);
            return true;
        }

        LogInconsistent(logger, lease.JobId, reason);
        Report(await store.FinishAsync(lease, JobOutcome.Failed(InconsistentCounts), CancellationToken.None), lease.JobId, activity);
        return false;
    }

    /// <summary>Finishes the job once the store answers again, however long that takes, unless the replica stops first (then the lease expires and the job is continued elsewhere).</summary>
    private async Task FinishDespiteOutageAsync(JobLease lease, JobOutcome outcome, CancellationToken stoppingToken)
    {
        var pause = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            try
            {
                Report(await store.FinishAsync(lease, outcome, CancellationToken.None), lease.JobId, null);
                return;
            }
            catch (Exception exception) when (StoreFaults.IsStoreFault(exception))
            {
                try
                {
                    await Task.Delay(pause, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, MaxOutagePause.Ticks));
            }
        }
    }

    private void Report(Job? finished, JobId id, Activity? activity)
    {
        if (finished is null)
        {
            LogLeaseLost(logger, id);
            return;
        }

        var state = finished.State.ToName();
        activity?.SetTag(HubTelemetry.Jobs.StateTag, state);
        if (finished.State == JobState.Failed)
        {
            activity?.SetStatus(ActivityStatusCode.Error, finished.FailureReason);
        }

        var kind = new KeyValuePair<string, object?>(HubTelemetry.Jobs.KindTag, finished.Kind);
        HubTelemetry.Jobs.Finished.Add(1, kind, new KeyValuePair<string, object?>(HubTelemetry.Jobs.StateTag, state));
        HubTelemetry.Jobs.MembersProcessed.Add(finished.Counts.Processed, kind);
        if (finished.Duration is { } duration)
        {
            HubTelemetry.Jobs.Duration.Record(duration.TotalSeconds, kind, new KeyValuePair<string, object?>(HubTelemetry.Jobs.StateTag, state));
        }

        LogFinished(logger, finished.Id, state, finished.Counts.Processed);
    }

    /// <summary>
    /// Renews until stopped; trips the run when the lease is gone or a cancel was asked for. A renewal that fails on a
    /// store fault is only logged: the handler's own next write meets the same fault and pauses the job (see
    /// <see cref="RunAsync"/>), which then checks the lease before it continues.
    /// </summary>
    private async Task RenewAsync(JobContext context, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(options.Value.RenewInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    context.Observe(await store.RenewAsync(context.Lease, cancellationToken));
                }
                catch (Exception exception) when (StoreFaults.IsStoreFault(exception))
                {
                    LogRenewFailed(logger, exception, context.Lease.JobId);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The run ended.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} ({Kind}) started, attempt {Attempt}, resuming: {Resuming}.")]
    private static partial void LogStarted(ILogger logger, JobId jobId, string kind, int attempt, bool resuming);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} finished: {State}, {Processed} members processed.")]
    private static partial void LogFinished(ILogger logger, JobId jobId, string state, long processed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} lost its lease; another worker continues it.")]
    private static partial void LogLeaseLost(ILogger logger, JobId jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} released on shutdown; another replica resumes it.")]
    private static partial void LogReleased(ILogger logger, JobId jobId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} handler failed.")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, JobId jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} stopped on a Redis failure; it is taken over once its lease expires.")]
    private static partial void LogRunFailed(ILogger logger, Exception exception, JobId jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Claiming a job failed; retrying after the poll interval.")]
    private static partial void LogClaimFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} paused: the store did not answer ({Fault}); trying again in {Pause}.")]
    private static partial void LogStorePaused(ILogger logger, string fault, JobId jobId, TimeSpan pause);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} failed: the store did not answer for {Waited}.")]
    private static partial void LogOutageTooLong(ILogger logger, JobId jobId, TimeSpan waited);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: the store holds an earlier checkpoint than this run wrote (it lost writes); continuing from the stored one.")]
    private static partial void LogCheckpointMoved(ILogger logger, JobId jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} is planned again from the start: {Reason}.")]
    private static partial void LogReplanned(ILogger logger, JobId jobId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} failed: {Reason}, and it was planned again too often.")]
    private static partial void LogInconsistent(ILogger logger, JobId jobId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the lease of job {JobId} failed.")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception, JobId jobId);
}
