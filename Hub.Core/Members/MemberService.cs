using System.Text.Json;
using Hub.Core.Audiences;
using Hub.Core.Jobs;
using Hub.Core.Lists;
using Hub.Core.Mailchimp;
using Hub.Core.Storage;
using Hub.Core.Tenants;

namespace Hub.Core.Members;

/// <summary>
/// Members of one host list, for the facade. Hub addresses members by email, computes Mailchimp's subscriber hash,
/// adds with <c>status_if_new</c> (never re-subscribing someone who opted out), and records what it wrote in the list's
/// ledger so full syncs and removals know which members Hub put there.
/// </summary>
public sealed class MemberService(
    ListTargets targets, MemberLedger ledger, MemberRemoval removal, MemberRenamer renamer, ErasedPeople erased, MailchimpClient mailchimp,
    ListStore lists, TimeProvider time)
{
    public const int MaxInlineBatch = 200;
    public const int MaxPageSize = 1000;
    /// <summary>
    /// The fingerprint recorded for a contact written without its tags (the tag call failed): one no member has, so the next
    /// upsert or sync writes it again. 16 hex digits like every fingerprint (<see cref="LedgerEntry"/>).
    /// </summary>
    public const string TagsPending = "0000000000000000";

    /// <summary>Adds or updates one member, parsed from the same JSON shape a full sync takes.</summary>
    public async Task<MailchimpResult<MemberView>> UpsertAsync(Tenant tenant, ListKey key, JsonElement body, CancellationToken cancellationToken)
    {
        if (!DesiredMember.TryCreate(body, out var member, out _, out var invalid))
        {
            return FacadeErrors.Invalid("member", invalid!);
        }

        // Whether Hub added the member rides along with the reads of the list and the credential.
        var hash = SubscriberHash.FromEmail(member!.Email);
        var hubAddedRead = ledger.IsHubAddedAsync(tenant.Id, key, hash.Value, cancellationToken);
        var erasureRead = erased.ErasuresAsync(tenant.Id, [member.Email]);
        await using var target = await targets.ResolveAsync(tenant, key, forWrite: true, reserveSlot: true, cancellationToken);
        var hubAdded = await hubAddedRead;
        if (target.Error is { } error)
        {
            return error;
        }

        if ((await erasureRead)[0] is { } erasure)
        {
            return ErasedPeople.ProblemFor(erasure);
        }

        if (ListFieldRules.Problem(target.List!.Fields, member.MergeFields) is { } badValue)
        {
            return FacadeErrors.Invalid([badValue]);
        }

        var calls = Calls(target);
        var (moved, notMoved) = await MoveToAddressAsync(tenant.Id, calls, member, cancellationToken);
        if (notMoved is not null)
        {
            return notMoved;
        }

        if (moved)
        {
            hubAdded = await ledger.IsHubAddedAsync(tenant.Id, key, hash.Value, cancellationToken);
        }

        var (upserted, createdByHub) = await WriteMemberAsync(tenant.Id, calls, member, hash, hubAdded, cancellationToken);
        if (!upserted.IsSuccess)
        {
            await RecordRefusalAsync(tenant.Id, key, member, upserted.Error, cancellationToken);
            return upserted.Error;
        }

        var tags = MemberRules.TagsFor(calls.List, member);
        if (tags.Count > 0)
        {
            var tagged = await calls.TagAsync(hash, tags.Select(MailchimpTagUpdate.Active).ToList(), cancellationToken);
            if (!tagged.IsSuccess)
            {
                // The contact was written: keep whether Hub created it, under a fingerprint no member has,
                // so the next upsert or sync sends it (and its tags) again.
                await ledger.RecordAsync(tenant.Id, key, new LedgerBatch { Applied = [new AppliedMember(hash.Value, TagsPending, createdByHub)] }, cancellationToken);
                return tagged.Error;
            }
        }

        // Recorded after every write, even one that repeats what Hub last wrote: a sync of the same list may
        // have changed the ledger since it was read above.
        await ledger.RecordAsync(tenant.Id, key, new LedgerBatch { Applied = [new AppliedMember(hash.Value, member.Fingerprint(), createdByHub)] }, cancellationToken);
        return MemberView.From(upserted.Value, tags);
    }

    /// <summary>
    /// Changes a member's address (<c>PATCH /api/v1/lists/{key}/members/{email}</c>): the same contact, status and history
    /// under <paramref name="newEmail"/> (see <see cref="MemberRenamer"/>). <c>member_not_in_list</c> when Hub did not write
    /// the member to the list and Mailchimp has neither address; <c>email_in_use</c> when the new address is another contact.
    /// </summary>
    public async Task<MailchimpResult<MemberView>> ChangeEmailAsync(Tenant tenant, ListKey key, string email, string newEmail, CancellationToken cancellationToken)
    {
        var errors = new List<MailchimpFieldError>();
        if (!MailchimpEmail.IsValid(email))
        {
            errors.Add(new MailchimpFieldError("email", "Not a valid email address."));
        }

        if (!MailchimpEmail.IsValid(newEmail))
        {
            errors.Add(new MailchimpFieldError("email", "The new address (body 'email') is not a valid email address."));
        }

        if (errors.Count > 0)
        {
            return FacadeErrors.Invalid(errors);
        }

        await using var target = await targets.ResolveAsync(tenant, key, forWrite: true, reserveSlot: true, cancellationToken);
        if (target.Error is { } error)
        {
            return error;
        }

        var calls = Calls(target);
        var renamed = await renamer.RenameAsync(tenant.Id, calls.List, calls, email.Trim(), newEmail.Trim(), externalId: null, cancellationToken);
        if (renamed.Outcome == RenameOutcome.NotFound)
        {
            return FacadeErrors.Create(FacadeErrors.MemberNotInList, "Member not in list", $"{email} is not a contact of the list's audience.");
        }

        if (!renamed.MayWrite)
        {
            return renamed.Error!;
        }

        var read = await calls.GetAsync(SubscriberHash.FromEmail(newEmail.Trim()), cancellationToken);
        return read.IsSuccess ? MemberView.From(read.Value, []) : read.Error;
    }

    /// <summary>
    /// Takes a member off the list. Audience mode: archive (default), unsubscribe or permanent delete.
    /// Tag mode: removes the list's tag, and applies <paramref name="mode"/> only when no other Hub list
    /// in the audience holds the member and Hub added it.
    /// </summary>
    public async Task<MailchimpResult> RemoveAsync(Tenant tenant, ListKey key, string email, RemovalMode mode, CancellationToken cancellationToken)
    {
        if (!MailchimpEmail.IsValid(email))
        {
            return FacadeErrors.Invalid("email", "Not a valid email address.");
        }

        await using var target = await targets.ResolveAsync(tenant, key, forWrite: true, reserveSlot: true, cancellationToken);
        return target.Error ?? await removal.RemoveOneAsync(tenant.Id, Calls(target), email, mode, cancellationToken);
    }

    public async Task<MailchimpResult<MemberView>> GetAsync(Tenant tenant, ListKey key, string email, CancellationToken cancellationToken)
    {
        if (!MailchimpEmail.IsValid(email))
        {
            return FacadeErrors.Invalid("email", "Not a valid email address.");
        }

        await using var target = await targets.ResolveAsync(tenant, key, forWrite: false, reserveSlot: true, cancellationToken);
        if (target.Error is { } error)
        {
            return error;
        }

        var list = target.List!;
        var member = await Calls(target).GetAsync(SubscriberHash.FromEmail(email), cancellationToken);
        if (!member.IsSuccess)
        {
            return member.Error.Code == MailchimpErrorCodes.NotFound ? MemberRemoval.NotInList(email, key) : member.Error;
        }

        return list.Mode == ListMode.Tag && member.Value.Tags?.Any(tag => tag.Name == list.Tag) != true
            ? MemberRemoval.NotInList(email, key)
            : MemberView.From(member.Value, []);
    }

    /// <summary>A page of the list's members. In tag mode a page holds the tagged members of one page of the audience, so it may hold fewer than <paramref name="limit"/>.</summary>
    public async Task<MailchimpResult<Page<MemberView>>> PageAsync(Tenant tenant, ListKey key, string? cursor, int limit, CancellationToken cancellationToken)
    {
        if (Paging.CheckOffset(cursor, limit, MaxPageSize, out var offset) is { } invalid)
        {
            return FacadeErrors.Invalid(invalid.Parameter, invalid.Message);
        }

        await using var target = await targets.ResolveAsync(tenant, key, forWrite: false, reserveSlot: true, cancellationToken);
        if (target.Error is { } error)
        {
            return error;
        }

        var list = target.List!;
        var page = await Calls(target).PageAsync(limit, offset, cancellationToken);
        if (!page.IsSuccess)
        {
            return page.Error;
        }

        var members = list.Mode == ListMode.Tag
            ? page.Value.Members.Where(member => member.Tags?.Any(tag => tag.Name == list.Tag) == true)
            : page.Value.Members;
        // Mailchimp counts the audience: the list's size in audience mode, not in tag mode.
        return new Page<MemberView>([.. members.Select(member => MemberView.From(member, []))],
            Paging.CursorAfterOffset(offset, limit, page.Value.TotalItems), list.Mode == ListMode.Audience ? page.Value.TotalItems : null);
    }

    /// <summary>
    /// Adds and removes up to <see cref="MaxInlineBatch"/> members, answered with a result per member:
    /// one batch subscribe (update_existing, status_if_new) for the adds, tag calls where tags must
    /// change on existing contacts, and the single-member removal for each remove.
    /// </summary>
    public async Task<MailchimpResult<IReadOnlyList<MemberOutcome>>> BatchAsync(
        Tenant tenant, ListKey key, IReadOnlyList<JsonElement> add, IReadOnlyList<string> remove, RemovalMode mode, CancellationToken cancellationToken)
    {
        var outcomes = new List<MemberOutcome>();
        var valid = new Dictionary<string, DesiredMember>(StringComparer.Ordinal);
        foreach (var element in add)
        {
            if (!DesiredMember.TryCreate(element, out var member, out var email, out var invalid))
            {
                outcomes.Add(new MemberOutcome(email, MemberOutcome.Failed, FacadeErrors.Create(FacadeErrors.Validation, "Invalid member", invalid!)));
            }
            else if (!valid.TryAdd(member!.SubscriberHash, member))
            {
                outcomes.Add(new MemberOutcome(member.Email, MemberOutcome.Failed, FacadeErrors.Create(FacadeErrors.Validation, "Duplicate member", "The same email appears twice in this batch.")));
            }
        }

        await using var target = await targets.ResolveAsync(tenant, key, forWrite: true, reserveSlot: true, cancellationToken);
        if (target.Error is { } error)
        {
            return error;
        }

        var calls = Calls(target);
        var toWrite = new List<DesiredMember>();
        var externalIds = new HashSet<string>(StringComparer.Ordinal);
        var listed = valid.Keys.ToHashSet(StringComparer.Ordinal);
        var erasures = await erased.ErasuresAsync(tenant.Id, [.. valid.Values.Select(member => member.Email)]);
        foreach (var (member, erasure) in valid.Values.Zip(erasures))
        {
            if (erasure is not null)
            {
                outcomes.Add(new MemberOutcome(member.Email, MemberOutcome.Erased, ErasedPeople.ProblemFor(erasure)));
            }
            else if (ListFieldRules.Problem(calls.List.Fields, member.MergeFields) is { } badValue)
            {
                outcomes.Add(new MemberOutcome(member.Email, MemberOutcome.Failed, FacadeErrors.Invalid([badValue])));
            }
            else if (member.ExternalId is { } externalId && !externalIds.Add(externalId))
            {
                outcomes.Add(new MemberOutcome(member.Email, MemberOutcome.Failed, FacadeErrors.Create(FacadeErrors.Validation, "Duplicate member", "The same externalId appears twice in this batch.")));
            }
            else if ((await MoveToAddressAsync(tenant.Id, calls, member, cancellationToken, listedInBatch: listed)).Error is { } notMoved)
            {
                outcomes.Add(new MemberOutcome(member.Email, MemberOutcome.Failed, notMoved));
            }
            else
            {
                toWrite.Add(member);
            }
        }

        if (toWrite.Count > 0)
        {
            outcomes.AddRange(await AddBatchAsync(tenant.Id, calls, toWrite, cancellationToken));
        }

        var removals = await Task.WhenAll(remove.Distinct(StringComparer.OrdinalIgnoreCase).Select(async email =>
        {
            var removed = MailchimpEmail.IsValid(email)
                ? await removal.RemoveOneAsync(tenant.Id, calls, email, mode, cancellationToken)
                : FacadeErrors.Invalid("email", "Not a valid email address.");
            return new MemberOutcome(email, removed.IsSuccess ? MemberOutcome.Removed : MemberOutcome.Failed, removed.Error);
        }));
        outcomes.AddRange(removals);

        // The list's last sync is this batch, as a sync job's would be: there is no job to read, so no id.
        var failed = outcomes.Count(outcome => outcome.Error is not null);
        var state = failed == 0 ? JobState.Succeeded : failed < outcomes.Count ? JobState.PartiallySucceeded : JobState.Failed;
        await lists.UpdateAsync(tenant.Id, key, list => list with { LastSync = new ListSyncStatus(null, state.ToName(), time.GetUtcNow()) }, cancellationToken);
        return MailchimpResult<IReadOnlyList<MemberOutcome>>.Success(outcomes);
    }

    /// <summary>
    /// For a member with an <c>externalId</c> the list knows under another address: changes that contact's address to the
    /// member's first (<see cref="MemberRenamer"/>), so the person keeps their contact. Answers whether it moved, or why the
    /// member must not be written (<c>email_in_use</c>, Mailchimp's refusal). An id the list did not know is remembered.
    /// </summary>
    private async Task<(bool Moved, MailchimpError? Error)> MoveToAddressAsync(
        TenantId tenant, MemberCalls calls, DesiredMember member, CancellationToken cancellationToken, IReadOnlySet<string>? listedInBatch = null)
    {
        if (member.ExternalId is not { } externalId)
        {
            return (false, null);
        }

        var list = calls.List.Key;
        if (await renamer.KnownEmailAsync(tenant, list, externalId) is not { } known || SubscriberHash.FromEmail(known).Value == member.SubscriberHash)
        {
            await renamer.RememberAsync(tenant, list, externalId, member.Email);
            return (false, null);
        }

        if (listedInBatch?.Contains(SubscriberHash.FromEmail(known).Value) == true)
        {
            return (false, FacadeErrors.Create(MemberRenamer.EmailChangeConflict, "Email change conflict",
                $"The batch also lists {known}, which externalId '{externalId}' had, as a member of its own: the address was not changed."));
        }

        var renamed = await renamer.RenameAsync(tenant, calls.List, calls, known, member.Email, externalId, cancellationToken);
        return renamed.MayWrite ? (renamed.Outcome == RenameOutcome.Renamed || renamed.Outcome == RenameOutcome.AlreadyRenamed, null) : (false, renamed.Error);
    }

    private async Task<IReadOnlyList<MemberOutcome>> AddBatchAsync(TenantId tenant, MemberCalls calls, IReadOnlyList<DesiredMember> members, CancellationToken cancellationToken)
    {
        var list = calls.List;
        var known = await ledger.HoldsAsync(tenant, list.Key, [.. members.Select(member => member.SubscriberHash)], cancellationToken);
        // A call of at most 500 members never reads the audience (that is a sync run's, see AudienceDirectory): existing
        // contacts are written one by one. The facade records what it created when the whole call is done.
        var written = await MemberBatchWriter.WriteAsync(list, [.. members.Select((member, i) => new MemberWrite(member, known[i]))], calls, parallelism: 4, cancellationToken);

        var outcomes = new List<MemberOutcome>();
        var applied = new List<AppliedMember>();
        var refused = new List<RefusedMember>();
        foreach (var outcome in written.Members)
        {
            var member = outcome.Member;
            if (outcome.Error is { } error)
            {
                outcomes.Add(new MemberOutcome(member.Email, MemberOutcome.Failed, error));
                if (MemberRules.IsRefusal(error.Code))
                {
                    refused.Add(new RefusedMember(member.SubscriberHash, member.Fingerprint(), new Jobs.MemberError(member.Email, error.Detail, Retryable: false)));
                }

                continue;
            }

            applied.Add(new AppliedMember(member.SubscriberHash, member.Fingerprint(),
                outcome.Created || await removal.HubAddedAsync(tenant, list, member.SubscriberHash, cancellationToken)));
            outcomes.Add(new MemberOutcome(member.Email, outcome.Created ? MemberOutcome.Added : MemberOutcome.Updated, null));
        }

        await ledger.RecordAsync(tenant, list.Key, new LedgerBatch { Applied = applied, Refused = refused }, cancellationToken);
        return outcomes;
    }

    /// <summary>
    /// Writes one member and tells whether this call created it (only such members does Hub remove
    /// later). A member Hub already added is upserted. Otherwise a create-only POST comes first: one call
    /// for a new address; when Mailchimp answers "Member Exists" the contact was there before Hub and is
    /// upserted with <c>status_if_new</c>, so its status never changes. The POST is not retried: a retry
    /// after a lost answer would meet "Member Exists" and Hub would not know it had created the contact.
    /// </summary>
    private async Task<(MailchimpResult<MailchimpMember> Result, bool CreatedByHub)> WriteMemberAsync(
        TenantId tenant, MemberCalls calls, DesiredMember member, SubscriberHash hash, bool hubAdded, CancellationToken cancellationToken)
    {
        var list = calls.List;
        var status = member.Status ?? MemberRules.StatusIfNew(list);
        if (!hubAdded)
        {
            var created = await calls.CreateAsync(new MailchimpMemberCreate(member.Email, status, MemberRules.MergeFields(member), member.Language, member.Vip), cancellationToken);
            if (created.IsSuccess || created.Error.Code != MailchimpErrorCodes.MemberExists)
            {
                return (created, created.IsSuccess);
            }

            hubAdded = list.Mode == ListMode.Tag && await removal.HubAddedAsync(tenant, list, hash.Value, cancellationToken);
        }

        var upserted = await calls.UpsertAsync(
            new MailchimpMemberUpsert(member.Email, status, MergeFields: MemberRules.MergeFields(member), Language: member.Language, Vip: member.Vip), cancellationToken);
        return (upserted, hubAdded);
    }

    /// <summary>
    /// Remembers a member Mailchimp refuses for what it is (compliance state, forgotten), so syncs do not send it
    /// again unchanged. An address Mailchimp calls fake is bad input, answered 400, and like all bad input changes nothing.
    /// </summary>
    private async Task RecordRefusalAsync(TenantId tenant, ListKey key, DesiredMember member, MailchimpError error, CancellationToken cancellationToken)
    {
        if (MemberRules.IsRefusal(error.Code) && error.Code != MailchimpErrorCodes.InvalidEmail)
        {
            await ledger.RecordAsync(tenant, key, new LedgerBatch
            {
                Refused = [new RefusedMember(member.SubscriberHash, member.Fingerprint(), new Jobs.MemberError(member.Email, error.Detail, Retryable: false))],
            }, cancellationToken);
        }
    }

    /// <summary>The facade's calls: straight through the client (which retries 429, 5xx and timeouts); every failure is the caller's answer.</summary>
    private MemberCalls Calls(ListTarget target) => new(mailchimp, target.Credential!, target.List!, IMemberCallPolicy.Direct);
}
