using System.Globalization;
using System.Runtime.CompilerServices;
using Hub.Core.Diagnostics;
using Hub.Core.Jobs;
using Hub.Core.Lists;
using Hub.Core.Members;
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
/// <see cref="MemberLedger.RecordBatchAsync"/> and <see cref="NextCheckpoint"/>; a job resumed from
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

    /// <summary>
    /// Members this job's reconciliation found unsubscribed or cleaned in Mailchimp, with that status: not sent, counted
    /// as failed with their error. <see cref="RefusedUnchanged"/> are those refused by an earlier job, counted unchanged.
    /// </summary>
    public IReadOnlyList<(DesiredMember Member, string Status)> ReconciledRefused { get; init; } = [];

    /// <summary>Members whose change of address this job could not make (see <see cref="SyncRenames"/>): not written, counted failed with their error.</summary>
    public IReadOnlyList<MemberError> NotRenamed { get; init; } = [];

    /// <summary>Members a call of this job created whose chunk was not recorded: stored already, not sent, counted added.</summary>
    public long AddedEarlier { get; init; }
}

/// <summary>
/// The numbered chunks a staged desired set keeps its order in (see <see cref="DesiredSetReader"/>), and the marks a
/// job leaves in the same hash. Subscriber hashes are 32 lower-case hex characters, so these fields never collide
/// with a member's.
/// </summary>
public static class DesiredSetChunks
{
    public const int HashLength = 32;

    /// <summary>The field holding chunk <paramref name="number"/>: its members' subscriber hashes, concatenated.</summary>
    public static string Field(long number) => "#" + number.ToString(CultureInfo.InvariantCulture);

    /// <summary>The mark of a member this job's reconciliation found unsubscribed or cleaned in Mailchimp; its value is that status.</summary>
    public static string Reconciled(string subscriberHash) => "r:" + subscriberHash;

    /// <summary>The mark of a member a call of this job created; its value is the fingerprint sent (see <see cref="MemberLedger.RecordCreatedAsync"/>).</summary>
    public static string Created(string subscriberHash) => "c:" + subscriberHash;

    /// <summary>
    /// Present once this job's reconciliation marked a member (Members/Lua/ledger_apply.lua), so that a plan reads the marks
    /// only then. A job reconciled by an older Hub has none: its plan meets those members in the refused hash at their
    /// fingerprint, which reconciliation also wrote, and counts them unchanged instead of failed (never sending them).
    /// </summary>
    public const string ReconciledAny = "r#";

    /// <summary>How many changes of address were staged (Lua/stage_members.lua).</summary>
    public const string RenameCount = "n#";

    /// <summary>Change of address <paramref name="number"/> (1-based): <c>old hash \n old email \n new hash \n new email \n external id</c>.</summary>
    public static string Rename(long number) => "n:" + number.ToString(CultureInfo.InvariantCulture);

    /// <summary>The mark of a member whose change of address could not be made; its value is the member's error (JSON). It is not written.</summary>
    public static string NotRenamed(string subscriberHash) => "x:" + subscriberHash;
}

/// <summary>
/// Diffs a job's staged desired set against the list's ledger, in chunks, resumably.
/// <para>
/// Phase one walks the desired set's numbered chunks (<see cref="DesiredSetChunks"/>): a member is an upsert when it
/// has no stored fingerprint or a different one, skipped when it was refused at the same fingerprint, unchanged
/// otherwise. Its checkpoint <c>i:{chunk}:{offset}</c> names a position in the staged order, which is the same after a
/// Redis restart, a reload from the append-only file or a failover, so a resumed plan continues exactly where the last
/// recorded chunk ended.
/// </para>
/// <para>
/// Phase two HSCANs the list's ledger: a member is removed when it is not desired and Hub added it (members
/// that left but Hub did not add are reported as <see cref="SyncPlanChunk.Departed"/>). An HSCAN cursor is only
/// meaningful to the server process that gave it (a restarted or promoted Redis seeds its hash function anew), so a
/// pass never trusts one across a break: a plan resumed from an <c>r:</c> checkpoint starts its pass over at cursor 0,
/// and a pass during which <see cref="StoreEpoch"/> moved (the connection broke, came back or failed over) starts over
/// too. Starting over is cheap and safe: members already removed are gone from the ledger. Because removals delete
/// ledger entries while the scan runs, a pass that found removals is followed by one more pass. HSCAN is fine here:
/// this runs in a background job, never on a request path.
/// </para>
/// <para>
/// Checkpoints: <c>i:{chunk}:{offset}</c>, <c>r:{pass}:{cursor}:{found}</c>, <see cref="Done"/>. A plan that starts at
/// <see cref="FirstSyncStart"/> (suffix <c>:first</c>) has no removal phase: the job began with no member recorded
/// for the list, so it has nobody to remove (a member a facade call records while the job runs is left for the next
/// sync).
/// </para>
/// </summary>
public sealed class SyncPlanner(IConnectionMultiplexer redis, RedisKeys keys, StoreEpoch epoch)
{
    public const string Done = "done";

    /// <summary>Where a plan starts.</summary>
    public const string Start = "i:0:0";

    /// <summary>Where a plan starts when the list has no member recorded yet: upserts only.</summary>
    public const string FirstSyncStart = Start + ":" + FirstSyncMark;

    private const string FirstSyncMark = "first";
    public const int DefaultChunkSize = 500;

    // Numbers the members of a set staged by an older Hub, which kept no chunks (see the script).
    private static readonly RedisScript NumberLegacySet = RedisScript.Load("Sync", "number_legacy_set");

    private IDatabase Db => redis.GetDatabase();

    /// <summary>Whether <paramref name="checkpoint"/> was written by a Hub that planned by HSCAN cursor (<c>u:</c>): such a job must be planned again from the start.</summary>
    public static bool IsLegacy(string? checkpoint) => checkpoint is not null && checkpoint.StartsWith("u:", StringComparison.Ordinal);

    /// <summary>The staged members of a job by subscriber hash (null where the job's set holds none), in one round trip.</summary>
    public async Task<DesiredMember?[]> StagedAsync(TenantId tenant, JobId job, IReadOnlyList<string> subscriberHashes)
    {
        if (subscriberHashes.Count == 0)
        {
            return [];
        }

        var staged = await Db.HashGetAsync(keys.JobInput(tenant, job), [.. subscriberHashes.Select(hash => (RedisValue)hash)]);
        return [.. staged.Select(value => value.IsNullOrEmpty ? null : DesiredMember.FromJson(value))];
    }

    public IAsyncEnumerable<SyncPlanChunk> PlanAsync(JobId job, TenantId tenant, ListKey listKey, string? checkpoint, int chunkSize, CancellationToken cancellationToken) =>
        PlanAsync(job, tenant, listKey, checkpoint, chunkSize, forgetsDeparted: false, cancellationToken);

    /// <summary>
    /// Plans from <paramref name="checkpoint"/>. Pass <paramref name="forgetsDeparted"/> when the caller removes
    /// <see cref="SyncPlanChunk.Departed"/> members from the ledger (tag mode): like removals they then count towards
    /// the extra pass, since deleting while scanning may make the cursor skip entries.
    /// </summary>
    public async IAsyncEnumerable<SyncPlanChunk> PlanAsync(
        JobId job, TenantId tenant, ListKey listKey, string? checkpoint, int chunkSize, bool forgetsDeparted, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var current = checkpoint ?? Start;
        if (IsLegacy(current))
        {
            throw new FormatException($"'{current}' is an HSCAN-cursor checkpoint of an older Hub; plan the job again from the start.");
        }

        // Marks of changes of address that could not be made exist only in a job that staged changes of address, and marks
        // of reconciliation only in a job whose reconciliation found someone.
        var marked = await Db.HashGetAsync(keys.JobInput(tenant, job), [DesiredSetChunks.RenameCount, DesiredSetChunks.ReconciledAny]);
        var (withRenames, withReconciled) = (!marked[0].IsNull, !marked[1].IsNull);

        if (current.StartsWith("i:", StringComparison.Ordinal))
        {
            await NumberLegacySet.EvaluateAsync(Db, [keys.JobInput(tenant, job)], DesiredSetReader.BatchSize);
        }

        // A removal pass resumed here cannot trust a cursor from before: start it over (see the class summary).
        var passEpoch = epoch.Current;
        if (current.Split(':') is ["r", var resumedPass, _, var resumedFound])
        {
            current = $"r:{resumedPass}:0:{resumedFound}";
        }

        while (current != Done)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var parts = current.Split(':');
            SyncPlanChunk chunk;
            switch (parts)
            {
                case ["i", var number, var offset, ..]:
                    chunk = await PlanUpsertsAsync(job, tenant, listKey, withRenames, withReconciled, current, long.Parse(number, CultureInfo.InvariantCulture),
                        int.Parse(offset, CultureInfo.InvariantCulture), firstSync: parts is [_, _, _, FirstSyncMark], chunkSize);
                    break;
                case ["r", var pass, var cursor, var found]:
                    if (cursor == "0")
                    {
                        passEpoch = epoch.Current;
                    }

                    var removals = await PlanRemovalsAsync(job, tenant, listKey, current, int.Parse(pass, CultureInfo.InvariantCulture), cursor, found == "1", chunkSize, forgetsDeparted);
                    if (epoch.Current != passEpoch)
                    {
                        // The connection broke or failed over during this pass: the cursor may belong to another server process.
                        current = $"r:{pass}:0:{found}";
                        continue;
                    }

                    chunk = removals;
                    break;
                default:
                    throw new FormatException($"'{current}' is not a sync checkpoint.");
            }

            yield return chunk;
            current = chunk.NextCheckpoint;
        }
    }

    private async Task<SyncPlanChunk> PlanUpsertsAsync(JobId job, TenantId tenant, ListKey listKey, bool withRenames, bool withReconciled, string checkpoint, long number, int offset, bool firstSync, int chunkSize)
    {
        using var span = HubTelemetry.StartRedis("sync.plan-upserts");
        var desiredKey = keys.JobInput(tenant, job);
        var order = await Db.HashGetAsync(desiredKey, [DesiredSetChunks.Field(number), DesiredSetChunks.Field(number + 1)]);
        var chunkHashes = order[0].IsNull ? "" : order[0].ToString();
        var inChunk = chunkHashes.Length / DesiredSetChunks.HashLength;
        var take = Math.Max(0, Math.Min(chunkSize, inChunk - offset));
        var hashes = new RedisValue[take];
        for (var i = 0; i < take; i++)
        {
            hashes[i] = chunkHashes.Substring((offset + i) * DesiredSetChunks.HashLength, DesiredSetChunks.HashLength);
        }

        string nextCheckpoint;
        if (offset + take < inChunk)
        {
            nextCheckpoint = $"i:{number}:{offset + take}";
        }
        else if (!order[1].IsNull)
        {
            nextCheckpoint = $"i:{number + 1}:0";
        }
        else
        {
            nextCheckpoint = firstSync ? Done : "r:1:0:0";
        }

        if (nextCheckpoint.StartsWith("i:", StringComparison.Ordinal) && firstSync)
        {
            nextCheckpoint += ":" + FirstSyncMark;
        }

        if (take == 0)
        {
            return new SyncPlanChunk(SyncPhase.Upsert, checkpoint, nextCheckpoint, [], 0, [], []);
        }

        var batch = Db.CreateBatch();
        var staged = batch.HashGetAsync(desiredKey, hashes);
        var reconciled = withReconciled
            ? batch.HashGetAsync(desiredKey, [.. hashes.Select(hash => (RedisValue)DesiredSetChunks.Reconciled(hash.ToString()))])
            : Task.FromResult(new RedisValue[hashes.Length]);
        var notRenamed = withRenames
            ? batch.HashGetAsync(desiredKey, [.. hashes.Select(hash => (RedisValue)DesiredSetChunks.NotRenamed(hash.ToString()))])
            : Task.FromResult(new RedisValue[hashes.Length]);
        // Created marks: read with the rest when the list had members before this job (most of a re-sync is stored at its
        // fingerprint); in a first sync only for the members found stored, after this read (none, unless the job resumed).
        var created = firstSync ? null : batch.HashGetAsync(desiredKey, [.. hashes.Select(hash => (RedisValue)DesiredSetChunks.Created(hash.ToString()))]);
        var stored = batch.HashGetAsync(keys.ListLedger(tenant, listKey), [.. hashes.Select(hash => LedgerEntry.Field(hash.ToString()))]);
        var refused = batch.HashGetAsync(keys.ListRefused(tenant, listKey), hashes);
        batch.Execute();
        var (stagedValues, reconciledValues, storedValues, refusedValues) = (await staged, await reconciled, await stored, await refused);
        var notRenamedValues = await notRenamed;
        var createdValues = created is null ? null : await created;
        var notRenamedErrors = new List<MemberError>();

        var upserts = new List<PlannedUpsert>();
        var refusedUnchanged = new List<DesiredMember>();
        var reconciledRefused = new List<(DesiredMember, string)>();
        var storedAtFingerprint = new List<(int Index, string Fingerprint)>();
        for (var i = 0; i < take; i++)
        {
            if (stagedValues[i].IsNull)
            {
                throw new InvalidOperationException($"Job {job}'s staged set lists member {hashes[i]} in chunk {number} but does not hold it.");
            }

            var member = DesiredMember.FromJson(stagedValues[i]);
            var fingerprint = member.Fingerprint(((ReadOnlyMemory<byte>)stagedValues[i]).Span);
            if (SyncRenames.ErrorOf(notRenamedValues[i]) is { } notRenamedError)
            {
                notRenamedErrors.Add(notRenamedError);
            }
            else if (!reconciledValues[i].IsNull)
            {
                reconciledRefused.Add((member, reconciledValues[i].ToString()));
            }
            else if (refusedValues[i] == fingerprint)
            {
                refusedUnchanged.Add(member);
            }
            else if (LedgerEntry.Records(storedValues[i], fingerprint))
            {
                storedAtFingerprint.Add((i, fingerprint));
            }
            else
            {
                upserts.Add(new PlannedUpsert(member, hashes[i].ToString(), fingerprint, storedValues[i].IsNull));
            }
        }

        // A member stored at its fingerprint is unchanged, unless this job's own call stored it and a fault kept its chunk from
        // being recorded: then this job added it (its created mark). Only those members can have a mark.
        long unchanged = storedAtFingerprint.Count, addedEarlier = 0;
        if (storedAtFingerprint.Count > 0)
        {
            var marks = createdValues is not null
                ? [.. storedAtFingerprint.Select(member => createdValues[member.Index])]
                : await Db.HashGetAsync(desiredKey, [.. storedAtFingerprint.Select(member => (RedisValue)DesiredSetChunks.Created(hashes[member.Index].ToString()))]);
            addedEarlier = marks.Where((mark, i) => mark == storedAtFingerprint[i].Fingerprint).Count();
            unchanged -= addedEarlier;
        }

        return new SyncPlanChunk(SyncPhase.Upsert, checkpoint, nextCheckpoint, upserts, unchanged, refusedUnchanged, [])
        {
            ReconciledRefused = reconciledRefused,
            NotRenamed = notRenamedErrors,
            AddedEarlier = addedEarlier,
        };
    }

    private async Task<SyncPlanChunk> PlanRemovalsAsync(JobId job, TenantId tenant, ListKey listKey, string checkpoint, int pass, string cursor, bool found, int chunkSize, bool forgetsDeparted)
    {
        using var span = HubTelemetry.StartRedis("sync.plan-removals");
        var (next, entries) = await ScanAsync(keys.ListLedger(tenant, listKey), cursor, chunkSize);
        var hashes = new List<string>();
        var added = new List<bool>();
        for (var i = 0; i < entries.Length; i += 2)
        {
            hashes.Add(LedgerEntry.HashOf(entries[i]));
            added.Add(LedgerEntry.IsHubAdded(entries[i + 1]));
        }

        var batch = Db.CreateBatch();
        var desired = hashes.Select(hash => batch.HashExistsAsync(keys.JobInput(tenant, job), hash)).ToList();
        batch.Execute();
        var removals = new List<string>();
        var departed = new List<string>();
        for (var i = 0; i < hashes.Count; i++)
        {
            if (!await desired[i])
            {
                (added[i] ? removals : departed).Add(hashes[i]);
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
