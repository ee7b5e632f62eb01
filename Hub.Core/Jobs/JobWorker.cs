using System.Diagnostics;
using Hub.Core.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

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
                }
            }
            catch (Exception exception) when (exception is RedisException or TimeoutException)
            {
                LogClaimFailed(logger, exception);
            }

            if (lease is not null)
            {
                try
                {
                    await RunAsync(lease, stoppingToken);
                }
                catch (Exception exception) when (exception is RedisException or TimeoutException)
                {
                    // The lease runs out on its own and the job is taken over from its checkpoint.
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

    private async Task RunAsync(JobLease lease, CancellationToken stoppingToken)
    {
        var job = await store.GetAsync(lease.JobId, includeErrors: false, CancellationToken.None);
        if (job is null)
        {
            return;
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
        catch (Exception exception) when (exception is not OperationCanceledException)
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
            return;
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
            return;
        }

        var finished = await store.FinishAsync(lease, outcome, CancellationToken.None);
        if (finished is null)
        {
            LogLeaseLost(logger, job.Id);
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

    /// <summary>Renews until stopped; trips the run when the lease is gone, a cancel was asked for, or renewals kept failing past the lease.</summary>
    private async Task RenewAsync(JobContext context, CancellationToken cancellationToken)
    {
        var heldUntil = time.GetUtcNow() + options.Value.LeaseDuration;
        using var timer = new PeriodicTimer(options.Value.RenewInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    var status = await store.RenewAsync(context.Lease, cancellationToken);
                    if (status != LeaseStatus.Lost)
                    {
                        heldUntil = time.GetUtcNow() + options.Value.LeaseDuration;
                    }

                    context.Observe(status);
                }
                catch (Exception exception) when (exception is RedisException or TimeoutException)
                {
                    LogRenewFailed(logger, exception, context.Lease.JobId);
                    if (time.GetUtcNow() >= heldUntil)
                    {
                        context.Observe(LeaseStatus.Lost);
                    }
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the lease of job {JobId} failed.")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception, JobId jobId);
}
