using System.Globalization;
using System.Runtime.CompilerServices;
using Hub.Core.Diagnostics;
using Hub.Core.Jobs;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using StackExchange.Redis;

namespace Hub.Core.Sync;

/// <summary>A member to send: new to the list, changed since Hub last synced it, or refused earlier but changed since.</summary>
public sealed record PlannedUpsert(DesiredMember Member, string SubscriberHash, string Fingerprint, bool IsNew);

public enum SyncPhase
{
    Upsert,
    Remove,
}

/// <summary>
/// One chunk of a sync plan. Apply it, then record the result with
/// <see cref="SyncLedger.RecordBatchAsync"/> and <see cref="NextCheckpoint"/>; a job resumed from
/// <see cref="Checkpoint"/> plans exactly this chunk again.
/// </summary>
public sealed record SyncPlanChunk(
    SyncPhase Phase,
    string Checkpoint,
    string NextCheckpoint,
    IReadOnlyList<PlannedUpsert> Upserts,
    long Unchanged,
    IReadOnlyList<DesiredMember> RefusedUnchanged,
    IReadOnlyList<string> Removals)
{
    public bool IsLast => NextCheckpoint == SyncPlanner.Done;

    /// <summary>
    /// Members that left the list but that Hub did not add to Mailchimp: never removed from the audience, but
    /// in tag mode the list's tag (which Hub did set) comes off and the ledger forgets them.
    /// </summary>
    public IReadOnlyList<string> Departed { get; init; } = [];
}

/// <summary>
/// Diffs a job's staged desired set against the list's ledger, in chunks, resumably. Phase one HSCANs the
/// desired set (immutable while the job runs, so a cursor resumes exactly): a member is an upsert when it
/// has no stored fingerprint or a different one, skipped when it was refused at the same fingerprint,
/// unchanged otherwise. Phase two HSCANs the list's fingerprints: a member is removed when it is not desired
/// and Hub added it (members that left but Hub did not add are reported as <see cref="SyncPlanChunk.Departed"/>). Because removals delete fingerprints while the scan runs (and a store's cursor may
/// then skip entries), a pass that found removals is followed by one more pass. HSCAN is fine here: this
/// runs in a background job, never on a request path.
/// <para>
/// Checkpoints: <c>u:{cursor}</c>, <c>r:{pass}:{cursor}:{found}</c>, <see cref="Done"/>. A plan that starts
/// at <see cref="FirstSyncStart"/> (<c>u:{cursor}:first</c>) has no removal phase: the job began with no
/// member recorded for the list, so it has nobody to remove (a member a facade call records while the job
/// runs is left for the next sync). A replica that does not know the suffix plans the removal phase
/// anyway, which finds nothing to remove, so replicas of both versions can share jobs.
/// </para>
/// </summary>
public sealed class SyncPlanner(IConnectionMultiplexer redis, RedisKeys keys)
{
    public const string Done = "done";

    /// <summary>Where a plan starts.</summary>
    public const string Start = "u:0";

    /// <summary>Where a plan starts when the list has no member recorded yet: upserts only.</summary>
    public const string FirstSyncStart = "u:0:" + FirstSyncMark;

    private const string FirstSyncMark = "first";
    public const int DefaultChunkSize = 500;

    private IDatabase Db => redis.GetDatabase();

    public IAsyncEnumerable<SyncPlanChunk> PlanAsync(JobId job, TenantId tenant, string listKey, string? checkpoint, int chunkSize, CancellationToken cancellationToken) =>
        PlanAsync(job, tenant, listKey, checkpoint, chunkSize, forgetsDeparted: false, cancellationToken);

    /// <summary>
    /// Plans from <paramref name="checkpoint"/>. Pass <paramref name="forgetsDeparted"/> when the caller removes
    /// <see cref="SyncPlanChunk.Departed"/> members from the ledger (tag mode): like removals they then count towards
    /// the extra pass, since deleting while scanning may make the cursor skip entries.
    /// </summary>
    public async IAsyncEnumerable<SyncPlanChunk> PlanAsync(
        JobId job, TenantId tenant, string listKey, string? checkpoint, int chunkSize, bool forgetsDeparted, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var current = checkpoint ?? Start;
        while (current != Done)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var parts = current.Split(':');
            var chunk = parts[0] switch
            {
                "u" => await PlanUpsertsAsync(job, tenant, listKey, current, parts[1], firstSync: parts is [_, _, FirstSyncMark], chunkSize),
                "r" => await PlanRemovalsAsync(job, tenant, listKey, current, int.Parse(parts[1], CultureInfo.InvariantCulture), parts[2], parts[3] == "1", chunkSize, forgetsDeparted),
                _ => throw new FormatException($"'{current}' is not a sync checkpoint."),
            };
            yield return chunk;
            current = chunk.NextCheckpoint;
        }
    }

    private async Task<SyncPlanChunk> PlanUpsertsAsync(JobId job, TenantId tenant, string listKey, string checkpoint, string cursor, bool firstSync, int chunkSize)
    {
        using var span = HubTelemetry.StartRedis("sync.plan-upserts");
        var (next, entries) = await ScanAsync(keys.JobDesiredSet(job), cursor, chunkSize);
        var members = new List<(string Hash, DesiredMember Member)>();
        for (var i = 0; i + 1 < entries.Length; i += 2)
        {
            members.Add((entries[i].ToString(), DesiredMember.FromJson(entries[i + 1].ToString())));
        }

        var fields = members.Select(member => (RedisValue)member.Hash).ToArray();
        var batch = Db.CreateBatch();
        var stored = batch.HashGetAsync(keys.ListFingerprints(tenant, listKey), fields);
        var refused = batch.HashGetAsync(keys.ListRefused(tenant, listKey), fields);
        batch.Execute();
        var storedValues = fields.Length == 0 ? [] : await stored;
        var refusedValues = fields.Length == 0 ? [] : await refused;

        var upserts = new List<PlannedUpsert>();
        var refusedUnchanged = new List<DesiredMember>();
        long unchanged = 0;
        for (var i = 0; i < members.Count; i++)
        {
            var fingerprint = members[i].Member.Fingerprint();
            if (refusedValues[i] == fingerprint)
            {
                refusedUnchanged.Add(members[i].Member);
            }
            else if (storedValues[i] == fingerprint)
            {
                unchanged++;
            }
            else
            {
                upserts.Add(new PlannedUpsert(members[i].Member, members[i].Hash, fingerprint, storedValues[i].IsNull));
            }
        }

        var nextCheckpoint = next != "0" ? (firstSync ? $"u:{next}:{FirstSyncMark}" : $"u:{next}") : firstSync ? Done : "r:1:0:0";
        return new SyncPlanChunk(SyncPhase.Upsert, checkpoint, nextCheckpoint, upserts, unchanged, refusedUnchanged, []);
    }

    private async Task<SyncPlanChunk> PlanRemovalsAsync(JobId job, TenantId tenant, string listKey, string checkpoint, int pass, string cursor, bool found, int chunkSize, bool forgetsDeparted)
    {
        using var span = HubTelemetry.StartRedis("sync.plan-removals");
        var (next, entries) = await ScanAsync(keys.ListFingerprints(tenant, listKey), cursor, chunkSize);
        var hashes = new List<string>();
        for (var i = 0; i < entries.Length; i += 2)
        {
            hashes.Add(entries[i].ToString());
        }

        var batch = Db.CreateBatch();
        var desired = hashes.Select(hash => batch.HashExistsAsync(keys.JobDesiredSet(job), hash)).ToList();
        var added = hashes.Select(hash => batch.SetContainsAsync(keys.ListHubAdded(tenant, listKey), hash)).ToList();
        batch.Execute();
        var removals = new List<string>();
        var departed = new List<string>();
        for (var i = 0; i < hashes.Count; i++)
        {
            if (!await desired[i])
            {
                (await added[i] ? removals : departed).Add(hashes[i]);
            }
        }

        found |= removals.Count > 0 || (forgetsDeparted && departed.Count > 0);
        var nextCheckpoint = next != "0" ? $"r:{pass}:{next}:{(found ? 1 : 0)}"
            : pass == 1 && found ? "r:2:0:0"
            : Done;
        return new SyncPlanChunk(SyncPhase.Remove, checkpoint, nextCheckpoint, [], 0, [], removals) { Departed = departed };
    }

    private async Task<(string Next, RedisValue[] Entries)> ScanAsync(RedisKey key, string cursor, int count)
    {
        var result = (RedisResult[])(await Db.ExecuteAsync("HSCAN", key, cursor, "COUNT", count))!;
        return (result[0].ToString(), (RedisValue[])result[1]!);
    }
}
