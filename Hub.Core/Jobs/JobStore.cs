using System.Security.Cryptography;
using System.Text.Json;
using Hub.Core.Diagnostics;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Core.Jobs;

/// <summary>
/// Durable jobs and their fair queue in Redis.
/// <para>Layout (see <see cref="RedisKeys"/>): a hash per job (<c>job:{id}</c>, fields in <see cref="JobRecord"/>) with
/// its state, counts, timings, checkpoint and lease; a capped list of member errors (<c>job:{id}:errors</c>); the job's
/// input, staged before it was queued (<see cref="RedisKeys.JobInput(int, JobId)"/>); a sorted set of a tenant's jobs by creation;
/// per tenant a FIFO list of queued ids plus hashes list key → queued job and list key → running job; a ring (list) of
/// tenants with queued jobs; one sorted set of running jobs by lease expiry; a queued-jobs counter.</para>
/// <para>Guarantees: every state change is one Lua script (<c>Jobs/Lua</c>), so concurrent replicas never see half a
/// change. At most one job per list is queued (a newer request supersedes it) and at most one runs.
/// Claiming serves the tenant at the head of the ring and moves it to the tail, so tenants take turns.
/// Every write a worker makes checks its lease token; once its lease expired and another worker took the
/// job over, the old worker's writes are refused. A job whose lease expired is taken over by the next
/// claim (attempts + 1) and resumes from its checkpoint; after <see cref="JobsOptions.MaxAttempts"/>
/// pick-ups that ended in a lost lease it fails. A graceful release does not count as lost.</para>
/// <para>The class is split by concern: queueing, cancelling and claiming in <c>JobStore.Queue.cs</c>; what a worker
/// writes while it holds a job, and ending it, in <c>JobStore.Leases.cs</c>; telling the completion listeners in
/// <c>JobStore.Notifications.cs</c>; reads and tenant deletion here.</para>
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

    private IDatabase Db => redis.GetDatabase();
    private JobsOptions Options => options.Value;
    private long NowMs => time.GetUtcNow().ToUnixTimeMilliseconds();
    private long RetentionSeconds => (long)Options.Retention.TotalSeconds;

    /// <summary>One job of a tenant with its stored errors (null when missing or another tenant's).</summary>
    public async Task<Job?> GetAsync(TenantId tenant, JobId id, CancellationToken cancellationToken) =>
        await GetAsync(RedisKeys.ShardOf(tenant), id, includeErrors: true, cancellationToken) is { } job && job.Tenant == tenant ? job : null;

    /// <summary>A page of a tenant's jobs, newest first (after <paramref name="after"/>), without their errors. Ids of jobs past retention are pruned.</summary>
    public async Task<Page<Job>> ListRecentAsync(TenantId tenant, PageCursor? after, int limit, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("job.list");
        var entries = await Db.RangeAfterAsync(keys.TenantJobs(tenant), after, limit + 1, Order.Descending);
        var page = entries.Take(limit).ToList();
        var batch = Db.CreateBatch();
        var reads = page.Select(entry => batch.HashGetAllAsync(keys.Job(tenant, JobId.Parse(entry.Element.ToString())))).ToList();
        batch.Execute();
        var jobs = new List<Job>();
        for (var i = 0; i < page.Count; i++)
        {
            if (JobRecord.Read(await reads[i], []) is { } job)
            {
                jobs.Add(job);
            }
            else
            {
                await Db.SortedSetRemoveAsync(keys.TenantJobs(tenant), page[i].Element);
            }
        }

        // No total: the index keeps ids of jobs that expired until a read like this one drops them.
        return new Page<Job>(jobs, entries.Length > limit ? Paging.CursorAfter(page[^1]) : null, null);
    }

    /// <summary>Queued jobs across all tenants (the counters of every shard).</summary>
    public Task<long> QueueDepthAsync(CancellationToken cancellationToken) =>
        ShardReads.SumAsync(Db, (batch, shard) => batch.StringGetAsync(keys.JobQueueDepth(shard)), depth => (long?)depth ?? 0);

    /// <summary>Deletes every job of the tenant, its queue and its place in the ring.</summary>
    public async Task DeleteTenantDataAsync(TenantId tenant, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("job.delete-tenant");
        var shard = RedisKeys.ShardOf(tenant);
        await StoreTransactions.RetryOnConflictAsync(async () =>
        {
            var ids = await Db.SortedSetRangeByRankAsync(keys.TenantJobs(tenant));
            var queued = await Db.ListLengthAsync(keys.TenantJobQueue(tenant));
            var transaction = Db.CreateTransaction();
            var sameQueue = transaction.AddCondition(StoreCondition.ListLengthEqual(keys.TenantJobQueue(tenant), queued));
            _ = transaction.KeyDeleteAsync(
                [
                    keys.TenantJobs(tenant), keys.TenantJobQueue(tenant), keys.TenantQueuedJobByList(tenant), keys.TenantRunningJobByList(tenant),
                    .. ids.SelectMany(id => JobId.TryParse(id.ToString(), out var job) ? new[] { keys.Job(shard, job), keys.JobErrors(shard, job), keys.JobInput(shard, job) } : []),
                ]);
            _ = transaction.ListRemoveAsync(keys.JobTenantRing(shard), tenant.ToString());
            _ = transaction.SortedSetRemoveAsync(keys.JobLeases(shard), ids);
            _ = transaction.SortedSetRemoveAsync(keys.JobsToNotify(shard), ids);
            _ = transaction.StringDecrementAsync(keys.JobQueueDepth(shard), queued);
            if (!await transaction.ExecuteCheckedAsync(sameQueue))
            {
                // A job was queued or taken meanwhile: read again.
                throw new StoreConflictException($"The job queue of tenant {tenant} changed during its deletion.");
            }

            return true;
        });
    }

    /// <summary>
    /// The kept member errors of the tenant's jobs that <paramref name="mentions"/> accepts, each with its job and its stored
    /// form (for <see cref="RemoveErrorsAsync"/>). Reads every kept job's errors: for a person's rights (Hub.Core/People), which are rare.
    /// </summary>
    public async Task<IReadOnlyList<(JobId Job, RedisValue Stored)>> ErrorsMentioningAsync(TenantId tenant, Func<MemberError, bool> mentions, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("job.errors-mentioning");
        var found = new List<(JobId, RedisValue)>();
        foreach (var page in (await Db.SortedSetRangeByRankAsync(keys.TenantJobs(tenant))).Chunk(100))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var jobs = page.Select(id => JobId.TryParse(id.ToString(), out var job) ? job : (JobId?)null).OfType<JobId>().ToList();
            var batch = Db.CreateBatch();
            var reads = jobs.Select(job => batch.ListRangeAsync(keys.JobErrors(tenant, job))).ToList();
            batch.Execute();
            for (var i = 0; i < jobs.Count; i++)
            {
                found.AddRange((await reads[i])
                    .Where(stored => JsonSerializer.Deserialize(stored.ToString(), HubJsonContext.Default.MemberError) is { } error && mentions(error))
                    .Select(stored => (jobs[i], stored)));
            }
        }

        return found;
    }

    /// <summary>Removes kept member errors (as read by <see cref="ErrorsMentioningAsync"/>); a job's error total stays, as it counts the errors reported.</summary>
    public async Task RemoveErrorsAsync(TenantId tenant, IReadOnlyList<(JobId Job, RedisValue Stored)> errors, CancellationToken cancellationToken)
    {
        var batch = Db.CreateBatch();
        var removals = errors.Select(error => batch.ListRemoveAsync(keys.JobErrors(tenant, error.Job), error.Stored)).ToList();
        batch.Execute();
        await Task.WhenAll(removals);
    }

    /// <summary>One job of a tenant, with or without its stored errors.</summary>
    internal Task<Job?> GetAsync(TenantId tenant, JobId id, bool includeErrors, CancellationToken cancellationToken) =>
        GetAsync(RedisKeys.ShardOf(tenant), id, includeErrors, cancellationToken);

    internal async Task<Job?> GetAsync(int shard, JobId id, bool includeErrors, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("job.get");
        var batch = Db.CreateBatch();
        var fields = batch.HashGetAllAsync(keys.Job(shard, id));
        var errors = includeErrors ? batch.ListRangeAsync(keys.JobErrors(shard, id)) : Task.FromResult(Array.Empty<RedisValue>());
        batch.Execute();
        return JobRecord.Read(await fields, await errors);
    }

    /// <summary>A member error as kept in a job's errors list (JSON).</summary>
    internal static string SerializeError(MemberError error) => JsonSerializer.Serialize(error, HubJsonContext.Default.MemberError);

    private static string NewToken() => RandomNumberGenerator.GetHexString(32, lowercase: true);
}
