using System.Security.Cryptography;
using System.Text.Json;
using Hub.Core.Diagnostics;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Core.Jobs;

/// <summary>A worker's hold on a running job. The token changes on every pick-up, so a worker whose lease was taken over can no longer write.</summary>
public sealed record JobLease(JobId JobId, TenantId Tenant, string Kind, string ListKey, string Token);

/// <summary>What a lease-checked write found.</summary>
public enum LeaseStatus
{
    /// <summary>The lease expired and another worker may have the job: stop without writing more.</summary>
    Lost,
    Held,

    /// <summary>Still held, and someone asked to cancel the job.</summary>
    CancelRequested,

    /// <summary>Still held, but the stored checkpoint is not the one the worker expected: nothing was written (see <see cref="JobCheckpointMovedException"/>).</summary>
    CheckpointMoved,
}

/// <summary>What <see cref="JobStore.CancelAsync"/> did.</summary>
public enum CancelResult
{
    NotFound,

    /// <summary>The job was queued and is now cancelled.</summary>
    Cancelled,

    /// <summary>The job is running; its worker stops it at the handler's next checkpoint or lease renewal.</summary>
    CancelRequested,
    AlreadyFinished,
}

/// <summary>
/// Durable jobs and their fair queue in Redis.
/// <para>Layout (see <see cref="RedisKeys"/>): a hash per job (<c>job:{id}</c>) with its state, counts,
/// timings, checkpoint and lease; a capped list of member errors (<c>job:{id}:errors</c>); a sorted set of
/// a tenant's jobs by creation; per tenant a FIFO list of queued ids plus hashes list key → queued job and
/// list key → running job; a ring (list) of tenants with queued jobs; one sorted set of running jobs by
/// lease expiry; a queued-jobs counter.</para>
/// <para>Guarantees: every state change is one Lua script, so concurrent replicas never see half a
/// change. At most one job per list is queued (a newer request supersedes it) and at most one runs.
/// Claiming serves the tenant at the head of the ring and moves it to the tail, so tenants take turns.
/// Every write a worker makes checks its lease token; once its lease expired and another worker took the
/// job over, the old worker's writes are refused. A job whose lease expired is taken over by the next
/// claim (attempts + 1) and resumes from its checkpoint; after <see cref="JobsOptions.MaxAttempts"/>
/// pick-ups that ended in a lost lease it fails. A graceful release does not count as lost.</para>
/// </summary>
public sealed partial class JobStore(
    IConnectionMultiplexer redis,
    RedisKeys keys,
    IOptions<JobsOptions> options,
    TimeProvider time,
    IEnumerable<IJobCompletionListener> listeners,
    ILogger<JobStore> logger) : ITenantDataOwner
{
    private const int MaxOptimisticAttempts = 20;
    private const int QueueScanLength = 100;

    private IDatabase Db => redis.GetDatabase();
    private JobsOptions Options => options.Value;
    private long NowMs => time.GetUtcNow().ToUnixTimeMilliseconds();
    private long RetentionSeconds => (long)Options.Retention.TotalSeconds;

    /// <summary>
    /// Queues a job. A queued job for the same list is cancelled as superseded by this one (its staged
    /// data deleted); a running one keeps running and this job waits for it.
    /// </summary>
    public async Task<(Job Job, JobId? Superseded)> EnqueueAsync(JobRequest request, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Kind);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.ListKey);
        using var span = HubTelemetry.StartRedis("job.enqueue");
        var now = time.GetUtcNow();
        var counts = request.InitialCounts;
        RedisValue[] fields =
        [
            JobFields.Id, request.Id.ToString(), JobFields.Tenant, request.Tenant.ToString(), JobFields.Kind, request.Kind,
            JobFields.List, request.ListKey, JobFields.State, JobState.Queued.ToName(), JobFields.Created, now.ToUnixTimeMilliseconds(),
            JobFields.Attempts, 0, JobFields.Releases, 0,
            JobFields.Total, counts.Total, JobFields.Added, counts.Added, JobFields.Updated, counts.Updated,
            JobFields.Removed, counts.Removed, JobFields.Unchanged, counts.Unchanged, JobFields.Failed, counts.Failed,
            JobFields.ErrorTotal, Math.Max(request.InitialErrorTotal, request.InitialErrors.Count),
            JobFields.Argument, request.Argument ?? "",
            JobFields.Initial, string.Join(' ', counts.Total, counts.Added, counts.Updated, counts.Removed, counts.Unchanged, counts.Failed,
                Math.Max(request.InitialErrorTotal, request.InitialErrors.Count), Math.Min(request.InitialErrors.Count, Options.MaxStoredErrors)),
        ];
        var errors = request.InitialErrors.Take(Options.MaxStoredErrors).Select(error => (RedisValue)SerializeError(error));

        for (var attempt = 0; attempt < MaxOptimisticAttempts; attempt++)
        {
            var queued = await Db.HashGetAsync(keys.TenantQueuedJobByList(request.Tenant), request.ListKey);
            var old = JobId.TryParse(queued.ToString(), out var oldId) ? oldId : request.Id;
            var result = (RedisValue[]?)await Db.ScriptEvaluateAsync(JobScripts.Enqueue,
                [
                    keys.Job(request.Id), keys.TenantJobQueue(request.Tenant), keys.JobTenantRing, keys.TenantJobs(request.Tenant),
                    keys.TenantQueuedJobByList(request.Tenant), keys.JobDesiredSet(request.Id), keys.Job(old), keys.JobDesiredSet(old),
                    keys.JobQueueDepth, keys.JobErrors(request.Id), keys.JobErrors(old), keys.JobsToNotify,
                ],
                [
                    request.Id.ToString(), request.Tenant.ToString(), request.ListKey, queued.IsNull ? "" : queued, now.ToUnixTimeMilliseconds(),
                    (now - DateTimeOffset.UnixEpoch).Ticks / 10, RetentionSeconds, fields.Length / 2, .. fields, .. errors,
                ]);
            switch ((long)result![0])
            {
                case 1:
                    var job = await GetAsync(request.Id, includeErrors: false, cancellationToken) ?? throw new InvalidOperationException("Enqueued job vanished.");
                    JobId? superseded = null;
                    if (!queued.IsNullOrEmpty)
                    {
                        superseded = oldId;
                        LogSuperseded(logger, oldId, request.Id);
                        await NotifyAsync(oldId, cancellationToken);
                    }

                    return (job, superseded);
                case -2:
                    throw new InvalidOperationException($"Job {request.Id} already exists.");
            }
        }

        throw new InvalidOperationException($"The queue of list '{request.ListKey}' kept changing; enqueue abandoned after {MaxOptimisticAttempts} attempts.");
    }

    /// <summary>One job with its stored errors, or null.</summary>
    public Task<Job?> GetAsync(JobId id, CancellationToken cancellationToken) => GetAsync(id, includeErrors: true, cancellationToken);

    /// <summary>One job of a tenant (null when missing or another tenant's).</summary>
    public async Task<Job?> GetAsync(TenantId tenant, JobId id, CancellationToken cancellationToken) =>
        await GetAsync(id, includeErrors: true, cancellationToken) is { } job && job.Tenant == tenant ? job : null;

    /// <summary>A tenant's most recent jobs, newest first, without their errors. Ids of jobs past retention are pruned.</summary>
    public async Task<IReadOnlyList<Job>> ListRecentAsync(TenantId tenant, int limit, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("job.list");
        var ids = await Db.SortedSetRangeByRankAsync(keys.TenantJobs(tenant), 0, limit - 1, Order.Descending);
        var batch = Db.CreateBatch();
        var reads = ids.Select(id => batch.HashGetAllAsync(keys.Job(JobId.Parse(id.ToString())))).ToList();
        batch.Execute();
        var jobs = new List<Job>();
        for (var i = 0; i < ids.Length; i++)
        {
            if (ReadJob(await reads[i], []) is { } job)
            {
                jobs.Add(job);
            }
            else
            {
                await Db.SortedSetRemoveAsync(keys.TenantJobs(tenant), ids[i]);
            }
        }

        return jobs;
    }

    /// <summary>Cancels a queued job at once, or flags a running one for its worker.</summary>
    public async Task<CancelResult> CancelAsync(TenantId tenant, JobId id, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("job.cancel");
        var identity = await Db.HashGetAsync(keys.Job(id), [JobFields.Tenant, JobFields.List]);
        if (identity[0].IsNull || identity[0] != tenant.ToString())
        {
            return CancelResult.NotFound;
        }

        var result = (long)await Db.ScriptEvaluateAsync(JobScripts.Cancel,
            [keys.Job(id), keys.TenantJobQueue(tenant), keys.JobTenantRing, keys.TenantQueuedJobByList(tenant), keys.JobDesiredSet(id), keys.JobQueueDepth, keys.JobErrors(id), keys.JobsToNotify],
            [id.ToString(), tenant.ToString(), identity[1], NowMs, RetentionSeconds]);
        switch (result)
        {
            case 1:
                await NotifyAsync(id, cancellationToken);
                return CancelResult.Cancelled;
            case 2:
                return CancelResult.CancelRequested;
            case 3:
                return CancelResult.AlreadyFinished;
            default:
                return CancelResult.NotFound;
        }
    }

    /// <summary>Queued jobs across all tenants.</summary>
    public async Task<long> QueueDepthAsync(CancellationToken cancellationToken) =>
        (long?)await Db.StringGetAsync(keys.JobQueueDepth) ?? 0;

    /// <summary>
    /// Claims a job for a worker: first a running job whose lease expired (taken over, or failed when it
    /// used up its attempts), otherwise the first claimable job of the tenant at the head of the ring.
    /// Null when there is nothing to do.
    /// </summary>
    public async Task<JobLease?> ClaimAsync(CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("job.claim");
        return await TakeOverExpiredAsync(cancellationToken) ?? await ClaimQueuedAsync(cancellationToken);
    }

    private async Task<JobLease?> TakeOverExpiredAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxOptimisticAttempts; attempt++)
        {
            var now = NowMs;
            var expired = await Db.SortedSetRangeByScoreAsync(keys.JobLeases, double.NegativeInfinity, now, take: 1);
            if (expired.Length == 0 || !JobId.TryParse(expired[0].ToString(), out var id))
            {
                return null;
            }

            var identity = await Db.HashGetAsync(keys.Job(id), [JobFields.Tenant, JobFields.List, JobFields.Kind]);
            if (!TenantId.TryParse(identity[0].ToString(), out var tenant))
            {
                await Db.SortedSetRemoveAsync(keys.JobLeases, expired[0]);
                continue;
            }

            var token = NewToken();
            var result = (long)await Db.ScriptEvaluateAsync(JobScripts.TakeOver,
                [keys.Job(id), keys.TenantRunningJobByList(tenant), keys.JobLeases, keys.JobDesiredSet(id), keys.JobErrors(id), keys.JobsToNotify],
                [id.ToString(), now, now + (long)Options.LeaseDuration.TotalMilliseconds, token, Options.MaxAttempts, RetentionSeconds, identity[1],
                 $"Lost its lease {Options.MaxAttempts} times (the worker crashed or hung); giving up."]);
            if (result == 1)
            {
                LogTakenOver(logger, id);
                return new JobLease(id, tenant, identity[2].ToString(), identity[1].ToString(), token);
            }

            if (result == 2)
            {
                LogFailedAfterAttempts(logger, id, Options.MaxAttempts);
                await NotifyAsync(id, cancellationToken);
            }
        }

        return null;
    }

    private async Task<JobLease?> ClaimQueuedAsync(CancellationToken cancellationToken)
    {
        var tenantsTried = 0;
        for (var attempt = 0; attempt < MaxOptimisticAttempts; attempt++)
        {
            var head = await Db.ListGetByIndexAsync(keys.JobTenantRing, 0);
            if (!TenantId.TryParse(head.ToString(), out var tenant))
            {
                return null;
            }

            var ids = await Db.ListRangeAsync(keys.TenantJobQueue(tenant), 0, QueueScanLength - 1);
            var running = (await Db.HashKeysAsync(keys.TenantRunningJobByList(tenant))).Select(key => key.ToString()).ToHashSet(StringComparer.Ordinal);
            var batch = Db.CreateBatch();
            var lists = ids.Select(id => batch.HashGetAsync(keys.Job(JobId.Parse(id.ToString())), JobFields.List)).ToList();
            var kinds = ids.Select(id => batch.HashGetAsync(keys.Job(JobId.Parse(id.ToString())), JobFields.Kind)).ToList();
            batch.Execute();

            var candidate = -1;
            for (var i = 0; i < ids.Length; i++)
            {
                if (!(await lists[i]).IsNull && !running.Contains((await lists[i]).ToString()))
                {
                    candidate = i;
                    break;
                }
            }

            if (candidate < 0)
            {
                // Every queued job of this tenant waits for a running one on the same list: next tenant.
                await Db.ScriptEvaluateAsync(JobScripts.RotateTenant, [keys.JobTenantRing, keys.TenantJobQueue(tenant)], [tenant.ToString()]);
                if (++tenantsTried >= await Db.ListLengthAsync(keys.JobTenantRing))
                {
                    return null;
                }

                continue;
            }

            var id = JobId.Parse(ids[candidate].ToString());
            var listKey = (await lists[candidate]).ToString();
            var now = NowMs;
            var token = NewToken();
            var claimed = (long)await Db.ScriptEvaluateAsync(JobScripts.Claim,
                [keys.JobTenantRing, keys.TenantJobQueue(tenant), keys.Job(id), keys.TenantRunningJobByList(tenant), keys.JobLeases, keys.TenantQueuedJobByList(tenant), keys.JobQueueDepth],
                [tenant.ToString(), id.ToString(), listKey, now, now + (long)Options.LeaseDuration.TotalMilliseconds, token]);
            if (claimed == 1)
            {
                return new JobLease(id, tenant, (await kinds[candidate]).ToString(), listKey, token);
            }
        }

        return null;
    }

    /// <summary>Extends the lease; tells the worker whether it still holds it and whether a cancel was asked for.</summary>
    public async Task<LeaseStatus> RenewAsync(JobLease lease, CancellationToken cancellationToken) =>
        ToLeaseStatus(await Db.ScriptEvaluateAsync(JobScripts.Renew, [keys.Job(lease.JobId), keys.JobLeases],
            [lease.JobId.ToString(), lease.Token, NowMs + (long)Options.LeaseDuration.TotalMilliseconds]));

    /// <summary>Stores the handler's checkpoint if the lease is still held.</summary>
    public async Task<LeaseStatus> SaveCheckpointAsync(JobLease lease, string checkpoint, CancellationToken cancellationToken) =>
        ToLeaseStatus(await Db.ScriptEvaluateAsync(JobScripts.Checkpoint, [keys.Job(lease.JobId)], [lease.Token, checkpoint]));

    /// <summary>Adds to the job's counts if the lease is still held.</summary>
    public async Task<LeaseStatus> AddCountsAsync(JobLease lease, JobCounts delta, CancellationToken cancellationToken) =>
        ToLeaseStatus(await Db.ScriptEvaluateAsync(JobScripts.AddCounts, [keys.Job(lease.JobId)],
            [lease.Token, delta.Total, delta.Added, delta.Updated, delta.Removed, delta.Unchanged, delta.Failed]));

    /// <summary>Records member errors (kept up to the cap, always counted) if the lease is still held.</summary>
    public async Task<LeaseStatus> RecordMemberErrorsAsync(JobLease lease, IReadOnlyList<MemberError> errors, CancellationToken cancellationToken) =>
        ToLeaseStatus(await Db.ScriptEvaluateAsync(JobScripts.RecordErrors, [keys.Job(lease.JobId), keys.JobErrors(lease.JobId)],
            [lease.Token, Options.MaxStoredErrors, .. errors.Select(error => (RedisValue)SerializeError(error))]));

    /// <summary>
    /// Ends the job with the outcome if the lease is still held (null otherwise): clears the lease and the
    /// list's running marker, deletes the job's staged data, starts the retention clock, tells the listeners.
    /// A success is checked first: unless added + updated + unchanged + removed + failed equals the total, nothing
    /// changes and <see cref="JobCountsInconsistentException"/> is thrown (the worker plans the job again).
    /// </summary>
    public async Task<Job?> FinishAsync(JobLease lease, JobOutcome outcome, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("job.finish");
        var finished = await Db.ScriptEvaluateAsync(JobScripts.Finish,
            [keys.Job(lease.JobId), keys.JobErrors(lease.JobId), keys.TenantRunningJobByList(lease.Tenant), keys.JobLeases, keys.JobDesiredSet(lease.JobId), keys.JobsToNotify],
            [lease.JobId.ToString(), lease.ListKey, lease.Token, outcome.State.ToName(), NowMs, outcome.FailureReason ?? "", RetentionSeconds]);
        if (finished.IsNull)
        {
            return null;
        }

        if ((string?)finished == JobScripts.Inconsistent)
        {
            throw new JobCountsInconsistentException(lease.JobId);
        }

        return await NotifyAsync(lease.JobId, cancellationToken);
    }

    /// <summary>
    /// Resets a running job to how it was enqueued (counts, stored errors, no checkpoint) so its handler plans it again
    /// from the start, if the lease is still held and it was planned again fewer than <paramref name="maxReplans"/> times.
    /// Returns whether it was reset.
    /// </summary>
    public async Task<bool> ReplanAsync(JobLease lease, int maxReplans, CancellationToken cancellationToken) =>
        (long)await Db.ScriptEvaluateAsync(JobScripts.Replan, [keys.Job(lease.JobId), keys.JobErrors(lease.JobId)], [lease.Token, maxReplans]) > 0;

    /// <summary>Gives the job back (graceful shutdown): its lease expires now, so any replica takes it over at once; not counted as a lost attempt.</summary>
    public async Task<bool> ReleaseAsync(JobLease lease, CancellationToken cancellationToken) =>
        (long)await Db.ScriptEvaluateAsync(JobScripts.Release, [keys.Job(lease.JobId), keys.JobLeases], [lease.JobId.ToString(), lease.Token, NowMs]) == 1;

    /// <summary>Deletes every job of the tenant, its queue and its place in the ring.</summary>
    public async Task DeleteTenantDataAsync(TenantId tenant, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("job.delete-tenant");
        var ids = await Db.SortedSetRangeByRankAsync(keys.TenantJobs(tenant));
        var queued = await Db.ListLengthAsync(keys.TenantJobQueue(tenant));
        var transaction = Db.CreateTransaction();
        var sameQueue = transaction.AddCondition(Condition.ListLengthEqual(keys.TenantJobQueue(tenant), queued));
        _ = transaction.KeyDeleteAsync(
            [
                keys.TenantJobs(tenant), keys.TenantJobQueue(tenant), keys.TenantQueuedJobByList(tenant), keys.TenantRunningJobByList(tenant),
                .. ids.SelectMany(id => JobId.TryParse(id.ToString(), out var job) ? new[] { keys.Job(job), keys.JobErrors(job), keys.JobDesiredSet(job) } : []),
            ]);
        _ = transaction.ListRemoveAsync(keys.JobTenantRing, tenant.ToString());
        _ = transaction.SortedSetRemoveAsync(keys.JobLeases, ids);
        _ = transaction.SortedSetRemoveAsync(keys.JobsToNotify, ids);
        _ = transaction.StringDecrementAsync(keys.JobQueueDepth, queued);
        if (!await transaction.ExecuteCheckedAsync(sameQueue))
        {
            throw new InvalidOperationException($"The job queue of tenant {tenant} changed during deletion; try again.");
        }
    }

    internal async Task<Job?> GetAsync(JobId id, bool includeErrors, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("job.get");
        var batch = Db.CreateBatch();
        var fields = batch.HashGetAllAsync(keys.Job(id));
        var errors = includeErrors ? batch.ListRangeAsync(keys.JobErrors(id)) : Task.FromResult(Array.Empty<RedisValue>());
        batch.Execute();
        return ReadJob(await fields, await errors);
    }

    /// <summary>
    /// Tells the listeners of finished jobs that were not (all) told yet: a replica or the store failed between the end
    /// of the job and the listeners' answers. Called by idle workers; a job is re-told no sooner than
    /// <paramref name="grace"/> after it ended (or was last tried), and listeners must be idempotent (the sync webhook
    /// keeps one delivery id per job).
    /// </summary>
    public async Task<int> NotifyOverdueAsync(TimeSpan grace, CancellationToken cancellationToken)
    {
        var now = NowMs;
        var due = (RedisValue[])(await Db.ScriptEvaluateAsync(JobScripts.TakeDueNotifications, [keys.JobsToNotify],
            [now - (long)grace.TotalMilliseconds, now, 20]))!;
        foreach (var id in due)
        {
            if (JobId.TryParse(id.ToString(), out var job))
            {
                LogRenotifying(logger, job);
                await NotifyAsync(job, cancellationToken);
            }
            else
            {
                await Db.SortedSetRemoveAsync(keys.JobsToNotify, id);
            }
        }

        return due.Length;
    }

    /// <summary>Tells every listener that the job ended; once all answered, takes the job out of the notify set (a failure leaves it there for <see cref="NotifyOverdueAsync"/>).</summary>
    private async Task<Job?> NotifyAsync(JobId id, CancellationToken cancellationToken)
    {
        var job = await GetAsync(id, includeErrors: true, cancellationToken);
        if (job is null)
        {
            await Db.SortedSetRemoveAsync(keys.JobsToNotify, id.ToString());
            return null;
        }

        var told = true;
        foreach (var listener in listeners)
        {
            try
            {
                await listener.OnJobFinishedAsync(job, cancellationToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                told = false;
                LogListenerFailed(logger, exception, id, listener.GetType().Name);
            }
        }

        if (told)
        {
            await Db.SortedSetRemoveAsync(keys.JobsToNotify, id.ToString());
        }

        return job;
    }

    private static Job? ReadJob(HashEntry[] entries, RedisValue[] errors)
    {
        if (entries.Length == 0)
        {
            return null;
        }

        var map = entries.ToDictionary(entry => entry.Name.ToString(), entry => entry.Value, StringComparer.Ordinal);
        if (!map.ContainsKey(JobFields.Id))
        {
            return null;
        }

        long Number(string field) => map.TryGetValue(field, out var value) && value.TryParse(out long number) ? number : 0;
        string? Text(string field) => map.TryGetValue(field, out var value) && !value.IsNullOrEmpty ? value.ToString() : null;
        DateTimeOffset? Time(string field) => map.ContainsKey(field) ? DateTimeOffset.FromUnixTimeMilliseconds(Number(field)) : null;

        return new Job
        {
            Id = JobId.Parse(map[JobFields.Id].ToString()),
            Tenant = TenantId.Parse(map[JobFields.Tenant].ToString()),
            Kind = map[JobFields.Kind].ToString(),
            ListKey = map[JobFields.List].ToString(),
            State = JobStates.Parse(map[JobFields.State].ToString()),
            Counts = new JobCounts(Number(JobFields.Total), Number(JobFields.Added), Number(JobFields.Updated), Number(JobFields.Removed), Number(JobFields.Unchanged), Number(JobFields.Failed)),
            Errors = errors.Select(error => JsonSerializer.Deserialize(error.ToString(), HubJsonContext.Default.MemberError)!).ToList(),
            ErrorTotal = Number(JobFields.ErrorTotal),
            CreatedAt = Time(JobFields.Created)!.Value,
            StartedAt = Time(JobFields.Started),
            FinishedAt = Time(JobFields.Finished),
            Attempts = (int)Number(JobFields.Attempts),
            FailureReason = Text(JobFields.Failure),
            SupersededBy = JobId.TryParse(Text(JobFields.SupersededBy), out var by) ? by : null,
            Checkpoint = Text(JobFields.Checkpoint),
            CancelRequested = Text(JobFields.Cancel) == "1",
            Argument = Text(JobFields.Argument),
            Replans = (int)Number(JobFields.Replans),
        };
    }

    internal static string SerializeError(MemberError error) => JsonSerializer.Serialize(error, HubJsonContext.Default.MemberError);

    private static string NewToken() => RandomNumberGenerator.GetHexString(32, lowercase: true);

    private static LeaseStatus ToLeaseStatus(RedisResult result) => (long)result switch
    {
        1 => LeaseStatus.Held,
        2 => LeaseStatus.CancelRequested,
        _ => LeaseStatus.Lost,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} was superseded by job {NewJobId} before it ran.")]
    private static partial void LogSuperseded(ILogger logger, JobId jobId, JobId newJobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} lost its lease; this worker takes it over from its last checkpoint.")]
    private static partial void LogTakenOver(ILogger logger, JobId jobId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} lost its lease {MaxAttempts} times and is failed.")]
    private static partial void LogFailedAfterAttempts(ILogger logger, JobId jobId, int maxAttempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ended without all its listeners told; telling them now.")]
    private static partial void LogRenotifying(ILogger logger, JobId jobId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job completion listener {Listener} failed for job {JobId}; it is told again later.")]
    private static partial void LogListenerFailed(ILogger logger, Exception exception, JobId jobId, string listener);
}

/// <summary>Field names of the job hash, shared by the C# code and the Lua scripts.</summary>
internal static class JobFields
{
    public const string Id = "id";
    public const string Tenant = "tenant";
    public const string Kind = "kind";
    public const string List = "list";
    public const string State = "state";
    public const string Created = "created";
    public const string Started = "started";
    public const string Finished = "finished";
    public const string Attempts = "attempts";
    public const string Releases = "releases";
    public const string Failure = "failure";
    public const string SupersededBy = "supersededBy";
    public const string Checkpoint = "checkpoint";
    public const string LeaseToken = "leaseToken";
    public const string LeaseExpires = "leaseExpires";
    public const string Cancel = "cancel";
    public const string Total = "total";
    public const string Added = "added";
    public const string Updated = "updated";
    public const string Removed = "removed";
    public const string Unchanged = "unchanged";
    public const string Failed = "failed";
    public const string ErrorTotal = "errorTotal";
    public const string Argument = "argument";
    public const string Initial = "initial";
    public const string Replans = "replans";
}

/// <summary>A job asked to succeed while its counts do not add up to its total: something was lost on the way.</summary>
public sealed class JobCountsInconsistentException(JobId job) : Exception($"Job {job}'s counts do not add up to its total.");
