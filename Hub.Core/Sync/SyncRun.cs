using System.Globalization;
using Hub.Core.Jobs;
using Hub.Core.Lists;
using Hub.Core.Mailchimp;
using Hub.Core.Members;

namespace Hub.Core.Sync;

/// <summary>
/// One run of one sync job: its list, its member calls (under the run's <see cref="SyncCallPolicy"/>) and its argument.
/// The phases: reconcile (read the audience to record drift), apply the plan (upserts, then removals), remove what the
/// caller listed. Each phase resumes from the job's checkpoint.
/// </summary>
internal sealed class SyncRun(JobContext context, MemberCalls calls, SyncArgument argument, SyncPlanner planner, MemberLedger ledger, MemberRemoval removal, int parallelism)
{
    private const int ReconcilePageSize = 1000;

    /// <summary>The changes of address staged with the job, and who makes them.</summary>
    public required SyncRenames Renames { get; init; }

    public required MemberRenamer Renamer { get; init; }

    /// <summary>The people erased for the tenant: a member staged before its erasure began is not written after it.</summary>
    public required ErasedPeople Erased { get; init; }

    private Job Job => context.Job;
    private HostList List => calls.List;

    /// <summary>
    /// Where a new plan starts: a list with no member recorded yet (its first sync; reconciliation records
    /// refusals, not members) needs no removal phase.
    /// </summary>
    private async Task<string> PlanStartAsync(CancellationToken cancellationToken) =>
        await ledger.CountAsync(Job.Tenant, List.Key, cancellationToken) == 0 ? SyncPlanner.FirstSyncStart : SyncPlanner.Start;

    /// <summary>
    /// Reads the audience to record drift: people who unsubscribed or were cleaned in Mailchimp are remembered as refused and
    /// never sent again until their data changes. Runs when asked and on the first sync into an audience that already has contacts.
    /// </summary>
    public async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        var checkpoint = context.Checkpoint;
        if (checkpoint is not null && !checkpoint.StartsWith("rc:", StringComparison.Ordinal))
        {
            return;
        }

        if (checkpoint is null)
        {
            var firstSync = await ledger.CountAsync(Job.Tenant, List.Key, cancellationToken) == 0;
            if (!argument.Reconcile && !(firstSync && (await calls.PageAsync(1, 0, cancellationToken)).Value!.TotalItems > 0))
            {
                return;
            }

            checkpoint = "rc:0";
        }

        var offset = int.Parse(checkpoint[3..], CultureInfo.InvariantCulture);
        while (true)
        {
            var page = (await calls.PageAsync(ReconcilePageSize, offset, cancellationToken)).Value!;
            var drifted = page.Members.Where(member => member.Status is MailchimpMemberStatus.Unsubscribed or MailchimpMemberStatus.Cleaned).ToList();
            var staged = await planner.StagedAsync(Job.Tenant, Job.Id, [.. drifted.Select(member => SubscriberHash.FromEmail(member.EmailAddress).Value)]);
            var reconciled = drifted.Zip(staged).Where(pair => pair.Second is not null)
                .Select(pair => new ReconciledMember(pair.Second!.SubscriberHash, pair.Second.Fingerprint(), pair.First.Status.ToLowerInvariant())).ToList();

            offset += page.Members.Count;
            var done = page.Members.Count == 0 || offset >= page.TotalItems;
            await ledger.RecordBatchAsync(context, new LedgerBatch { Reconciled = reconciled }, done ? await AfterReconcileAsync(cancellationToken) : $"rc:{offset}", cancellationToken);
            if (done)
            {
                return;
            }
        }
    }

    /// <summary>What follows reconciliation: the staged changes of address, if any, else the plan.</summary>
    private async Task<string> AfterReconcileAsync(CancellationToken cancellationToken) =>
        await Renames.CountAsync(Job.Tenant, Job.Id) > 0 ? "mv:1" : await PlanStartAsync(cancellationToken);

    /// <summary>
    /// Changes the addresses staged as changed (a member whose <c>externalId</c> the list knows under another address), one
    /// at a time and before any member is written, so the plan then meets the person under the new address and nobody under
    /// the old one. A change that cannot be made (the new address is another contact: <c>email_in_use</c>; Mailchimp refused)
    /// becomes the member's error, and the old contact stays. Checkpoint <c>mv:{next}</c>; a change repeated after a crash
    /// finds what is done (<see cref="MemberRenamer"/>).
    /// </summary>
    public async Task RenameAsync(CancellationToken cancellationToken)
    {
        var checkpoint = context.Checkpoint;
        if (checkpoint is not null && !checkpoint.StartsWith("mv:", StringComparison.Ordinal))
        {
            return;
        }

        var count = await Renames.CountAsync(Job.Tenant, Job.Id);
        var from = checkpoint is null ? 1 : long.Parse(checkpoint[3..], CultureInfo.InvariantCulture);
        for (var number = from; number <= count; number++)
        {
            var rename = await Renames.GetAsync(Job.Tenant, Job.Id, number);
            if (await Renames.IsMarkedAsync(Job.Tenant, Job.Id, rename))
            {
                // Decided by a try that crashed before its checkpoint.
            }
            else if (await Renames.OldAddressListedAsync(Job.Tenant, Job.Id, rename))
            {
                await Renames.MarkNotRenamedAsync(Job.Tenant, Job.Id, rename, new MemberError(rename.NewEmail,
                    $"The host lists {rename.OldEmail}, which externalId '{rename.ExternalId}' had, as a member of its own: the address was not changed (that would leave one row without its contact).",
                    Retryable: false, Code: MemberRenamer.EmailChangeConflict));
            }
            else
            {
                var result = await Renamer.RenameAsync(Job.Tenant, List, calls, rename.OldEmail, rename.NewEmail, rename.ExternalId, cancellationToken);
                if (!result.MayWrite)
                {
                    await Renames.MarkNotRenamedAsync(Job.Tenant, Job.Id, rename,
                        new MemberError(rename.NewEmail, result.Error!.Detail, Retryable: false, Code: result.Outcome == RenameOutcome.EmailInUse ? MemberRenamer.EmailInUse : result.Error.Code));
                }
            }

            await ledger.RecordBatchAsync(context, new LedgerBatch(), number == count ? await PlanStartAsync(cancellationToken) : $"mv:{number + 1}", cancellationToken);
        }
    }

    /// <summary>Applies the diff: the upserts (see <see cref="SyncUpsertPipeline"/>), then the removals, one chunk at a time.</summary>
    public async Task ApplyPlanAsync(CancellationToken cancellationToken)
    {
        if (context.Checkpoint is { } checkpoint && checkpoint.StartsWith('x'))
        {
            return;
        }

        var start = context.Checkpoint ?? await PlanStartAsync(cancellationToken);
        var firstRemoval = await new SyncUpsertPipeline(UpsertBatchAsync, RecordAsync, RecordCreatedAsync, parallelism).RunAsync(Plan(start, cancellationToken), cancellationToken);
        if (firstRemoval is null || argument.AddOnly)
        {
            return;
        }

        var mode = RemovalFor(List.RemovalPolicy);
        await foreach (var chunk in Plan(firstRemoval.Checkpoint, cancellationToken))
        {
            // In tag mode a member Hub did not add still loses the list's tag; the policy applies only to members Hub added.
            var leaving = chunk.Removals.Select(hash => new LeavingMember(SubscriberHash.Parse(hash), null, ApplyMode: true))
                .Concat(List.Mode == ListMode.Tag ? chunk.Departed.Select(hash => new LeavingMember(SubscriberHash.Parse(hash), null, ApplyMode: false)) : [])
                .ToList();
            var removed = await removal.RemoveManyAsync(Job.Tenant, calls, leaving, mode, parallelism, cancellationToken);
            await RecordAsync(chunk, removed with { AddsToTotal = leaving.Count }, cancellationToken);
        }
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
        for (var index = start; index < remove.Count; index += MailchimpBatchSubscribe.MaxMembers)
        {
            var slice = remove.Skip(index).Take(MailchimpBatchSubscribe.MaxMembers)
                .Select(email => new LeavingMember(SubscriberHash.FromEmail(email), email, ApplyMode: true)).ToList();
            var removed = await removal.RemoveManyAsync(Job.Tenant, calls, slice, argument.Mode, parallelism, cancellationToken);
            await ledger.RecordBatchAsync(context, removed, $"x:{index + slice.Count}", cancellationToken);
        }
    }

    private IAsyncEnumerable<SyncPlanChunk> Plan(string start, CancellationToken cancellationToken) =>
        planner.PlanAsync(Job.Id, Job.Tenant, List.Key, start, MailchimpBatchSubscribe.MaxMembers, forgetsDeparted: List.Mode == ListMode.Tag, cancellationToken);

    /// <summary>
    /// Records a chunk. Members refused by an earlier job and unchanged since are known and stable: not sent, counted
    /// unchanged. Members this job's reconciliation found unsubscribed or cleaned: not sent, counted failed.
    /// </summary>
    private Task RecordAsync(SyncPlanChunk chunk, LedgerBatch result, CancellationToken cancellationToken) =>
        ledger.RecordBatchAsync(context, result with
        {
            Unchanged = chunk.Unchanged + chunk.RefusedUnchanged.Count,
            AddedEarlier = chunk.AddedEarlier,
            Failed = [.. result.Failed, .. chunk.ReconciledRefused.Select(reconciled => new MemberError(reconciled.Member.Email,
                $"{reconciled.Status} in Mailchimp; Hub never re-subscribes a contact and leaves it as it is.", Retryable: false)), .. chunk.NotRenamed],
        }, chunk.NextCheckpoint, cancellationToken);

    /// <summary>Stores the contacts a call created (and had not stored yet) whose chunk cannot be recorded with them now.</summary>
    private Task RecordCreatedAsync(LedgerBatch call, CancellationToken cancellationToken)
    {
        var created = call.CreatedRecorded ? [] : call.Applied.Where(member => member.CreatedByHub).ToList();
        return created.Count == 0 ? Task.CompletedTask : ledger.RecordCreatedAsync(context.Lease, created, cancellationToken);
    }

    /// <summary>Writes one call's worth of planned upserts; a member Hub synced before (a stored fingerprint) is known to exist, the rest go out create-only first.</summary>
    private async Task<LedgerBatch> UpsertBatchAsync(IReadOnlyList<PlannedUpsert> upserts, CancellationToken cancellationToken)
    {
        if (upserts.Count == 0)
        {
            return new LedgerBatch();
        }

        // Staging leaves out erased addresses; one erased after this job was staged is not written either.
        var erasures = await Erased.ErasuresAsync(Job.Tenant, [.. upserts.Select(upsert => upsert.Member.Email)]);
        var erasedMembers = erasures.Where(erasure => erasure is not null).Select(erasure => ErasedPeople.ErrorFor(erasure!)).ToList();
        if (erasedMembers.Count > 0)
        {
            upserts = [.. upserts.Where((_, i) => erasures[i] is null)];
            if (upserts.Count == 0)
            {
                return new LedgerBatch { Failed = erasedMembers };
            }
        }

        var byHash = upserts.ToDictionary(upsert => upsert.SubscriberHash, StringComparer.Ordinal);
        // Contacts a call created go to the ledger before any other call: a run resumed after a fault then knows they exist
        // and does not send them again (a create-only batch would meet them as existing). Here when the writer makes more
        // calls after the one that created them; otherwise the pipeline records them as soon as this batch ends (see
        // SyncUpsertPipeline). The chunk's record, or the plan that meets them again, counts them added.
        var recordingCreated = calls.WithOnCreated((created, token) => ledger.RecordCreatedAsync(context.Lease,
            [.. created.Select(member => new AppliedMember(member.SubscriberHash, byHash[member.SubscriberHash].Fingerprint, CreatedByHub: true))], token));
        var written = await MemberBatchWriter.WriteAsync(List, [.. upserts.Select(upsert => new MemberWrite(upsert.Member, KnownToExist: !upsert.IsNew))],
            recordingCreated, parallelism, cancellationToken);
        var applied = new List<AppliedMember>();
        var refused = new List<RefusedMember>();
        var failed = new List<MemberError>(erasedMembers);
        foreach (var outcome in written.Members)
        {
            var upsert = byHash[outcome.Member.SubscriberHash];
            if (outcome.Error is not { } error)
            {
                applied.Add(new AppliedMember(upsert.SubscriberHash, upsert.Fingerprint, outcome.Created));
            }
            else if (MemberRules.IsRefusal(error.Code))
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
        return new LedgerBatch { Applied = applied, Refused = refused, Failed = failed, Uncounted = strays, CreatedRecorded = written.CreatedRecorded };
    }

    private static RemovalMode? RemovalFor(RemovalPolicy policy) => policy switch
    {
        RemovalPolicy.Archive => RemovalMode.Archive,
        RemovalPolicy.Unsubscribe => RemovalMode.Unsubscribe,
        _ => null,
    };
}
