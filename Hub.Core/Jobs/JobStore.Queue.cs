using Hub.Core.Diagnostics;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Hub.Core.Jobs;

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

// Queueing, cancelling and claiming: how a job gets from a request to a worker.
public sealed partial class JobStore
{
    private const int QueueScanLength = 100;

    // The shards with jobs, in turn: the next claim looks first at the shards after the one served last.
    private readonly ShardTurns _turns = new();

    // This replica's claims in one shard go one at a time (claims in other shards go on meanwhile). Claims made at once
    // (JobWorker claims in bursts) would otherwise all read the same tenant at the head of the ring, and all but one would
    // lose the claim script and start over.
    private readonly SemaphoreSlim[] _shardClaims = [.. RedisKeys.AllShards.Select(_ => new SemaphoreSlim(1, 1))];

    private static readonly RedisScript EnqueueScript = RedisScript.Load("Jobs", "enqueue");
    private static readonly RedisScript CancelScript = RedisScript.Load("Jobs", "cancel");
    private static readonly RedisScript ClaimScript = RedisScript.Load("Jobs", "claim");
    private static readonly RedisScript RotateTenantScript = RedisScript.Load("Jobs", "rotate_tenant");
    private static readonly RedisScript TakeOverScript = RedisScript.Load("Jobs", "take_over");

    /// <summary>
    /// Queues a job. A queued job for the same list is cancelled as superseded by this one (its input
    /// deleted); a running one keeps running and this job waits for it.
    /// </summary>
    public async Task<(Job Job, JobId? Superseded)> EnqueueAsync(JobRequest request, CancellationToken cancellationToken)
    {
        var (job, superseded, _) = await EnqueueAsync(request, join: false, cancellationToken);
        return (job, superseded);
    }

    /// <summary>
    /// Queues a job unless its list already has a queued or running one: then nothing is queued and that job is answered
    /// (<c>Joined</c>), in the same atomic step, so two concurrent requests for the same list end with one job.
    /// </summary>
    public async Task<(Job Job, bool Joined)> EnqueueOrJoinAsync(JobRequest request, CancellationToken cancellationToken)
    {
        var (job, _, joined) = await EnqueueAsync(request, join: true, cancellationToken);
        return (job, joined);
    }

    private async Task<(Job Job, JobId? Superseded, bool Joined)> EnqueueAsync(JobRequest request, bool join, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Kind);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.ListKey);
        using var span = HubTelemetry.StartRedis("job.enqueue");
        var now = time.GetUtcNow();
        var fields = JobRecord.NewFields(request, now, Options.MaxStoredErrors);
        var errors = request.InitialErrors.Take(Options.MaxStoredErrors).Select(error => (RedisValue)SerializeError(error));

        var shard = RedisKeys.ShardOf(request.Tenant);
        for (var attempt = 0; attempt < MaxOptimisticAttempts; attempt++)
        {
            var queued = await Db.HashGetAsync(keys.TenantQueuedJobByList(request.Tenant), request.ListKey);
            var old = JobId.TryParse(queued.ToString(), out var oldId) ? oldId : request.Id;
            var result = (RedisValue[]?)await EnqueueScript.EvaluateAsync(Db,
                [
                    keys.Job(shard, request.Id), keys.TenantJobQueue(request.Tenant), keys.JobTenantRing(shard), keys.TenantJobs(request.Tenant),
                    keys.TenantQueuedJobByList(request.Tenant), keys.JobInput(shard, request.Id), keys.Job(shard, old), keys.JobInput(shard, old),
                    keys.JobQueueDepth(shard), keys.JobErrors(shard, request.Id), keys.JobErrors(shard, old), keys.JobsToNotify(shard), keys.TenantRunningJobByList(request.Tenant),
                ],
                [
                    request.Id.ToString(), request.Tenant.ToString(), request.ListKey, queued.IsNull ? "" : queued, now.ToUnixTimeMilliseconds(),
                    (now - DateTimeOffset.UnixEpoch).Ticks / 10, RetentionSeconds, join ? "1" : "0", fields.Length / 2, .. fields, .. errors,
                ]);
            switch ((long)result![0])
            {
                case 1:
                    var job = await GetAsync(shard, request.Id, includeErrors: false, cancellationToken) ?? throw new InvalidOperationException("Enqueued job vanished.");
                    JobId? superseded = null;
                    if (!queued.IsNullOrEmpty)
                    {
                        superseded = oldId;
                        LogSuperseded(logger, oldId, request.Id);
                        await NotifyAsync(shard, oldId, cancellationToken);
                    }

                    AnnounceClaimable();
                    return (job, superseded, false);
                case -3:
                    // The job to join may have ended since: then the next attempt queues this one.
                    if (JobId.TryParse(result[1].ToString(), out var existingId) && await GetAsync(shard, existingId, includeErrors: false, cancellationToken) is { State: JobState.Queued or JobState.Running } existing)
                    {
                        return (existing, null, true);
                    }

                    break;
                case -2:
                    throw new InvalidOperationException($"Job {request.Id} already exists.");
            }
        }

        throw new InvalidOperationException($"The queue of list '{request.ListKey}' kept changing; enqueue abandoned after {MaxOptimisticAttempts} attempts.");
    }

    /// <summary>Cancels a queued job at once, or flags a running one for its worker.</summary>
    public async Task<CancelResult> CancelAsync(TenantId tenant, JobId id, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("job.cancel");
        var shard = RedisKeys.ShardOf(tenant);
        var identity = await Db.HashGetAsync(keys.Job(shard, id), [JobRecord.Tenant, JobRecord.List]);
        if (identity[0].IsNull || identity[0] != tenant.ToString())
        {
            return CancelResult.NotFound;
        }

        var result = (long)await CancelScript.EvaluateAsync(Db,
            [keys.Job(shard, id), keys.TenantJobQueue(tenant), keys.JobTenantRing(shard), keys.TenantQueuedJobByList(tenant), keys.JobInput(shard, id), keys.JobQueueDepth(shard), keys.JobErrors(shard, id), keys.JobsToNotify(shard)],
            id.ToString(), tenant.ToString(), identity[1], NowMs, RetentionSeconds);
        switch (result)
        {
            case 1:
                await NotifyAsync(shard, id, cancellationToken);
                return CancelResult.Cancelled;
            case 2:
                return CancelResult.CancelRequested;
            case 3:
                return CancelResult.AlreadyFinished;
            default:
                return CancelResult.NotFound;
        }
    }

    /// <summary>
    /// Claims a job for a worker: first a running job whose lease expired (taken over, or failed when it
    /// used up its attempts), otherwise the first claimable job of the tenant at the head of a shard's ring.
    /// Null when there is nothing to do. One batch looks at every shard's leases and ring; the look starts after the shard
    /// served last, so the shards with work take turns (and within a shard its ring makes the tenants take turns).
    /// </summary>
    public async Task<JobLease?> ClaimAsync(CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("job.claim", lookingForWork: true);
        var now = NowMs;
        var batch = Db.CreateBatch();
        var expired = RedisKeys.AllShards.Select(shard => batch.SortedSetLengthAsync(keys.JobLeases(shard), double.NegativeInfinity, now)).ToList();
        var rings = RedisKeys.AllShards.Select(shard => batch.ListLengthAsync(keys.JobTenantRing(shard))).ToList();
        batch.Execute();
        await Task.WhenAll([.. expired, .. rings]);

        foreach (var shard in _turns.InTurn(shard => expired[shard].Result > 0))
        {
            if (await InShardAsync(shard, () => TakeOverExpiredAsync(shard, cancellationToken)) is { } lease)
            {
                return Served(shard, lease);
            }
        }

        // Tenants with queued jobs take turns across shards too: a shard is chosen in proportion to the tenants in its ring.
        foreach (var shard in _turns.ByWeight(shard => rings[shard].Result))
        {
            if (await InShardAsync(shard, () => ClaimQueuedAsync(shard, cancellationToken)) is { } lease)
            {
                return Served(shard, lease);
            }
        }

        return null;

        JobLease Served(int shard, JobLease lease)
        {
            _turns.Served(shard);
            return lease;
        }
    }

    private async Task<JobLease?> InShardAsync(int shard, Func<Task<JobLease?>> claim)
    {
        await _shardClaims[shard].WaitAsync();
        try
        {
            return await claim();
        }
        finally
        {
            _shardClaims[shard].Release();
        }
    }

    private async Task<JobLease?> TakeOverExpiredAsync(int shard, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxOptimisticAttempts; attempt++)
        {
            var now = NowMs;
            var expired = await Db.SortedSetRangeByScoreAsync(keys.JobLeases(shard), double.NegativeInfinity, now, take: 1);
            if (expired.Length == 0 || !JobId.TryParse(expired[0].ToString(), out var id))
            {
                return null;
            }

            var identity = await Db.HashGetAsync(keys.Job(shard, id), [JobRecord.Tenant, JobRecord.List, JobRecord.Kind]);
            if (!TenantId.TryParse(identity[0].ToString(), out var tenant))
            {
                await Db.SortedSetRemoveAsync(keys.JobLeases(shard), expired[0]);
                continue;
            }

            var token = NewToken();
            var result = (long)await TakeOverScript.EvaluateAsync(Db,
                [keys.Job(shard, id), keys.TenantRunningJobByList(tenant), keys.JobLeases(shard), keys.JobInput(shard, id), keys.JobErrors(shard, id), keys.JobsToNotify(shard)],
                id.ToString(), now, now + (long)Options.LeaseDuration.TotalMilliseconds, token, Options.MaxAttempts, RetentionSeconds, identity[1],
                $"Lost its lease {Options.MaxAttempts} times (the worker crashed or hung); giving up.");
            if (result == 1)
            {
                LogTakenOver(logger, id);
                return new JobLease(id, tenant, identity[2].ToString(), identity[1].ToString(), token);
            }

            if (result == 2)
            {
                LogFailedAfterAttempts(logger, id, Options.MaxAttempts);
                await NotifyAsync(shard, id, cancellationToken);
            }
        }

        return null;
    }

    private async Task<JobLease?> ClaimQueuedAsync(int shard, CancellationToken cancellationToken)
    {
        var tenantsTried = 0;
        for (var attempt = 0; attempt < MaxOptimisticAttempts; attempt++)
        {
            var head = await Db.ListGetByIndexAsync(keys.JobTenantRing(shard), 0);
            if (!TenantId.TryParse(head.ToString(), out var tenant))
            {
                return null;
            }

            var ids = await Db.ListRangeAsync(keys.TenantJobQueue(tenant), 0, QueueScanLength - 1);
            var running = (await Db.HashKeysAsync(keys.TenantRunningJobByList(tenant))).Select(key => key.ToString()).ToHashSet(StringComparer.Ordinal);
            var batch = Db.CreateBatch();
            var lists = ids.Select(id => batch.HashGetAsync(keys.Job(shard, JobId.Parse(id.ToString())), JobRecord.List)).ToList();
            var kinds = ids.Select(id => batch.HashGetAsync(keys.Job(shard, JobId.Parse(id.ToString())), JobRecord.Kind)).ToList();
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
                await RotateTenantScript.EvaluateAsync(Db, [keys.JobTenantRing(shard), keys.TenantJobQueue(tenant)], tenant.ToString());
                if (++tenantsTried >= await Db.ListLengthAsync(keys.JobTenantRing(shard)))
                {
                    return null;
                }

                continue;
            }

            var id = JobId.Parse(ids[candidate].ToString());
            var listKey = (await lists[candidate]).ToString();
            var now = NowMs;
            var token = NewToken();
            var claimed = (long)await ClaimScript.EvaluateAsync(Db,
                [keys.JobTenantRing(shard), keys.TenantJobQueue(tenant), keys.Job(shard, id), keys.TenantRunningJobByList(tenant), keys.JobLeases(shard), keys.TenantQueuedJobByList(tenant), keys.JobQueueDepth(shard)],
                tenant.ToString(), id.ToString(), listKey, now, now + (long)Options.LeaseDuration.TotalMilliseconds, token);
            if (claimed == 1)
            {
                return new JobLease(id, tenant, (await kinds[candidate]).ToString(), listKey, token);
            }
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} was superseded by job {NewJobId} before it ran.")]
    private static partial void LogSuperseded(ILogger logger, JobId jobId, JobId newJobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} lost its lease; this worker takes it over from its last checkpoint.")]
    private static partial void LogTakenOver(ILogger logger, JobId jobId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} lost its lease {MaxAttempts} times and is failed.")]
    private static partial void LogFailedAfterAttempts(ILogger logger, JobId jobId, int maxAttempts);
}
