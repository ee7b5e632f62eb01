using System.Diagnostics;
using Hub.Core.Diagnostics;
using Hub.Core.Storage;
using Microsoft.Extensions.Logging;

namespace Hub.Core.Jobs;

// One run of a handler on a claimed job: the lease check before it, the renewals during it, the dependency outages it
// waits out, and how it ends (finished, planned again, cancelled, released or lost).
public sealed partial class JobWorker
{
    // While a dependency stays unavailable (JobOutageException), a job pauses 1 s, then twice as long each time, at most 30 s.
    private static readonly TimeSpan FirstDependencyPause = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxDependencyPause = TimeSpan.FromSeconds(30);

    /// <summary>One run of the handler. True when the job is done with here (finished, lost, released); false to run it again from the stored checkpoint.</summary>
    private async Task<bool> RunOnceAsync(JobLease lease, JobOutage storeOutage, JobOutage dependencyOutage, CancellationToken stoppingToken)
    {
        // Still ours? After an outage the lease may have expired and the job moved on to another replica.
        var renewed = await store.RenewAsync(lease, CancellationToken.None);
        storeOutage.Ended();
        if (renewed == LeaseStatus.Lost)
        {
            LogLeaseLost(logger, lease.JobId);
            return true;
        }

        var job = await store.GetAsync(lease.Tenant, lease.JobId, includeErrors: false, CancellationToken.None);
        if (job is null)
        {
            return true;
        }

        // Its own trace (a job can outlive the request by hours, and be run again elsewhere), linked to the request that queued it.
        ActivityLink[]? queuedBy = ActivityContext.TryParse(job.QueuedBy, null, out var request) ? [new ActivityLink(request)] : null;
        using var activity = HubTelemetry.Source.StartActivity($"job {job.Kind}", ActivityKind.Internal, parentContext: default, links: queuedBy);
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
        catch (JobOutageException outage)
        {
            outcome = await PauseForDependencyAsync(context, outage, dependencyOutage, activity, stop.Token);
            if (outcome is null && !stop.IsCancellationRequested)
            {
                return false;
            }
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

    /// <summary>
    /// The handler found a dependency unavailable after its client's own retries (<see cref="JobOutageException"/>). Waits
    /// a growing pause while the renewals keep the lease, so the run is then made again from the stored checkpoint; once
    /// the outage has lasted <see cref="JobsOptions.DependencyOutageLimit"/>, answers the failure to end the job with
    /// instead. Null after the pause, or when a cancel request, a lost lease or shutdown cut it short (the run's token is
    /// tripped then). A run that saved a checkpoint before the outage starts a new outage.
    /// </summary>
    private async Task<JobOutcome?> PauseForDependencyAsync(JobContext context, JobOutageException outage, JobOutage dependencyOutage, Activity? activity, CancellationToken stop)
    {
        if (!string.Equals(context.Checkpoint, context.Job.Checkpoint, StringComparison.Ordinal))
        {
            dependencyOutage.Ended();
            dependencyOutage.ResetPause();
        }

        activity?.SetStatus(ActivityStatusCode.Error, outage.Code);
        if (!dependencyOutage.TryNextPause(out var pause, out var waited))
        {
            LogDependencyOutageTooLong(logger, outage, context.Job.Id, outage.Code, waited);
            return JobOutcome.Failed(outage.Code);
        }

        HubTelemetry.Jobs.DependencyPauses.Add(1);
        LogDependencyPaused(logger, context.Job.Id, outage.Code, outage.Message, pause);
        try
        {
            await Task.Delay(pause, time, stop);
        }
        catch (OperationCanceledException)
        {
            // A cancel request, a lost lease or shutdown: the run decides what follows.
        }

        return null;
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
        var tenant = new KeyValuePair<string, object?>(HubTelemetry.Tags.TenantId, finished.Tenant.ToString());
        HubTelemetry.Jobs.Finished.Add(1, kind, new KeyValuePair<string, object?>(HubTelemetry.Jobs.StateTag, state), tenant);
        HubTelemetry.Jobs.MembersProcessed.Add(finished.Counts.Processed, kind, tenant);
        if (finished.Duration is { } duration)
        {
            HubTelemetry.Jobs.Duration.Record(duration.TotalSeconds, kind, new KeyValuePair<string, object?>(HubTelemetry.Jobs.StateTag, state), tenant);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} paused: a dependency is unavailable ({Code}: {Reason}); running it again from its checkpoint in {Pause}.")]
    private static partial void LogDependencyPaused(ILogger logger, JobId jobId, string code, string reason, TimeSpan pause);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} failed with {Code}: a dependency stayed unavailable for {Waited}.")]
    private static partial void LogDependencyOutageTooLong(ILogger logger, Exception exception, JobId jobId, string code, TimeSpan waited);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: the store holds an earlier checkpoint than this run wrote (it lost writes); continuing from the stored one.")]
    private static partial void LogCheckpointMoved(ILogger logger, JobId jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} is planned again from the start: {Reason}.")]
    private static partial void LogReplanned(ILogger logger, JobId jobId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} failed: {Reason}, and it was planned again too often.")]
    private static partial void LogInconsistent(ILogger logger, JobId jobId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the lease of job {JobId} failed.")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception, JobId jobId);
}
