using Hub.Core.Lists;
using Hub.Core.Diagnostics;
using Hub.Core.Jobs;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Core.Members;

/// <summary>
/// What Hub synced into each list, per tenant and list key: a hash subscriber hash → fingerprint of every
/// member Hub synced and whether Hub itself added it (the only members it ever removes; see <see cref="LedgerEntry"/>),
/// and a hash of members Mailchimp refused → the fingerprint they were refused at. A set per tenant names its lists so
/// tenant deletion needs no SCAN.
/// <para>Recording is idempotent: one Lua script per batch compares before it counts (an applied member
/// whose fingerprint is already stored, a removal already gone, a refusal already stored at that
/// fingerprint count nothing). Within a job the script also moves the job's checkpoint from the expected
/// value to the next one and adds the counts, only while the worker holds the lease, so a batch repeated
/// after a crash (or by a worker that lost its lease) changes nothing.</para>
/// </summary>
public sealed class MemberLedger(IConnectionMultiplexer redis, RedisKeys keys, IOptions<JobsOptions> options) : ITenantDataOwner
{
    private static readonly RedisScript Record = RedisScript.Load("Members", "record");
    private static readonly RedisScript RecordCreated = RedisScript.Load("Members", "record_created");
    private static readonly RedisScript RecordForJob = RedisScript.Load("Members", "record_for_job");
    private static readonly RedisScript ForgetMember = RedisScript.Load("Members", "forget_member");

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
        var outcome = await RecordForJob.EvaluateAsync(Db,
            [.. ListKeys(lease.Tenant, ListOf(lease)), keys.Job(lease.Tenant, lease.JobId), keys.JobErrors(lease.Tenant, lease.JobId), keys.JobInput(lease.Tenant, lease.JobId)],
            [lease.Token, context.Checkpoint ?? "", nextCheckpoint, result.Unchanged, result.Failed.Count, options.Value.MaxStoredErrors, lease.ListKey,
             result.AddsToTotal, result.AddedEarlier, .. BatchArguments(result)]);
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
        await RecordCreated.EvaluateAsync(Db, [.. ListKeys(lease.Tenant, ListOf(lease)), keys.JobInput(lease.Tenant, lease.JobId)],
            [lease.ListKey, .. BatchArguments(new LedgerBatch { Applied = created })]);
    }

    /// <summary>Records a batch applied outside a job (an inline add or remove); idempotent per member. Member errors are the caller's to report.</summary>
    public async Task<LedgerDelta> RecordAsync(TenantId tenant, ListKey list, LedgerBatch result, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("sync.record");
        var outcome = (RedisResult[])(await Record.EvaluateAsync(Db, ListKeys(tenant, list), [list.ToString(), .. BatchArguments(result)]))!;
        return new LedgerDelta((long)outcome[1], (long)outcome[2], (long)outcome[3], (long)outcome[4]);
    }

    /// <summary>The stored fingerprint of a member of a list, or null.</summary>
    public async Task<string?> GetFingerprintAsync(TenantId tenant, ListKey list, string subscriberHash, CancellationToken cancellationToken) =>
        LedgerEntry.FingerprintOf(await Db.HashGetAsync(keys.ListLedger(tenant, list), LedgerEntry.Field(subscriberHash)));

    /// <summary>For each subscriber hash, whether Hub synced that member into the list (one round trip).</summary>
    public async Task<bool[]> HoldsAsync(TenantId tenant, ListKey list, IReadOnlyList<string> subscriberHashes, CancellationToken cancellationToken) =>
        subscriberHashes.Count == 0 ? [] :
        [.. (await Db.HashGetAsync(keys.ListLedger(tenant, list), [.. subscriberHashes.Select(LedgerEntry.Field)])).Select(value => !value.IsNull)];

    public async Task<bool> IsHubAddedAsync(TenantId tenant, ListKey list, string subscriberHash, CancellationToken cancellationToken) =>
        LedgerEntry.IsHubAdded(await Db.HashGetAsync(keys.ListLedger(tenant, list), LedgerEntry.Field(subscriberHash)));

    /// <summary>Whether any of the lists holds the member (<paramref name="hubAddedOnly"/>: and Hub added it there); one round trip.</summary>
    public async Task<bool> AnyListHoldsAsync(TenantId tenant, IEnumerable<ListKey> lists, string subscriberHash, bool hubAddedOnly, CancellationToken cancellationToken)
    {
        var batch = Db.CreateBatch();
        var entries = lists.Select(list => batch.HashGetAsync(keys.ListLedger(tenant, list), LedgerEntry.Field(subscriberHash))).ToList();
        batch.Execute();
        return (await Task.WhenAll(entries)).Any(entry => hubAddedOnly ? LedgerEntry.IsHubAdded(entry) : !entry.IsNull);
    }

    /// <summary>The fingerprint a member was refused at, or null.</summary>
    public async Task<string?> GetRefusedFingerprintAsync(TenantId tenant, ListKey list, string subscriberHash, CancellationToken cancellationToken) =>
        (string?)await Db.HashGetAsync(keys.ListRefused(tenant, list), subscriberHash);

    /// <summary>
    /// The addresses of the list that changed in Mailchimp since <paramref name="since"/> (an <c>upemail</c> event, see
    /// Hub.Core/Events): old subscriber hash to new address. Older entries are dropped as they are read. Usually empty.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>?> MovedAsync(TenantId tenant, ListKey list, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var entries = await Db.HashGetAllAsync(keys.ListMoved(tenant, list));
        if (entries.Length == 0)
        {
            return null;
        }

        var moved = new Dictionary<string, string>(StringComparer.Ordinal);
        var stale = new List<RedisValue>();
        foreach (var entry in entries)
        {
            var parts = entry.Value.ToString().Split('\n');
            if (parts.Length == 2 && long.TryParse(parts[1], out var at) && DateTimeOffset.FromUnixTimeMilliseconds(at) >= since)
            {
                moved[entry.Name.ToString()] = parts[0];
            }
            else
            {
                stale.Add(entry.Name);
            }
        }

        if (stale.Count > 0)
        {
            await Db.HashDeleteAsync(keys.ListMoved(tenant, list), [.. stale]);
        }

        return moved;
    }

    /// <summary>How many members Hub has synced into the list.</summary>
    public Task<long> CountAsync(TenantId tenant, ListKey list, CancellationToken cancellationToken) =>
        Db.HashLengthAsync(keys.ListLedger(tenant, list));

    /// <summary>The subscriber hashes of the members Hub synced into the list (HSCAN of the list's own hash; never a keyspace scan).</summary>
    public async IAsyncEnumerable<string> MembersAsync(TenantId tenant, ListKey list, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var entry in Db.HashScanAsync(keys.ListLedger(tenant, list), pageSize: 1000).WithCancellation(cancellationToken))
        {
            yield return LedgerEntry.HashOf(entry.Name);
        }
    }

    /// <summary>Forgets what Hub synced to a list (when the list is unlinked or deleted).</summary>
    public async Task DeleteListAsync(TenantId tenant, ListKey list, CancellationToken cancellationToken)
    {
        var transaction = Db.CreateTransaction();
        _ = transaction.KeyDeleteAsync([.. ListKeys(tenant, list)[..2], keys.ListMoved(tenant, list), keys.ListExternalIds(tenant, list)]);
        _ = transaction.SetRemoveAsync(keys.TenantSyncedLists(tenant), list.ToString());
        await transaction.ExecuteCheckedAsync();
    }

    public async Task DeleteTenantDataAsync(TenantId tenant, CancellationToken cancellationToken)
    {
        foreach (var stored in await Db.SetMembersAsync(keys.TenantSyncedLists(tenant)))
        {
            if (ListKey.TryParseStored(stored.ToString(), out var list))
            {
                await DeleteListAsync(tenant, list, cancellationToken);
            }
        }

        await Db.KeyDeleteAsync(keys.TenantSyncedLists(tenant));
    }

    /// <summary>
    /// What the tenant's lists (<paramref name="linked"/> and every list with ledger data) record of one person, by subscriber
    /// hash and normalised address (see Hub.Core/People): only the lists that record something. Reads each list's map of
    /// external ids in pages (HSCAN of that one hash; it is keyed by id, not by address).
    /// </summary>
    public async Task<IReadOnlyList<PersonInList>> FindPersonAsync(TenantId tenant, IEnumerable<ListKey> linked, string subscriberHash, string email, CancellationToken cancellationToken)
    {
        var found = new List<PersonInList>();
        foreach (var list in await RecordedListsAsync(tenant, linked))
        {
            var batch = Db.CreateBatch();
            var entry = batch.HashGetAsync(keys.ListLedger(tenant, list), LedgerEntry.Field(subscriberHash));
            var refused = batch.HashExistsAsync(keys.ListRefused(tenant, list), subscriberHash);
            var moved = batch.HashGetAllAsync(keys.ListMoved(tenant, list));
            batch.Execute();
            var externalIds = await ExternalIdsOfAsync(tenant, list, subscriberHash, cancellationToken);
            var record = new PersonInList(list, !(await entry).IsNull, LedgerEntry.IsHubAdded(await entry), await refused, externalIds,
                (await moved).Any(entry => entry.Name == subscriberHash || MovedTo(entry.Value) == email));
            if (record.Synced || record.AddedByHub || record.Refused || record.Moved || externalIds.Count > 0)
            {
                found.Add(record);
            }
        }

        return found;
    }

    /// <summary>
    /// Forgets one person in the records of the tenant's lists (<paramref name="linked"/> and every list with ledger data):
    /// fingerprint, hub-added mark, refusal, moves from and to the address, and the external ids pointing at it
    /// (Lua/forget_member.lua, once per list). Safe to repeat. Answers how many entries it removed.
    /// </summary>
    public async Task<long> ForgetPersonAsync(TenantId tenant, IEnumerable<ListKey> linked, string subscriberHash, string email, CancellationToken cancellationToken)
    {
        long forgotten = 0;
        foreach (var list in await RecordedListsAsync(tenant, linked))
        {
            var externalIds = await ExternalIdsOfAsync(tenant, list, subscriberHash, cancellationToken);
            forgotten += (long)await ForgetMember.EvaluateAsync(Db,
                [keys.ListLedger(tenant, list), keys.ListRefused(tenant, list), keys.ListMoved(tenant, list), keys.ListExternalIds(tenant, list)],
                [subscriberHash, email, .. externalIds.Select(id => (RedisValue)id)]);
        }

        return forgotten;
    }

    /// <summary>The linked lists and every list with ledger data (an unlinked list's is deleted, but a list may have data before it is recorded as synced).</summary>
    private async Task<IReadOnlyList<ListKey>> RecordedListsAsync(TenantId tenant, IEnumerable<ListKey> linked)
    {
        var lists = new HashSet<ListKey>(linked);
        foreach (var stored in await Db.SetMembersAsync(keys.TenantSyncedLists(tenant)))
        {
            if (ListKey.TryParseStored(stored.ToString(), out var list))
            {
                lists.Add(list);
            }
        }

        return [.. lists];
    }

    /// <summary>The host ids a list's map of external ids holds for the address with this subscriber hash.</summary>
    private async Task<IReadOnlyList<string>> ExternalIdsOfAsync(TenantId tenant, ListKey list, string subscriberHash, CancellationToken cancellationToken)
    {
        var prefix = subscriberHash + "\n";
        var ids = new List<string>();
        await foreach (var entry in Db.HashScanAsync(keys.ListExternalIds(tenant, list), pageSize: 1000).WithCancellation(cancellationToken))
        {
            if (entry.Value.ToString().StartsWith(prefix, StringComparison.Ordinal))
            {
                ids.Add(entry.Name.ToString());
            }
        }

        return ids;
    }

    /// <summary>The new address of a list's moved entry (<c>new email \n unix ms</c>), normalised.</summary>
    private static string MovedTo(RedisValue value) => value.ToString().Split('\n')[0].ToLowerInvariant();

    private static ListKey ListOf(JobLease lease) =>
        ListKey.TryParseStored(lease.ListKey, out var list) ? list : throw new FormatException(ListKey.Rule);

    private RedisKey[] ListKeys(TenantId tenant, ListKey list) =>
        [keys.ListLedger(tenant, list), keys.ListRefused(tenant, list), keys.TenantSyncedLists(tenant)];

    /// <summary>A batch as the scripts read it (see Lua/ledger_apply.lua).</summary>
    private static List<RedisValue> BatchArguments(LedgerBatch result)
    {
        var size = 5 + 3 * (result.Applied.Count + result.Refused.Count + result.Reconciled.Count)
            + result.Removed.Count + result.Uncounted.Count + result.Failed.Count;
        var args = new List<RedisValue>(size) { result.Applied.Count }; // sized once: a chunk's batch has 1,500 and more
        foreach (var applied in result.Applied)
        {
            // As the ledger stores them (LedgerEntry): the script then converts nothing (in hex, two conversions took
            // some 6 us of Redis's time per member, the larger part of recording a batch).
            args.Add(LedgerEntry.Field(applied.SubscriberHash));
            args.Add(LedgerEntry.FingerprintValue(applied.Fingerprint));
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
        return args;
    }
}
