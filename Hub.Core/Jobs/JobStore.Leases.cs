using Hub.Core.Diagnostics;
using Hub.Core.Storage;
using Hub.Core.Tenants;
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

// What a worker writes while it holds a job's lease, and how the job ends. Each write is one script that first checks
// the lease token (Jobs/Lua/job_record.lua), so a worker whose lease was taken over changes nothing.
public sealed partial class JobStore
{
    /// <summary>What <c>finish.lua</c> answers when a success's counts do not add up to its total.</summary>
    private const string Inconsistent = "!inconsistent";

    private static readonly RedisScript RenewScript = RedisScript.Load("Jobs", "renew");
    private static readonly RedisScript CheckpointScript = RedisScript.Load("Jobs", "checkpoint");
    private static readonly RedisScript AddCountsScript = RedisScript.Load("Jobs", "add_counts");
    private static readonly RedisScript RecordErrorsScript = RedisScript.Load("Jobs", "record_errors");
    private static readonly RedisScript FinishScript = RedisScript.Load("Jobs", "finish");
    private static readonly RedisScript ReplanScript = RedisScript.Load("Jobs", "replan");
    private static readonly RedisScript ReleaseScript = RedisScript.Load("Jobs", "release");

    /// <summary>Extends the lease; tells the worker whether it still holds it and whether a cancel was asked for.</summary>
    public async Task<LeaseStatus> RenewAsync(JobLease lease, CancellationToken cancellationToken) =>
        ToLeaseStatus(await RenewScript.EvaluateAsync(Db, [keys.Job(lease.Tenant, lease.JobId), keys.JobLeases(RedisKeys.ShardOf(lease.Tenant))],
            lease.JobId.ToString(), lease.Token, NowMs + (long)Options.LeaseDuration.TotalMilliseconds));

    /// <summary>Stores the handler's checkpoint if the lease is still held.</summary>
    public async Task<LeaseStatus> SaveCheckpointAsync(JobLease lease, string checkpoint, CancellationToken cancellationToken) =>
        ToLeaseStatus(await CheckpointScript.EvaluateAsync(Db, [keys.Job(lease.Tenant, lease.JobId)], lease.Token, checkpoint));

    /// <summary>Adds to the job's counts if the lease is still held.</summary>
    public async Task<LeaseStatus> AddCountsAsync(JobLease lease, JobCounts delta, CancellationToken cancellationToken) =>
        ToLeaseStatus(await AddCountsScript.EvaluateAsync(Db, [keys.Job(lease.Tenant, lease.JobId)],
            lease.Token, delta.Total, delta.Added, delta.Updated, delta.Removed, delta.Unchanged, delta.Failed));

    /// <summary>Records member errors (kept up to the cap, always counted) if the lease is still held.</summary>
    public async Task<LeaseStatus> RecordMemberErrorsAsync(JobLease lease, IReadOnlyList<MemberError> errors, CancellationToken cancellationToken) =>
        ToLeaseStatus(await RecordErrorsScript.EvaluateAsync(Db, [keys.Job(lease.Tenant, lease.JobId), keys.JobErrors(lease.Tenant, lease.JobId)],
            [lease.Token, Options.MaxStoredErrors, .. errors.Select(error => (RedisValue)SerializeError(error))]));

    /// <summary>
    /// Ends the job with the outcome if the lease is still held (null otherwise): clears the lease and the
    /// list's running marker, deletes the job's input, starts the retention clock, tells the listeners.
    /// A success is checked first: unless added + updated + unchanged + removed + failed equals the total, nothing
    /// changes and <see cref="JobCountsInconsistentException"/> is thrown (the worker plans the job again).
    /// </summary>
    public async Task<Job?> FinishAsync(JobLease lease, JobOutcome outcome, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("job.finish");
        var finished = await FinishScript.EvaluateAsync(Db,
            [keys.Job(lease.Tenant, lease.JobId), keys.JobErrors(lease.Tenant, lease.JobId), keys.TenantRunningJobByList(lease.Tenant), keys.JobLeases(RedisKeys.ShardOf(lease.Tenant)), keys.JobInput(lease.Tenant, lease.JobId), keys.JobsToNotify(RedisKeys.ShardOf(lease.Tenant))],
            lease.JobId.ToString(), lease.ListKey, lease.Token, outcome.State.ToName(), NowMs, outcome.FailureReason ?? "", RetentionSeconds);
        if (finished.IsNull)
        {
            return null;
        }

        if ((string?)finished == Inconsistent)
        {
            throw new JobCountsInconsistentException(lease.JobId);
        }

        AnnounceClaimable(); // a queued job of the same list may run now
        return await NotifyAsync(RedisKeys.ShardOf(lease.Tenant), lease.JobId, cancellationToken);
    }

    /// <summary>
    /// Resets a running job to how it was enqueued (counts, stored errors, no checkpoint) so its handler plans it again
    /// from the start, if the lease is still held and it was planned again fewer than <paramref name="maxReplans"/> times.
    /// Returns whether it was reset.
    /// </summary>
    public async Task<bool> ReplanAsync(JobLease lease, int maxReplans, CancellationToken cancellationToken) =>
        (long)await ReplanScript.EvaluateAsync(Db, [keys.Job(lease.Tenant, lease.JobId), keys.JobErrors(lease.Tenant, lease.JobId)], lease.Token, maxReplans) > 0;

    /// <summary>Gives the job back (graceful shutdown): its lease expires now, so any replica takes it over at once; not counted as a lost attempt.</summary>
    public async Task<bool> ReleaseAsync(JobLease lease, CancellationToken cancellationToken)
    {
        var released = (long)await ReleaseScript.EvaluateAsync(Db, [keys.Job(lease.Tenant, lease.JobId), keys.JobLeases(RedisKeys.ShardOf(lease.Tenant))], lease.JobId.ToString(), lease.Token, NowMs) == 1;
        if (released)
        {
            AnnounceClaimable();
        }

        return released;
    }

    private static LeaseStatus ToLeaseStatus(RedisResult result) => (long)result switch
    {
        1 => LeaseStatus.Held,
        2 => LeaseStatus.CancelRequested,
        _ => LeaseStatus.Lost,
    };
}

/// <summary>A job asked to succeed while its counts do not add up to its total: something was lost on the way.</summary>
public sealed class JobCountsInconsistentException(JobId job) : Exception($"Job {job}'s counts do not add up to its total.");
