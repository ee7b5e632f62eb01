using Hub.Core.Lists;
using Hub.Core.Diagnostics;
using Hub.Core.Jobs;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Core.Members;

/// <summary>A member Mailchimp accepted: its fingerprint as sent, and whether Hub created it there (only those Hub removes later).</summary>
public sealed record AppliedMember(string SubscriberHash, string Fingerprint, bool CreatedByHub);

/// <summary>A member Mailchimp refused for good (compliance state, forgotten, fake): not sent again until its fingerprint changes.</summary>
public sealed record RefusedMember(string SubscriberHash, string Fingerprint, MemberError Error);

/// <summary>A member of a job's desired set that Mailchimp holds as unsubscribed or cleaned: Hub leaves it as it is.</summary>
public sealed record ReconciledMember(string SubscriberHash, string Fingerprint, string Status);

/// <summary>What applying one batch of a plan to Mailchimp did.</summary>
public sealed record LedgerBatch
{
    public IReadOnlyList<AppliedMember> Applied { get; init; } = [];
    public IReadOnlyList<RefusedMember> Refused { get; init; } = [];

    /// <summary>Subscriber hashes removed from the list (archived, unsubscribed or deleted per policy).</summary>
    public IReadOnlyList<string> Removed { get; init; } = [];

    /// <summary>Members that failed otherwise (a 400, retries exhausted, skipped as refused earlier); counted as failed.</summary>
    public IReadOnlyList<MemberError> Failed { get; init; } = [];

    public long Unchanged { get; init; }

    /// <summary>
    /// Members the plan found stored at their fingerprint by a call of this same job whose chunk was not recorded (a
    /// fault or a lost lease came between): not sent again, counted added (see <see cref="MemberLedger.RecordCreatedAsync"/>).
    /// </summary>
    public long AddedEarlier { get; init; }

    /// <summary>
    /// Errors that name no member of the batch (Mailchimp reported an address Hub did not send): stored with the job's
    /// errors so nothing goes unseen, but counted on nobody, so the counts still add up to the total.
    /// </summary>
    public IReadOnlyList<MemberError> Uncounted { get; init; } = [];

    /// <summary>
    /// Members a job's reconciliation found unsubscribed or cleaned in Mailchimp: recorded as refused and marked (with
    /// their status) in the job's staged set; counted as failed, with their error, when the plan reaches them.
    /// </summary>
    public IReadOnlyList<ReconciledMember> Reconciled { get; init; } = [];

    /// <summary>Members this batch adds to the job's total: removal candidates, which the staged total did not know of.</summary>
    public long AddsToTotal { get; init; }
}

/// <summary>What recording a batch changed in the list's ledger (zero for members already recorded).</summary>
public readonly record struct LedgerDelta(long Added, long Updated, long Removed, long Refused);

/// <summary>
/// What Hub synced into each list, per tenant and list key: a hash subscriber hash → fingerprint of every
/// member Hub synced, a set of the members Hub itself added (the only ones it ever removes), and a hash of
/// members Mailchimp refused → the fingerprint they were refused at. A set per tenant names its lists so
/// tenant deletion needs no SCAN.
/// <para>Recording is idempotent: one Lua script per batch compares before it counts (an applied member
/// whose fingerprint is already stored, a removal already gone, a refusal already stored at that
/// fingerprint count nothing). Within a job the script also moves the job's checkpoint from the expected
/// value to the next one and adds the counts, only while the worker holds the lease, so a batch repeated
/// after a crash (or by a worker that lost its lease) changes nothing.</para>
/// </summary>
public sealed class MemberLedger(IConnectionMultiplexer redis, RedisKeys keys, IOptions<JobsOptions> options) : ITenantDataOwner
{
    private IDatabase Db => redis.GetDatabase();

    /// <summary>
    /// Records a batch of a running job and advances its checkpoint from <see cref="JobContext.Checkpoint"/> to
    /// <paramref name="nextCheckpoint"/>, atomically. Throws <see cref="OperationCanceledException"/> when the lease
    /// is lost (nothing is recorded) or a cancel was requested (the batch is recorded first).
    /// </summary>
    public async Task RecordBatchAsync(JobContext context, LedgerBatch result, string nextCheckpoint, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("sync.record-batch");
        var lease = context.Lease;
        var outcome = await Db.ScriptEvaluateAsync(SyncScripts.RecordForJob,
            [.. ListKeys(lease.Tenant, lease.ListKey), keys.Job(lease.JobId), keys.JobErrors(lease.JobId), keys.JobDesiredSet(lease.JobId)],
            Arguments(lease.Token, context.Checkpoint ?? "", nextCheckpoint, lease.ListKey, result));
        var status = (long)((RedisResult[])outcome!)[0] switch
        {
            1 => LeaseStatus.Held,
            2 => LeaseStatus.CancelRequested,
            3 => LeaseStatus.CheckpointMoved,
            _ => LeaseStatus.Lost,
        };
        context.Committed(status, nextCheckpoint);
    }

    /// <summary>
    /// Records at once the contacts a job's call created, before their chunk is recorded in plan order: a run resumed
    /// after a fault or a takeover then knows they exist and does not send them again. Each is also marked in the job's
    /// staged set with its fingerprint (<c>Sync.DesiredSetChunks.Created</c>), so the plan that meets it later counts
    /// it added by this job rather than unchanged. Written whether or not the lease is still held: the contacts exist.
    /// </summary>
    public async Task RecordCreatedAsync(JobLease lease, IReadOnlyList<AppliedMember> created, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("sync.record-created");
        await Db.ScriptEvaluateAsync(SyncScripts.RecordCreated, [.. ListKeys(lease.Tenant, lease.ListKey), keys.JobDesiredSet(lease.JobId)],
            Arguments("", "", "", lease.ListKey, new LedgerBatch { Applied = created }));
    }

    /// <summary>Records a batch applied outside a job (an inline add or remove); idempotent per member. Member errors are the caller's to report.</summary>
    public async Task<LedgerDelta> RecordAsync(TenantId tenant, string listKey, LedgerBatch result, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("sync.record");
        var outcome = (RedisResult[])(await Db.ScriptEvaluateAsync(SyncScripts.RecordStandalone, ListKeys(tenant, listKey), Arguments("", "", "", listKey, result)))!;
        return new LedgerDelta((long)outcome[1], (long)outcome[2], (long)outcome[3], (long)outcome[4]);
    }

    /// <summary>The stored fingerprint of a member of a list, or null.</summary>
    public async Task<string?> GetFingerprintAsync(TenantId tenant, string listKey, string subscriberHash, CancellationToken cancellationToken) =>
        (string?)await Db.HashGetAsync(keys.ListFingerprints(tenant, listKey), subscriberHash);

    /// <summary>For each subscriber hash, whether Hub synced that member into the list (one round trip).</summary>
    public async Task<bool[]> HoldsAsync(TenantId tenant, string listKey, IReadOnlyList<string> subscriberHashes, CancellationToken cancellationToken) =>
        subscriberHashes.Count == 0 ? [] :
        [.. (await Db.HashGetAsync(keys.ListFingerprints(tenant, listKey), [.. subscriberHashes.Select(hash => (RedisValue)hash)])).Select(value => !value.IsNull)];

    public Task<bool> IsHubAddedAsync(TenantId tenant, string listKey, string subscriberHash, CancellationToken cancellationToken) =>
        Db.SetContainsAsync(keys.ListHubAdded(tenant, listKey), subscriberHash);

    /// <summary>Whether any of the lists holds the member (<paramref name="hubAddedOnly"/>: and Hub added it there); one round trip.</summary>
    public async Task<bool> AnyListHoldsAsync(TenantId tenant, IEnumerable<string> listKeys, string subscriberHash, bool hubAddedOnly, CancellationToken cancellationToken)
    {
        var batch = Db.CreateBatch();
        var checks = listKeys.Select(listKey => hubAddedOnly
            ? batch.SetContainsAsync(keys.ListHubAdded(tenant, listKey), subscriberHash)
            : batch.HashExistsAsync(keys.ListFingerprints(tenant, listKey), subscriberHash)).ToList();
        batch.Execute();
        return (await Task.WhenAll(checks)).Any(held => held);
    }

    /// <summary>The fingerprint a member was refused at, or null.</summary>
    public async Task<string?> GetRefusedFingerprintAsync(TenantId tenant, string listKey, string subscriberHash, CancellationToken cancellationToken) =>
        (string?)await Db.HashGetAsync(keys.ListRefused(tenant, listKey), subscriberHash);

    /// <summary>How many members Hub has synced into the list.</summary>
    public Task<long> CountAsync(TenantId tenant, string listKey, CancellationToken cancellationToken) =>
        Db.HashLengthAsync(keys.ListFingerprints(tenant, listKey));

    /// <summary>The subscriber hashes of the members Hub synced into the list (HSCAN of the list's own hash; never a keyspace scan).</summary>
    public async IAsyncEnumerable<string> MembersAsync(TenantId tenant, string listKey, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var entry in Db.HashScanAsync(keys.ListFingerprints(tenant, listKey), pageSize: 1000).WithCancellation(cancellationToken))
        {
            yield return entry.Name.ToString();
        }
    }

    /// <summary>Forgets what Hub synced to a list (when the list is unlinked or deleted).</summary>
    public async Task DeleteListAsync(TenantId tenant, string listKey, CancellationToken cancellationToken)
    {
        var transaction = Db.CreateTransaction();
        _ = transaction.KeyDeleteAsync(ListKeys(tenant, listKey)[..3]);
        _ = transaction.SetRemoveAsync(keys.TenantSyncedLists(tenant), listKey);
        await transaction.ExecuteCheckedAsync();
    }

    public async Task DeleteTenantDataAsync(TenantId tenant, CancellationToken cancellationToken)
    {
        foreach (var listKey in await Db.SetMembersAsync(keys.TenantSyncedLists(tenant)))
        {
            await DeleteListAsync(tenant, listKey.ToString(), cancellationToken);
        }

        await Db.KeyDeleteAsync(keys.TenantSyncedLists(tenant));
    }

    private RedisKey[] ListKeys(TenantId tenant, string listKey) =>
        [keys.ListFingerprints(tenant, listKey), keys.ListHubAdded(tenant, listKey), keys.ListRefused(tenant, listKey), keys.TenantSyncedLists(tenant)];

    private RedisValue[] Arguments(string token, string expectedCheckpoint, string nextCheckpoint, string listKey, LedgerBatch result)
    {
        var args = new List<RedisValue>
        {
            token, expectedCheckpoint, nextCheckpoint, result.Unchanged, result.Failed.Count, options.Value.MaxStoredErrors, listKey,
            result.AddsToTotal, result.AddedEarlier, result.Applied.Count,
        };
        foreach (var applied in result.Applied)
        {
            args.Add(applied.SubscriberHash);
            args.Add(applied.Fingerprint);
            args.Add(applied.CreatedByHub ? "1" : "0");
        }

        args.Add(result.Refused.Count);
        foreach (var refused in result.Refused)
        {
            args.Add(refused.SubscriberHash);
            args.Add(refused.Fingerprint);
            args.Add(JobStore.SerializeError(refused.Error));
        }

        args.Add(result.Reconciled.Count);
        foreach (var reconciled in result.Reconciled)
        {
            args.Add(reconciled.SubscriberHash);
            args.Add(reconciled.Fingerprint);
            args.Add(reconciled.Status);
        }

        args.Add(result.Removed.Count);
        args.AddRange(result.Removed.Select(hash => (RedisValue)hash));
        args.Add(result.Uncounted.Count);
        args.AddRange(result.Uncounted.Select(error => (RedisValue)JobStore.SerializeError(error)));
        args.AddRange(result.Failed.Select(error => (RedisValue)JobStore.SerializeError(error)));
        return [.. args];
    }
}

/// <summary>The ledger's Lua: KEYS fingerprints, hubAdded, refused, tenantLists[, job, jobErrors, jobDesired].</summary>
internal static class SyncScripts
{
    // ARGV: token, expectedCheckpoint, nextCheckpoint, unchanged, failedCount, errorCap, listKey, addsToTotal, addedEarlier,
    //       nApplied, (hash, fingerprint, created)*, nRefused, (hash, fingerprint, errorJson)*, nReconciled, (hash, fingerprint, status)*,
    //       nRemoved, hash*, nUncounted, errorJson*, failedErrorJson*
    // Counts: standalone (no job), what changed in the ledger; in a job, one outcome per member of the batch, so that the job's
    // counts add up to its total (the checkpoint compare makes a batch count once): an applied member already stored at its
    // fingerprint is unchanged, a refusal is failed even when stored before, a removal is removed even when the ledger had none.
    private const string Apply = """
        local with_job = KEYS[5] ~= nil
        local cap = tonumber(ARGV[6])
        local added, updated, unchanged, removed, refused = 0, 0, 0, 0, 0
        local function push_error(json)
          if with_job then
            redis.call('HINCRBY', KEYS[5], 'errorTotal', 1)
            if redis.call('LLEN', KEYS[6]) < cap then redis.call('RPUSH', KEYS[6], json) end
          end
        end
        redis.call('SADD', KEYS[4], ARGV[7])
        local i = 10
        local n = tonumber(ARGV[i]); i = i + 1
        for _ = 1, n do
          local hash, fp, created = ARGV[i], ARGV[i + 1], ARGV[i + 2]
          i = i + 3
          local previous = redis.call('HGET', KEYS[1], hash)
          if previous ~= fp then
            if previous then updated = updated + 1 else added = added + 1 end
            redis.call('HSET', KEYS[1], hash, fp)
          elseif with_job and created == '1' then
            -- stored already by the call that created it (see MailchimpSyncHandler): this job added it
            added = added + 1
          else
            unchanged = unchanged + 1
          end
          if created == '1' then redis.call('SADD', KEYS[2], hash) end
          redis.call('HDEL', KEYS[3], hash)
        end
        n = tonumber(ARGV[i]); i = i + 1
        for _ = 1, n do
          local hash, fp, json = ARGV[i], ARGV[i + 1], ARGV[i + 2]
          i = i + 3
          if redis.call('HGET', KEYS[3], hash) ~= fp then
            refused = refused + 1
            redis.call('HSET', KEYS[3], hash, fp)
          end
          push_error(json)
        end
        if with_job then refused = n end
        n = tonumber(ARGV[i]); i = i + 1
        for _ = 1, n do
          local hash, fp, status = ARGV[i], ARGV[i + 1], ARGV[i + 2]
          i = i + 3
          redis.call('HSET', KEYS[3], hash, fp)
          if with_job then redis.call('HSET', KEYS[7], 'r:' .. hash, status) end
        end
        n = tonumber(ARGV[i]); i = i + 1
        for _ = 1, n do
          local hash = ARGV[i]
          i = i + 1
          local deleted = redis.call('HDEL', KEYS[1], hash)
          if with_job then removed = removed + 1 else removed = removed + deleted end
          redis.call('SREM', KEYS[2], hash)
          redis.call('HDEL', KEYS[3], hash)
        end
        n = tonumber(ARGV[i]); i = i + 1
        for _ = 1, n do
          push_error(ARGV[i])
          i = i + 1
        end
        for j = i, #ARGV do push_error(ARGV[j]) end

        """;

    public const string RecordStandalone = Apply + """
        return {1, added, updated, removed, refused}
        """;

    // KEYS[5] is the job's staged set here (not the job): each applied member is marked there with its fingerprint
    // (unless the job has ended and its set is gone), then recorded as outside a job.
    public const string RecordCreated = """
        local desired = KEYS[5]
        KEYS[5] = nil
        if redis.call('EXISTS', desired) == 1 then
          for k = 0, tonumber(ARGV[10]) - 1 do
            redis.call('HSET', desired, 'c:' .. ARGV[11 + 3 * k], ARGV[12 + 3 * k])
          end
        end
        """ + "\n" + Apply + """
        return 1
        """;

    // Returns {0} when the lease is gone, {3} when the checkpoint is not the one the worker expects (the store lost
    // writes, e.g. a failover or a restart from an append-only file that missed its last second): nothing is written,
    // and the worker plans again from the stored checkpoint.
    public const string RecordForJob = """
        if redis.call('HGET', KEYS[5], 'leaseToken') ~= ARGV[1] then return {0} end
        if (redis.call('HGET', KEYS[5], 'checkpoint') or '') ~= ARGV[2] then return {3} end
        """ + "\n" + Apply + """
        redis.call('HSET', KEYS[5], 'checkpoint', ARGV[3])
        redis.call('HINCRBY', KEYS[5], 'total', ARGV[8])
        redis.call('HINCRBY', KEYS[5], 'added', added + tonumber(ARGV[9]))
        redis.call('HINCRBY', KEYS[5], 'updated', updated)
        redis.call('HINCRBY', KEYS[5], 'removed', removed)
        redis.call('HINCRBY', KEYS[5], 'unchanged', unchanged + tonumber(ARGV[4]))
        redis.call('HINCRBY', KEYS[5], 'failed', refused + tonumber(ARGV[5]))
        if redis.call('HGET', KEYS[5], 'cancel') == '1' then return {2} end
        return {1}
        """;
}
