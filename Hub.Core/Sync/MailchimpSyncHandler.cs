using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Hub.Core.Audiences;
using Hub.Core.Jobs;
using Hub.Core.Lists;
using Hub.Core.Mailchimp;
using Hub.Core.Members;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Hub.Core.Sync;

/// <summary>What the enqueuer asks of a sync job, stored as the job's argument.</summary>
public sealed record SyncArgument(bool Reconcile = false, bool AddOnly = false, IReadOnlyList<string>? Remove = null, string? RemoveMode = null)
{
    public string ToJson() => JsonSerializer.Serialize(this, HubJsonContext.Default.SyncArgument);

    public static SyncArgument Parse(string? json) =>
        string.IsNullOrEmpty(json) ? new SyncArgument() : JsonSerializer.Deserialize(json, HubJsonContext.Default.SyncArgument) ?? new SyncArgument();
}

/// <summary>
/// Makes a Mailchimp audience (or tag) match a staged desired set. Optionally first reads the audience
/// (pages of 1000) to record drift: people who unsubscribed or were cleaned in Mailchimp are remembered as
/// refused and never sent again until their data changes. Then new and changed members go out in batch
/// subscribe calls of at most 500 (<c>update_existing</c>, <c>status_if_new</c>), several in flight up to the
/// account's concurrency cap, recorded in plan order so a crash resumes at the last checkpoint; repeating a
/// batch changes nothing. Members that left are removed per the list's policy, only if Hub added them.
/// </summary>
public sealed partial class MailchimpSyncHandler(
    SyncPlanner planner,
    MemberLedger ledger,
    ListStore lists,
    TenantStore tenants,
    TenantMailchimp tenantMailchimp,
    MailchimpClient mailchimp,
    IConnectionMultiplexer redis,
    RedisKeys keys,
    Microsoft.Extensions.Options.IOptions<MailchimpOptions> mailchimpOptions,
    TimeProvider time,
    ILogger<MailchimpSyncHandler> logger) : IJobHandler
{
    public const string JobKind = "sync";
    private const int ReconcilePageSize = 1000;
    private const int MaxChunkAttempts = 6;

    public string Kind => JobKind;

    // The per-run helper below reaches the handler's collaborators through these.
    private SyncPlanner Planner { get; } = planner;
    private MemberLedger Ledger { get; } = ledger;
    private ListStore Lists { get; } = lists;
    private MailchimpClient Mailchimp { get; } = mailchimp;
    private IConnectionMultiplexer Redis { get; } = redis;
    private RedisKeys Keys { get; } = keys;
    private Microsoft.Extensions.Options.IOptions<MailchimpOptions> MailchimpOptions { get; } = mailchimpOptions;
    private TimeProvider Time { get; } = time;

    public async Task<JobOutcome> RunAsync(JobContext context, CancellationToken cancellationToken)
    {
        var job = context.Job;
        if (SyncPlanner.IsLegacy(context.Checkpoint))
        {
            throw new JobReplanException("The job's checkpoint is an HSCAN cursor of an older Hub, which does not survive a Redis restart.");
        }

        var argument = SyncArgument.Parse(job.Argument);
        if (!ListKey.TryParse(job.ListKey, out var listKey) || await Lists.GetAsync(job.Tenant, listKey, cancellationToken) is not { } list)
        {
            return JobOutcome.Failed("list_not_found");
        }

        if (await tenants.GetAsync(job.Tenant, cancellationToken) is not { } tenant)
        {
            return JobOutcome.Failed("tenant_not_found");
        }

        if (await tenantMailchimp.GuardAsync(job.Tenant, list.AudienceId, cancellationToken) is { } notManaged)
        {
            return JobOutcome.Failed(notManaged.Code);
        }

        var (credential, notConnected) = await tenantMailchimp.CredentialAsync(tenant, cancellationToken);
        if (credential is null)
        {
            return JobOutcome.Failed(notConnected!.Code);
        }

        try
        {
            using var run = new Run(this, context, list, credential, argument);
            await run.ReconcileAsync(cancellationToken);
            await run.ApplyPlanAsync(cancellationToken);
            await run.RemoveRequestedAsync(cancellationToken);
            return JobOutcome.Succeeded;
        }
        catch (SyncAbortedException aborted)
        {
            LogAborted(logger, job.Id.ToString(), aborted.Error.Code);
            return JobOutcome.Failed(aborted.Error.Code);
        }
    }

    /// <summary>A Mailchimp failure that ends the job (401, audience gone, Mailchimp unreachable for too long).</summary>
    private sealed class SyncAbortedException(MailchimpError error) : Exception(error.Detail)
    {
        public MailchimpError Error { get; } = error;
    }

    /// <summary>One run of one job: its list, credential and argument.</summary>
    private sealed class Run(MailchimpSyncHandler handler, JobContext context, HostList list, MailchimpCredential credential, SyncArgument argument) : IDisposable
    {
        // A 401 ends the whole run: calls still in flight are cancelled and no new one starts, so one revoked
        // credential costs one 401, not one per chunk or member already queued behind it.
        private readonly CancellationTokenSource _abort = new();
        private MailchimpError? _abortedBy;

        private readonly int _parallelism = handler.MailchimpOptions.Value.MaxConcurrentCallsPerAccount;

        private Job Job => context.Job;
        private string ListKey => list.Key.ToString();

        private AudienceDirectory? _directory;

        /// <summary>Which contacts of the audience were subscribed, read once in this run when that is cheaper than writing existing contacts one by one.</summary>
        private AudienceDirectory Directory => LazyInitializer.EnsureInitialized(ref _directory, () => new AudienceDirectory(
            (count, offset, token) => CallAsync(t => handler.Mailchimp.GetMemberStatusesAsync(credential, list.AudienceId, MailchimpMemberStatus.Subscribed, count, offset, t), token),
            async token => (await CallAsync(t => handler.Mailchimp.GetListAsync(credential, list.AudienceId, t), token)).Stats?.MemberCount ?? int.MaxValue,
            _parallelism));

        // For the writer's calls (JobMemberCalls).
        private MailchimpSyncHandler Handler => handler;
        private JobLease Lease => context.Lease;
        private HostList List => list;
        private MailchimpCredential Credential => credential;

        /// <summary>
        /// Where a new plan starts: a list with no member recorded yet (its first sync; reconciliation records
        /// refusals, not members) needs no removal phase.
        /// </summary>
        private async Task<string> PlanStartAsync(CancellationToken cancellationToken) =>
            await handler.Ledger.CountAsync(Job.Tenant, ListKey, cancellationToken) == 0 ? SyncPlanner.FirstSyncStart : SyncPlanner.Start;

        /// <summary>Reads the audience to record drift; runs when asked and on the first sync into an audience that already has contacts.</summary>
        public async Task ReconcileAsync(CancellationToken cancellationToken)
        {
            var checkpoint = context.Checkpoint;
            if (checkpoint is not null && !checkpoint.StartsWith("rc:", StringComparison.Ordinal))
            {
                return;
            }

            if (checkpoint is null)
            {
                var firstSync = await handler.Ledger.CountAsync(Job.Tenant, ListKey, cancellationToken) == 0;
                if (!argument.Reconcile && !(firstSync && await AudienceHasContactsAsync(cancellationToken)))
                {
                    return;
                }

                checkpoint = "rc:0";
            }

            var offset = int.Parse(checkpoint[3..], CultureInfo.InvariantCulture);
            while (true)
            {
                var page = await CallAsync(token => handler.Mailchimp.GetMembersAsync(credential, list.AudienceId, ReconcilePageSize, offset, null, token), cancellationToken);
                var drifted = page.Members.Where(member => member.Status is MailchimpMemberStatus.Unsubscribed or MailchimpMemberStatus.Cleaned).ToList();
                var reconciled = new List<ReconciledMember>();
                if (drifted.Count > 0)
                {
                    var staged = await handler.Redis.GetDatabase().HashGetAsync(handler.Keys.JobDesiredSet(Job.Id),
                        drifted.Select(member => (RedisValue)SubscriberHash.FromEmail(member.EmailAddress).Value).ToArray());
                    for (var i = 0; i < drifted.Count; i++)
                    {
                        if (!staged[i].IsNullOrEmpty)
                        {
                            var desired = DesiredMember.FromJson(staged[i].ToString());
                            reconciled.Add(new ReconciledMember(desired.SubscriberHash, desired.Fingerprint(), drifted[i].Status.ToString().ToLowerInvariant()));
                        }
                    }
                }

                offset += page.Members.Count;
                var done = page.Members.Count == 0 || offset >= page.TotalItems;
                await handler.Ledger.RecordBatchAsync(context, new LedgerBatch { Reconciled = reconciled }, done ? await PlanStartAsync(cancellationToken) : $"rc:{offset}", cancellationToken);
                if (done)
                {
                    return;
                }
            }
        }

        /// <summary>
        /// Applies the diff. Upserts first: a planner runs ahead (a few chunks, so planning never holds up a
        /// free connection) while this loop packs the planned members into batch subscribe calls of exactly
        /// <see cref="MailchimpBatchSubscribe.MaxMembers"/>, a call may carry the end of one chunk and the start
        /// of the next, and keeps up to the account's cap in flight. A chunk is recorded, with its checkpoint,
        /// once every call carrying its members has finished and every earlier chunk is recorded, so a resumed
        /// job plans from the first chunk not yet recorded. Then removals, one chunk at a time.
        /// </summary>
        public async Task ApplyPlanAsync(CancellationToken cancellationToken)
        {
            if (context.Checkpoint is { } checkpoint && checkpoint.StartsWith('x'))
            {
                return;
            }

            using var stopPlanning = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var planned = Channel.CreateBounded<SyncPlanChunk>(new BoundedChannelOptions(_parallelism) { SingleReader = true, SingleWriter = true });
            var start = context.Checkpoint ?? await PlanStartAsync(cancellationToken);
            var planning = PlanUpsertsAheadAsync(planned.Writer, start, stopPlanning.Token);
            SyncPlanChunk? firstRemoval;
            try
            {
                firstRemoval = await UpsertPlannedAsync(planned.Reader, cancellationToken);
            }
            finally
            {
                await stopPlanning.CancelAsync();
                await planning;
            }

            if (firstRemoval is null || argument.AddOnly)
            {
                return;
            }

            await foreach (var chunk in handler.Planner.PlanAsync(Job.Id, Job.Tenant, ListKey, firstRemoval.Checkpoint, MailchimpBatchSubscribe.MaxMembers, forgetsDeparted: list.Mode == ListMode.Tag, cancellationToken))
            {
                // In tag mode a member Hub did not add still loses the list's tag; the policy applies only to members Hub added.
                var leaving = chunk.Removals.Select(hash => (hash, (string?)null, ApplyPolicy: true))
                    .Concat(list.Mode == ListMode.Tag ? chunk.Departed.Select(hash => (hash, (string?)null, ApplyPolicy: false)) : [])
                    .ToList();
                await RecordAsync(chunk, await RemoveAsync(leaving, RemovalFor(list.RemovalPolicy), cancellationToken) with { AddsToTotal = leaving.Count }, cancellationToken);
            }
        }

        /// <summary>Plans the upsert chunks into <paramref name="writer"/>, ending with the first removal chunk (if any): removals are planned one at a time, after the upserts are recorded.</summary>
        private async Task PlanUpsertsAheadAsync(ChannelWriter<SyncPlanChunk> writer, string start, CancellationToken cancellationToken)
        {
            try
            {
                await foreach (var chunk in handler.Planner.PlanAsync(Job.Id, Job.Tenant, ListKey, start, MailchimpBatchSubscribe.MaxMembers, forgetsDeparted: list.Mode == ListMode.Tag, cancellationToken))
                {
                    await writer.WriteAsync(chunk, cancellationToken);
                    if (chunk.Phase == SyncPhase.Remove)
                    {
                        break;
                    }
                }

                writer.TryComplete();
            }
            catch (Exception exception)
            {
                // Cancelled because the run ended (or failed): the reader has stopped listening.
                writer.TryComplete(exception);
            }
        }

        /// <summary>Sends and records the planned upsert chunks; returns the first removal chunk, or null when the plan has none.</summary>
        private async Task<SyncPlanChunk?> UpsertPlannedAsync(ChannelReader<SyncPlanChunk> planned, CancellationToken cancellationToken)
        {
            var unrecorded = new Queue<PlannedChunk>();
            var unsent = new List<(PlannedUpsert Upsert, PlannedChunk Chunk)>();
            var calls = new List<Task<LedgerBatch>>();
            var allPlanned = false;
            SyncPlanChunk? firstRemoval = null;
            using var callsEnded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            try
            {
                while (true)
                {
                    calls.RemoveAll(call => call.IsCompleted);

                    // Take planned chunks until a full call's worth is waiting; block on the planner only when a connection is free.
                    while (!allPlanned && unsent.Count < MailchimpBatchSubscribe.MaxMembers)
                    {
                        if (!planned.TryRead(out var chunk))
                        {
                            if (calls.Count >= _parallelism)
                            {
                                break;
                            }

                            allPlanned = !await planned.WaitToReadAsync(cancellationToken);
                            continue;
                        }

                        if (chunk.Phase == SyncPhase.Remove)
                        {
                            (firstRemoval, allPlanned) = (chunk, true);
                            break;
                        }

                        var entry = new PlannedChunk(chunk);
                        unrecorded.Enqueue(entry);
                        unsent.AddRange(chunk.Upserts.Select(upsert => (upsert, entry)));
                    }

                    // Send full calls, and the remainder once everything is planned, while connections are free.
                    while (calls.Count < _parallelism && (unsent.Count >= MailchimpBatchSubscribe.MaxMembers || (allPlanned && unsent.Count > 0)))
                    {
                        var batch = unsent.GetRange(0, Math.Min(MailchimpBatchSubscribe.MaxMembers, unsent.Count));
                        unsent.RemoveRange(0, batch.Count);
                        var members = batch.Select(item => item.Upsert).DistinctBy(upsert => upsert.SubscriberHash).ToList();
                        var call = new UpsertCall(UpsertBatchAsync(members, callsEnded.Token));
                        var first = true;
                        foreach (var carried in batch.GroupBy(item => item.Chunk))
                        {
                            carried.Key.Carried(call, carried.Count(), takesStrays: first);
                            first = false;
                        }

                        calls.Add(call.Outcome);
                    }

                    // Record finished chunks in plan order.
                    while (unrecorded.TryPeek(out var head) && head.IsApplied)
                    {
                        unrecorded.Dequeue();
                        await RecordAsync(head.Chunk, await head.ResultAsync(), cancellationToken);
                    }

                    if (allPlanned && unrecorded.Count == 0)
                    {
                        return firstRemoval;
                    }

                    if (calls.Count >= _parallelism || allPlanned)
                    {
                        await Task.WhenAny(calls);
                    }
                }
            }
            catch
            {
                // The run is over (a 401, Mailchimp gone for too long, cancellation): stop the calls still in flight
                // and wait for every call whose chunk was not recorded, observing how it ended.
                await callsEnded.CancelAsync();
                foreach (var chunk in unrecorded)
                {
                    await chunk.SettledAsync();
                }

                throw;
            }
        }

        /// <summary>One batch subscribe call.</summary>
        private sealed record UpsertCall(Task<LedgerBatch> Outcome);

        /// <summary>A planned upsert chunk on its way: the calls carrying its members, and how many of them are not sent yet.</summary>
        private sealed class PlannedChunk(SyncPlanChunk chunk)
        {
            private readonly List<(UpsertCall Call, bool TakesStrays)> _calls = [];
            private int _unsent = chunk.Upserts.Count;

            public SyncPlanChunk Chunk { get; } = chunk;

            public bool IsApplied => _unsent == 0 && _calls.TrueForAll(carrier => carrier.Call.Outcome.IsCompleted);

            /// <summary>
            /// <paramref name="call"/> carries <paramref name="members"/> of this chunk's members. The first chunk of
            /// a call also takes the call's errors that name none of the emails sent, so that no error goes unseen.
            /// </summary>
            public void Carried(UpsertCall call, int members, bool takesStrays)
            {
                _calls.Add((call, takesStrays));
                _unsent -= members;
            }

            /// <summary>This chunk's share of its calls' results (a call may also carry members of the chunks beside it).</summary>
            public async Task<LedgerBatch> ResultAsync()
            {
                var results = await Task.WhenAll(_calls.Select(carrier => carrier.Call.Outcome));
                var hashes = Chunk.Upserts.Select(upsert => upsert.SubscriberHash).ToHashSet(StringComparer.Ordinal);
                var emails = Chunk.Upserts.Select(upsert => upsert.Member.Email.ToLowerInvariant()).ToHashSet(StringComparer.Ordinal);
                return new LedgerBatch
                {
                    Applied = [.. results.SelectMany(result => result.Applied).Where(member => hashes.Contains(member.SubscriberHash))],
                    Refused = [.. results.SelectMany(result => result.Refused).Where(member => hashes.Contains(member.SubscriberHash))],
                    Failed = [.. results.SelectMany(result => result.Failed).Where(error => emails.Contains(error.Email.ToLowerInvariant()))],
                    Uncounted = [.. _calls.Zip(results).Where(pair => pair.First.TakesStrays).SelectMany(pair => pair.Second.Uncounted)],
                };
            }

            /// <summary>Waits for every call carrying this chunk, however it ends.</summary>
            public async Task SettledAsync() =>
                await ((Task)Task.WhenAll(_calls.Select(carrier => carrier.Call.Outcome))).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        /// <summary>For batch jobs: removes the emails the caller listed, after the adds.</summary>
        public async Task RemoveRequestedAsync(CancellationToken cancellationToken)
        {
            var remove = argument.Remove ?? [];
            if (remove.Count == 0)
            {
                return;
            }

            var start = context.Checkpoint is { } checkpoint && checkpoint.StartsWith("x:", StringComparison.Ordinal)
                ? int.Parse(checkpoint[2..], CultureInfo.InvariantCulture)
                : 0;
            var mode = argument.RemoveMode switch { "unsubscribe" => RemovalMode.Unsubscribe, "permanent" => RemovalMode.Permanent, _ => RemovalMode.Archive };
            for (var index = start; index < remove.Count; index += MailchimpBatchSubscribe.MaxMembers)
            {
                var slice = remove.Skip(index).Take(MailchimpBatchSubscribe.MaxMembers)
                    .Select(email => (SubscriberHash.FromEmail(email).Value, (string?)email, ApplyPolicy: true)).ToList();
                var removed = await RemoveAsync(slice, mode, cancellationToken);
                await handler.Ledger.RecordBatchAsync(context, removed, $"x:{index + slice.Count}", cancellationToken);
            }
        }

        /// <summary>
        /// Records a chunk. Members refused by an earlier job and unchanged since are known and stable: not sent, counted
        /// unchanged. Members this job's reconciliation found unsubscribed or cleaned: not sent, counted failed.
        /// </summary>
        private Task RecordAsync(SyncPlanChunk chunk, LedgerBatch result, CancellationToken cancellationToken) =>
            handler.Ledger.RecordBatchAsync(context, result with
            {
                Unchanged = chunk.Unchanged + chunk.RefusedUnchanged.Count,
                AddedEarlier = chunk.AddedEarlier,
                Failed = [.. result.Failed, .. chunk.ReconciledRefused.Select(reconciled => new MemberError(reconciled.Member.Email,
                    $"{reconciled.Status} in Mailchimp; Hub never re-subscribes a contact and leaves it as it is.", Retryable: false))],
            }, chunk.NextCheckpoint, cancellationToken);

        private async Task<LedgerBatch> UpsertBatchAsync(IReadOnlyList<PlannedUpsert> upserts, CancellationToken cancellationToken)
        {
            if (upserts.Count == 0)
            {
                return new LedgerBatch();
            }

            // A member Hub synced before (a stored fingerprint) is known to exist; the rest go out create-only first.
            var byHash = upserts.ToDictionary(upsert => upsert.SubscriberHash, StringComparer.Ordinal);
            var written = await MemberBatchWriter.WriteAsync(list, [.. upserts.Select(upsert => new MemberWrite(upsert.Member, KnownToExist: !upsert.IsNew))],
                new JobMemberCalls(this, byHash), _parallelism, cancellationToken);
            var applied = new List<AppliedMember>();
            var refused = new List<RefusedMember>();
            var failed = new List<MemberError>();
            foreach (var outcome in written.Members)
            {
                var upsert = byHash[outcome.Member.SubscriberHash];
                if (outcome.Error is not { } error)
                {
                    applied.Add(new AppliedMember(upsert.SubscriberHash, upsert.Fingerprint, outcome.Created));
                }
                else if (MemberService.IsRefusal(error.Code))
                {
                    refused.Add(new RefusedMember(upsert.SubscriberHash, upsert.Fingerprint, new MemberError(upsert.Member.Email, error.Detail, Retryable: false)));
                }
                else
                {
                    failed.Add(new MemberError(upsert.Member.Email, error.Detail, Retryable: error.Code == MailchimpErrorCodes.MailchimpUnavailable));
                }
            }

            // An error naming an address Hub did not send is kept with the job's errors but counted on nobody.
            var strays = written.Strays.Select(stray => new MemberError(stray.EmailAddress, MailchimpErrorMapper.FromBatchError(stray).Detail, Retryable: false)).ToList();
            return new LedgerBatch { Applied = applied, Refused = refused, Failed = failed, Uncounted = strays };
        }

        /// <summary>The writer's calls with this job's patience: the batch call ends the run when Mailchimp stays unavailable or answers 401; single calls report their failure.</summary>
        private sealed class JobMemberCalls(Run run, IReadOnlyDictionary<string, PlannedUpsert> planned) : IMemberCalls
        {
            public async Task<MailchimpResult<MailchimpBatchResult>> BatchSubscribeAsync(MailchimpBatchSubscribe batch, CancellationToken cancellationToken) =>
                MailchimpResult<MailchimpBatchResult>.Success(await run.CallAsync(token => run.Handler.Mailchimp.BatchSubscribeAsync(run.Credential, run.List.AudienceId, batch, token), cancellationToken));

            public async Task<MailchimpResult<MailchimpMember>> UpsertAsync(MailchimpMemberUpsert member, CancellationToken cancellationToken)
            {
                MailchimpResult<MailchimpMember>? upserted = null;
                var result = await run.CallAsync(async token =>
                {
                    upserted = await run.Handler.Mailchimp.UpsertMemberAsync(run.Credential, run.List.AudienceId, member, token);
                    return upserted.IsSuccess ? MailchimpResult.Success : upserted.Error;
                }, cancellationToken, allowFailure: true);
                return result.IsSuccess ? upserted! : result.Error;
            }

            public Task<MailchimpResult> TagAsync(SubscriberHash hash, IReadOnlyList<MailchimpTagUpdate> tags, CancellationToken cancellationToken) =>
                run.CallAsync(token => run.Handler.Mailchimp.UpdateMemberTagsAsync(run.Credential, run.List.AudienceId, hash, tags, isSyncing: true, token), cancellationToken, allowFailure: true);

            public Task<IReadOnlySet<string>> SubscribedAsync(IReadOnlyList<string> existing, CancellationToken cancellationToken) =>
                run.Directory.SubscribedAsync(existing, cancellationToken);

            // Contacts a call created are written to the ledger at once, not only when their chunk is recorded in plan
            // order: a run resumed after a fault then knows they exist and does not send them again (a create-only batch
            // would meet them as existing). The chunk's record, or the plan that meets them again, counts them added.
            public Task CreatedAsync(IReadOnlyList<DesiredMember> created, CancellationToken cancellationToken) =>
                run.Handler.Ledger.RecordCreatedAsync(run.Lease,
                    [.. created.Select(member => new AppliedMember(member.SubscriberHash, planned[member.SubscriberHash].Fingerprint, CreatedByHub: true))], cancellationToken);
        }

        /// <summary>Removes members per policy; in tag mode untags and applies the policy only where no other Hub list of the audience holds them.</summary>
        private async Task<LedgerBatch> RemoveAsync(IReadOnlyList<(string Hash, string? Email, bool ApplyPolicy)> members, RemovalMode? mode, CancellationToken cancellationToken)
        {
            var others = list.Mode == ListMode.Tag
                ? (await handler.Lists.ListInAudienceAsync(Job.Tenant, list.AudienceId, cancellationToken)).Where(other => other.Key != list.Key).Select(other => other.Key.ToString()).ToList()
                : [];
            var failures = await ForEachAsync(members, async (member, token) =>
            {
                var hash = SubscriberHash.Parse(member.Hash);
                var label = member.Email ?? member.Hash;
                if (list.Mode == ListMode.Tag)
                {
                    var untagged = await CallAsync(t => handler.Mailchimp.UpdateMemberTagsAsync(credential, list.AudienceId, hash, [MailchimpTagUpdate.Inactive(list.Tag!)], isSyncing: true, t), token, allowFailure: true);
                    if (!untagged.IsSuccess && untagged.Error.Code != MailchimpErrorCodes.NotFound)
                    {
                        return new MemberError(label, untagged.Error.Detail, Retryable: true);
                    }

                    if (await handler.Ledger.AnyListHoldsAsync(Job.Tenant, others, member.Hash, hubAddedOnly: false, token))
                    {
                        return null;
                    }
                }

                if (!member.ApplyPolicy || mode is not { } removal)
                {
                    return null;
                }

                var result = await CallAsync(t => Remove(hash, member.Email, removal, t), token, allowFailure: true);
                return result.IsSuccess || result.Error.Code == MailchimpErrorCodes.NotFound || (removal == RemovalMode.Archive && result.Error.Status == 405)
                    ? null
                    : new MemberError(label, result.Error.Detail, Retryable: result.Error.Code == MailchimpErrorCodes.MailchimpUnavailable);
            }, cancellationToken);
            var failed = failures.Select(error => error.Email).ToHashSet(StringComparer.Ordinal);
            return new LedgerBatch { Removed = members.Where(member => !failed.Contains(member.Email ?? member.Hash)).Select(member => member.Hash).ToList(), Failed = failures };
        }

        private async Task<MailchimpResult> Remove(SubscriberHash hash, string? email, RemovalMode mode, CancellationToken cancellationToken)
        {
            switch (mode)
            {
                case RemovalMode.Permanent:
                    return await handler.Mailchimp.DeleteMemberPermanentlyAsync(credential, list.AudienceId, hash, cancellationToken);
                case RemovalMode.Unsubscribe:
                    email ??= (await handler.Mailchimp.GetMemberAsync(credential, list.AudienceId, hash, cancellationToken)) is { IsSuccess: true } found ? found.Value.EmailAddress : null;
                    if (email is null)
                    {
                        return MailchimpResult.Success;
                    }

                    var unsubscribed = await handler.Mailchimp.UpsertMemberAsync(credential, list.AudienceId,
                        new MailchimpMemberUpsert(email, MailchimpMemberStatus.Unsubscribed, Status: MailchimpMemberStatus.Unsubscribed), cancellationToken);
                    return unsubscribed.IsSuccess ? MailchimpResult.Success : unsubscribed.Error;
                default:
                    return await handler.Mailchimp.ArchiveMemberAsync(credential, list.AudienceId, hash, cancellationToken);
            }
        }

        private async Task<bool> AudienceHasContactsAsync(CancellationToken cancellationToken) =>
            (await CallAsync(token => handler.Mailchimp.GetMembersAsync(credential, list.AudienceId, 1, 0, null, token), cancellationToken)).TotalItems > 0;

        /// <summary>
        /// One Mailchimp call with job-level patience: the client already retried 429/5xx/timeouts; when
        /// Mailchimp stays unavailable the call is tried again with a growing pause before the job gives up.
        /// A 401 ends the job at once (the connection is already marked for reauthorization).
        /// </summary>
        private async Task<T> CallAsync<T>(Func<CancellationToken, Task<MailchimpResult<T>>> call, CancellationToken cancellationToken)
        {
            for (var attempt = 1; ; attempt++)
            {
                var result = await GuardedAsync(call, r => r.IsSuccess ? null : r.Error, cancellationToken);
                if (result.IsSuccess)
                {
                    return result.Value;
                }

                if (result.Error.Code != MailchimpErrorCodes.MailchimpUnavailable || attempt >= MaxChunkAttempts)
                {
                    throw new SyncAbortedException(result.Error);
                }

                await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, attempt))), handler.Time, cancellationToken);
            }
        }

        private async Task<MailchimpResult> CallAsync(Func<CancellationToken, Task<MailchimpResult>> call, CancellationToken cancellationToken, bool allowFailure)
        {
            for (var attempt = 1; ; attempt++)
            {
                var result = await GuardedAsync(call, r => r.IsSuccess ? null : r.Error, cancellationToken);
                if (result.IsSuccess || (result.Error.Code != MailchimpErrorCodes.MailchimpUnavailable && result.Error.Code != MailchimpErrorCodes.ReauthorizationRequired && allowFailure))
                {
                    return result;
                }

                if (result.Error.Code == MailchimpErrorCodes.ReauthorizationRequired || attempt >= MaxChunkAttempts)
                {
                    throw new SyncAbortedException(result.Error);
                }

                await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, attempt))), handler.Time, cancellationToken);
            }
        }

        /// <summary>Makes one call unless the run was already ended by a 401; a 401 ends the run for every other call too.</summary>
        private async Task<TResult> GuardedAsync<TResult>(Func<CancellationToken, Task<TResult>> call, Func<TResult, MailchimpError?> errorOf, CancellationToken cancellationToken)
        {
            if (Volatile.Read(ref _abortedBy) is { } earlier)
            {
                throw new SyncAbortedException(earlier);
            }

            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _abort.Token);
            TResult result;
            try
            {
                result = await call(linked.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && Volatile.Read(ref _abortedBy) is not null)
            {
                throw new SyncAbortedException(Volatile.Read(ref _abortedBy)!);
            }

            if (errorOf(result) is { Code: MailchimpErrorCodes.ReauthorizationRequired } unauthorized)
            {
                Interlocked.CompareExchange(ref _abortedBy, unauthorized, null);
                await _abort.CancelAsync();
                throw new SyncAbortedException(unauthorized);
            }

            return result;
        }

        public void Dispose() => _abort.Dispose();

        private async Task<List<MemberError>> ForEachAsync<TItem>(IReadOnlyList<TItem> items, Func<TItem, CancellationToken, Task<MemberError?>> action, CancellationToken cancellationToken)
        {
            var errors = new System.Collections.Concurrent.ConcurrentBag<MemberError>();
            await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = _parallelism, CancellationToken = cancellationToken }, async (item, token) =>
            {
                if (await action(item, token) is { } error)
                {
                    errors.Add(error);
                }
            });
            return [.. errors];
        }

        private static RemovalMode? RemovalFor(RemovalPolicy policy) => policy switch
        {
            RemovalPolicy.Archive => RemovalMode.Archive,
            RemovalPolicy.Unsubscribe => RemovalMode.Unsubscribe,
            _ => null,
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync job {JobId} stopped: Mailchimp answered {Code}.")]
    private static partial void LogAborted(ILogger logger, string jobId, string code);
}
