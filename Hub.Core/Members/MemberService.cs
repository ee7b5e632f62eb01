using System.Text.Json;
using System.Text.Json.Nodes;
using Hub.Core.Lists;
using Hub.Core.Audiences;
using Hub.Core.Jobs;
using Hub.Core.Mailchimp;
using Hub.Core.Tenants;

namespace Hub.Core.Members;

/// <summary>A member as the facade shows it.</summary>
public sealed record MemberView(
    string Email, string Status, IReadOnlyDictionary<string, JsonNode?> MergeFields, IReadOnlyList<string> Tags,
    string? Language, bool Vip, DateTimeOffset? LastChanged);

/// <summary>One page of a list's members; <see cref="NextCursor"/> is null on the last page.</summary>
public sealed record MemberPage(IReadOnlyList<MemberView> Items, string? NextCursor);

/// <summary>How one member is taken off a list on request.</summary>
public enum RemovalMode
{
    /// <summary>Archive the contact (the default; it can be re-added later).</summary>
    Archive,

    /// <summary>Keep the contact but unsubscribe it.</summary>
    Unsubscribe,

    /// <summary>Erase the contact permanently (GDPR); Mailchimp refuses to re-import the address afterwards.</summary>
    Permanent,
}

/// <summary>The outcome for one member of an inline batch.</summary>
public sealed record MemberOutcome(string Email, string Result, MailchimpError? Error)
{
    public const string Added = "added";
    public const string Updated = "updated";
    public const string Removed = "removed";
    public const string Failed = "failed";
}

/// <summary>
/// Members of one host list. Hub addresses members by email, computes Mailchimp's subscriber hash,
/// adds with <c>status_if_new</c> (never re-subscribing someone who opted out), and records what it
/// synced in the list's ledger so full syncs and removals know which members Hub put there.
/// </summary>
public sealed class MemberService(
    ListStore lists, MemberLedger ledger, TenantMailchimp tenantMailchimp, MailchimpClient mailchimp, MailchimpConcurrencyLimiter limiter)
{
    public const int MaxInlineBatch = 200;
    private const string TagsPending = "tags-pending";
    public const int MaxPageSize = 1000;

    /// <summary>Adds or updates one member, parsed from the same JSON shape a full sync takes.</summary>
    public async Task<MailchimpResult<MemberView>> UpsertAsync(Tenant tenant, ListKey key, JsonElement body, CancellationToken cancellationToken)
    {
        if (!DesiredMember.TryCreate(body, out var member, out _, out var invalid))
        {
            return FacadeErrors.Invalid("member", invalid!);
        }

        // Whether Hub added the member rides along with the reads of the list and the credential.
        var hash = SubscriberHash.FromEmail(member!.Email);
        var hubAddedRead = ledger.IsHubAddedAsync(tenant.Id, key.ToString(), hash.Value, cancellationToken);
        await using var target = await TargetAsync(tenant, key, cancellationToken);
        var hubAdded = await hubAddedRead;
        if (target.Error is { } error)
        {
            return error;
        }

        var (list, credential) = (target.List!, target.Credential!);
        var (upserted, createdByHub) = await WriteMemberAsync(tenant.Id, list, credential, member, hash, hubAdded, cancellationToken);
        if (!upserted.IsSuccess)
        {
            await RecordRefusalAsync(tenant.Id, key, member, upserted.Error, cancellationToken);
            return upserted.Error;
        }

        var tags = TagsFor(list, member);
        if (tags.Count > 0)
        {
            var tagged = await mailchimp.UpdateMemberTagsAsync(credential, list.AudienceId, hash, tags.Select(MailchimpTagUpdate.Active).ToList(), isSyncing: true, cancellationToken);
            if (!tagged.IsSuccess)
            {
                // The contact was written: keep whether Hub created it, under a fingerprint no member has,
                // so the next upsert or sync sends it (and its tags) again.
                await ledger.RecordAsync(tenant.Id, key.ToString(), new LedgerBatch { Applied = [new AppliedMember(hash.Value, TagsPending, createdByHub)] }, cancellationToken);
                return tagged.Error;
            }
        }

        // Recorded after every write, even one that repeats what Hub last wrote: a sync of the same list may
        // have changed the ledger since it was read above.
        await ledger.RecordAsync(tenant.Id, key.ToString(), new LedgerBatch { Applied = [new AppliedMember(hash.Value, member.Fingerprint(), createdByHub)] }, cancellationToken);
        return ToView(upserted.Value, tags);
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

        await using var target = await TargetAsync(tenant, key, cancellationToken);
        if (target.Error is { } error)
        {
            return error;
        }

        return await RemoveResolvedAsync(tenant, target.List!, target.Credential!, email, mode, cancellationToken);
    }

    /// <summary>Removes one member of a list whose target is already resolved (single removes and inline batches).</summary>
    private async Task<MailchimpResult> RemoveResolvedAsync(
        Tenant tenant, HostList list, MailchimpCredential credential, string email, RemovalMode mode, CancellationToken cancellationToken)
    {
        var hash = SubscriberHash.FromEmail(email);
        var removed = list.Mode == ListMode.Audience
            ? await ApplyRemovalAsync(credential, list.AudienceId, hash, email, mode, cancellationToken)
            : await RemoveFromTagAsync(tenant, list, credential, hash, email, mode, cancellationToken);
        if (removed.IsSuccess)
        {
            await ledger.RecordAsync(tenant.Id, list.Key.ToString(), new LedgerBatch { Removed = [hash.Value] }, cancellationToken);
        }

        return removed;
    }

    public async Task<MailchimpResult<MemberView>> GetAsync(Tenant tenant, ListKey key, string email, CancellationToken cancellationToken)
    {
        if (!MailchimpEmail.IsValid(email))
        {
            return FacadeErrors.Invalid("email", "Not a valid email address.");
        }

        await using var target = await TargetAsync(tenant, key, cancellationToken, forWrite: false);
        if (target.Error is { } error)
        {
            return error;
        }

        var member = await mailchimp.GetMemberAsync(target.Credential!, target.List!.AudienceId, SubscriberHash.FromEmail(email), cancellationToken);
        if (!member.IsSuccess)
        {
            return member.Error.Code == MailchimpErrorCodes.NotFound ? NotInList(email, key) : member.Error;
        }

        return target.List.Mode == ListMode.Tag && member.Value.Tags?.Any(tag => tag.Name == target.List.Tag) != true
            ? NotInList(email, key)
            : ToView(member.Value, []);
    }

    /// <summary>A page of the list's members. In tag mode a page holds the tagged members of one page of the audience, so it may hold fewer than <paramref name="limit"/>.</summary>
    public async Task<MailchimpResult<MemberPage>> PageAsync(Tenant tenant, ListKey key, string? cursor, int limit, CancellationToken cancellationToken)
    {
        var offset = 0;
        if (cursor is not null && (!int.TryParse(cursor, System.Globalization.CultureInfo.InvariantCulture, out offset) || offset < 0))
        {
            return FacadeErrors.Invalid("cursor", "Not a cursor this API returned.");
        }

        if (limit is < 1 or > MaxPageSize)
        {
            return FacadeErrors.Invalid("limit", $"Between 1 and {MaxPageSize}.");
        }

        await using var target = await TargetAsync(tenant, key, cancellationToken, forWrite: false);
        if (target.Error is { } error)
        {
            return error;
        }

        var page = await mailchimp.GetMembersAsync(target.Credential!, target.List!.AudienceId, limit, offset, null, cancellationToken);
        if (!page.IsSuccess)
        {
            return page.Error;
        }

        var members = target.List.Mode == ListMode.Tag
            ? page.Value.Members.Where(member => member.Tags?.Any(tag => tag.Name == target.List.Tag) == true)
            : page.Value.Members;
        var next = offset + limit < page.Value.TotalItems ? (offset + limit).ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        return new MemberPage(members.Select(member => ToView(member, [])).ToList(), next);
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

        await using var target = await TargetAsync(tenant, key, cancellationToken);
        if (target.Error is { } error)
        {
            return error;
        }

        var (list, credential) = (target.List!, target.Credential!);
        if (valid.Count > 0)
        {
            outcomes.AddRange(await AddBatchAsync(tenant, list, credential, valid.Values.ToList(), cancellationToken));
        }

        var removals = await Task.WhenAll(remove.Distinct(StringComparer.OrdinalIgnoreCase).Select(async email =>
        {
            var removed = MailchimpEmail.IsValid(email)
                ? await RemoveResolvedAsync(tenant, list, credential, email, mode, cancellationToken)
                : FacadeErrors.Invalid("email", "Not a valid email address.");
            return new MemberOutcome(email, removed.IsSuccess ? MemberOutcome.Removed : MemberOutcome.Failed, removed.Error);
        }));
        outcomes.AddRange(removals);
        return MailchimpResult<IReadOnlyList<MemberOutcome>>.Success(outcomes);
    }

    private async Task<IReadOnlyList<MemberOutcome>> AddBatchAsync(
        Tenant tenant, HostList list, MailchimpCredential credential, IReadOnlyList<DesiredMember> members, CancellationToken cancellationToken)
    {
        var known = await ledger.HoldsAsync(tenant.Id, list.Key.ToString(), [.. members.Select(member => member.SubscriberHash)], cancellationToken);
        var written = await MemberBatchWriter.WriteAsync(list, [.. members.Select((member, i) => new MemberWrite(member, known[i]))],
            new DirectMemberCalls(mailchimp, credential, list.AudienceId), parallelism: 4, cancellationToken);

        var outcomes = new List<MemberOutcome>();
        var applied = new List<AppliedMember>();
        var refused = new List<RefusedMember>();
        foreach (var outcome in written.Members)
        {
            var member = outcome.Member;
            if (outcome.Error is { } error)
            {
                outcomes.Add(new MemberOutcome(member.Email, MemberOutcome.Failed, error));
                if (IsRefusal(error.Code))
                {
                    refused.Add(new RefusedMember(member.SubscriberHash, member.Fingerprint(), new MemberError(member.Email, error.Detail, Retryable: false)));
                }

                continue;
            }

            applied.Add(new AppliedMember(member.SubscriberHash, member.Fingerprint(),
                outcome.Created || await HubAddedAsync(tenant.Id, list, member.SubscriberHash, cancellationToken)));
            outcomes.Add(new MemberOutcome(member.Email, outcome.Created ? MemberOutcome.Added : MemberOutcome.Updated, null));
        }

        await ledger.RecordAsync(tenant.Id, list.Key.ToString(), new LedgerBatch { Applied = applied, Refused = refused }, cancellationToken);
        return outcomes;
    }

    /// <summary>The writer's calls for an inline batch: straight through the client (which retries 429, 5xx and timeouts).</summary>
    private sealed class DirectMemberCalls(MailchimpClient mailchimp, MailchimpCredential credential, string audienceId) : IMemberCalls
    {
        public Task<MailchimpResult<MailchimpBatchResult>> BatchSubscribeAsync(MailchimpBatchSubscribe batch, CancellationToken cancellationToken) =>
            mailchimp.BatchSubscribeAsync(credential, audienceId, batch, cancellationToken);

        public Task<MailchimpResult<MailchimpMember>> UpsertAsync(MailchimpMemberUpsert member, CancellationToken cancellationToken) =>
            mailchimp.UpsertMemberAsync(credential, audienceId, member, cancellationToken);

        public Task<MailchimpResult> TagAsync(SubscriberHash hash, IReadOnlyList<MailchimpTagUpdate> tags, CancellationToken cancellationToken) =>
            mailchimp.UpdateMemberTagsAsync(credential, audienceId, hash, tags, isSyncing: true, cancellationToken);

        // The facade records what it created when the whole call is done.
        public Task CreatedAsync(IReadOnlyList<DesiredMember> created, CancellationToken cancellationToken) => Task.CompletedTask;

        // A call of at most 500 members never reads the audience (that is a sync run's, see AudienceDirectory): existing
        // contacts are written one by one.
        public Task<IReadOnlySet<string>> SubscribedAsync(IReadOnlyList<string> existing, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlySet<string>>(new HashSet<string>());
    }

    private async Task<MailchimpResult> RemoveFromTagAsync(
        Tenant tenant, HostList list, MailchimpCredential credential, SubscriberHash hash, string email, RemovalMode mode, CancellationToken cancellationToken)
    {
        var untagged = await mailchimp.UpdateMemberTagsAsync(credential, list.AudienceId, hash, [MailchimpTagUpdate.Inactive(list.Tag!)], isSyncing: true, cancellationToken);
        if (!untagged.IsSuccess)
        {
            return untagged.Error.Code == MailchimpErrorCodes.NotFound ? NotInList(email, list.Key) : untagged;
        }

        if (!await HubAddedAsync(tenant.Id, list, hash.Value, cancellationToken))
        {
            return MailchimpResult.Success;
        }

        if (await ledger.AnyListHoldsAsync(tenant.Id, await OtherListsAsync(tenant.Id, list, cancellationToken), hash.Value, hubAddedOnly: false, cancellationToken))
        {
            return MailchimpResult.Success;
        }

        return await ApplyRemovalAsync(credential, list.AudienceId, hash, email, mode, cancellationToken);
    }

    private async Task<MailchimpResult> ApplyRemovalAsync(
        MailchimpCredential credential, string audienceId, SubscriberHash hash, string email, RemovalMode mode, CancellationToken cancellationToken)
    {
        var result = mode switch
        {
            RemovalMode.Permanent => await mailchimp.DeleteMemberPermanentlyAsync(credential, audienceId, hash, cancellationToken),
            RemovalMode.Unsubscribe => ToResult(await mailchimp.UpsertMemberAsync(credential, audienceId,
                new MailchimpMemberUpsert(email, MailchimpMemberStatus.Unsubscribed, Status: MailchimpMemberStatus.Unsubscribed), cancellationToken)),
            _ => await mailchimp.ArchiveMemberAsync(credential, audienceId, hash, cancellationToken),
        };
        if (result.IsSuccess)
        {
            return result;
        }

        if (result.Error.Code == MailchimpErrorCodes.NotFound)
        {
            return NotInList(email, null);
        }

        // Mailchimp answers 405 when archiving a contact that is already archived: the wanted state holds.
        if (mode == RemovalMode.Archive && result.Error.Status == 405
            && await mailchimp.GetMemberAsync(credential, audienceId, hash, cancellationToken) is { IsSuccess: true } current
            && current.Value.Status == MailchimpMemberStatus.Archived)
        {
            return MailchimpResult.Success;
        }

        return result;
    }

    /// <summary>
    /// The list a member call addresses and the tenant's credential, or why the call cannot go ahead. The
    /// list, the credential, (for a write) the tenant's managed audiences and a concurrency slot for the
    /// account the tenant used last are all asked for in one Redis round trip. The slot rides on the
    /// credential to the first Mailchimp call; the caller disposes the target, which frees it if unused.
    /// The answers keep their order of precedence: missing list, then unmanaged audience, then the connection.
    /// </summary>
    private async Task<Target> TargetAsync(Tenant tenant, ListKey key, CancellationToken cancellationToken, bool forWrite = true)
    {
        var reservation = limiter.Reserve(tenant.Id);
        try
        {
            var listRead = lists.GetAsync(tenant.Id, key, cancellationToken);
            var credentialRead = tenantMailchimp.CredentialAsync(tenant, cancellationToken);
            var managedRead = forWrite ? tenantMailchimp.ManagedAsync(tenant.Id, cancellationToken) : null;
            var list = await listRead;
            var managed = managedRead is null ? null : await managedRead;
            var (credential, error) = await credentialRead;
            limiter.RememberAccount(tenant.Id, credential?.AccountKey); // not connected: reserve nothing next time
            error = list is null ? FacadeErrors.ListMissing(key.ToString())
                : managed is not null && !managed.Contains(list.AudienceId) ? FacadeErrors.NotManaged(list.AudienceId)
                : error;
            if (error is not null || credential is null)
            {
                await FreeAsync(reservation);
                return new Target(null, null, error);
            }

            if (reservation is not null && reservation.AccountKey != credential.AccountKey)
            {
                await FreeAsync(reservation);
                reservation = null;
            }

            return new Target(list, credential with { ReservedSlot = reservation }, null);
        }
        catch
        {
            await FreeAsync(reservation);
            throw;
        }

        static ValueTask FreeAsync(MailchimpSlotReservation? reservation) => reservation?.DisposeAsync() ?? ValueTask.CompletedTask;
    }

    /// <summary>What <see cref="TargetAsync"/> found. Disposing frees a reserved slot no call used.</summary>
    private sealed record Target(HostList? List, MailchimpCredential? Credential, MailchimpError? Error) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Credential?.ReservedSlot?.DisposeAsync() ?? ValueTask.CompletedTask;
    }

    /// <summary>
    /// Whether Hub created the contact: recorded by this list or, in tag mode, by another Hub list of the
    /// same audience (the contact Hub added for one tag list is still Hub's when a second list tags it).
    /// </summary>
    private async Task<bool> HubAddedAsync(TenantId tenant, HostList list, string hash, CancellationToken cancellationToken)
    {
        if (await ledger.IsHubAddedAsync(tenant, list.Key.ToString(), hash, cancellationToken))
        {
            return true;
        }

        return list.Mode == ListMode.Tag
            && await ledger.AnyListHoldsAsync(tenant, await OtherListsAsync(tenant, list, cancellationToken), hash, hubAddedOnly: true, cancellationToken);
    }

    /// <summary>The keys of the tenant's other lists in the same audience.</summary>
    private async Task<IReadOnlyList<string>> OtherListsAsync(TenantId tenant, HostList list, CancellationToken cancellationToken) =>
        (await lists.ListInAudienceAsync(tenant, list.AudienceId, cancellationToken)).Where(other => other.Key != list.Key).Select(other => other.Key.ToString()).ToList();

    /// <summary>
    /// Writes one member and tells whether this call created it (only such members does Hub remove
    /// later). A member Hub already added is upserted. Otherwise a create-only POST comes first: one call
    /// for a new address; when Mailchimp answers "Member Exists" the contact was there before Hub and is
    /// upserted with <c>status_if_new</c>, so its status never changes. The POST is not retried: a retry
    /// after a lost answer would meet "Member Exists" and Hub would not know it had created the contact.
    /// </summary>
    private async Task<(MailchimpResult<MailchimpMember> Result, bool CreatedByHub)> WriteMemberAsync(
        TenantId tenant, HostList list, MailchimpCredential credential, DesiredMember member, SubscriberHash hash, bool hubAdded, CancellationToken cancellationToken)
    {
        var status = member.Status ?? StatusIfNew(list);
        if (!hubAdded)
        {
            var created = await mailchimp.CreateMemberAsync(credential, list.AudienceId,
                new MailchimpMemberCreate(member.Email, status, MergeFields(member), member.Language, member.Vip), cancellationToken);
            if (created.IsSuccess || created.Error.Code != MailchimpErrorCodes.MemberExists)
            {
                return (created, created.IsSuccess);
            }

            hubAdded = list.Mode == ListMode.Tag && await HubAddedAsync(tenant, list, hash.Value, cancellationToken);
        }

        var upserted = await mailchimp.UpsertMemberAsync(credential, list.AudienceId,
            new MailchimpMemberUpsert(member.Email, status, MergeFields: MergeFields(member), Language: member.Language, Vip: member.Vip), cancellationToken);
        return (upserted, hubAdded);
    }

    /// <summary>
    /// Remembers a member Mailchimp refuses for what it is (compliance state, forgotten), so syncs do not send it
    /// again unchanged. An address Mailchimp calls fake is bad input, answered 400, and like all bad input changes nothing.
    /// </summary>
    private async Task RecordRefusalAsync(TenantId tenant, ListKey key, DesiredMember member, MailchimpError error, CancellationToken cancellationToken)
    {
        if (IsRefusal(error.Code) && error.Code != MailchimpErrorCodes.InvalidEmail)
        {
            await ledger.RecordAsync(tenant, key.ToString(), new LedgerBatch
            {
                Refused = [new RefusedMember(member.SubscriberHash, member.Fingerprint(), new MemberError(member.Email, error.Detail, Retryable: false))],
            }, cancellationToken);
        }
    }

    internal static bool IsRefusal(string code) =>
        code is MailchimpErrorCodes.MemberInComplianceState or MailchimpErrorCodes.ForgottenEmail or MailchimpErrorCodes.InvalidEmail;

    internal static string StatusIfNew(HostList list) =>
        list.DefaultStatus == NewMemberStatus.Pending ? MailchimpMemberStatus.Pending : MailchimpMemberStatus.Subscribed;

    internal static List<string> TagsFor(HostList list, DesiredMember member)
    {
        var tags = new List<string>();
        if (list.Tag is { } listTag)
        {
            tags.Add(listTag);
        }

        tags.AddRange(member.Tags ?? []);
        return tags.Distinct(StringComparer.Ordinal).ToList();
    }

    internal static Dictionary<string, JsonNode?>? MergeFields(DesiredMember member) =>
        member.MergeFields?.ToDictionary(field => field.Key, field => JsonNode.Parse(field.Value.GetRawText()), StringComparer.Ordinal);

    private static MailchimpResult ToResult(MailchimpResult<MailchimpMember> result) => result.IsSuccess ? MailchimpResult.Success : result.Error;

    private static MailchimpError NotInList(string email, ListKey? key) =>
        FacadeErrors.Create(FacadeErrors.MemberNotInList, "Member not in list", key is { } k ? $"'{email}' is not a member of list '{k}'." : $"'{email}' is not on the audience.");

    private static MemberView ToView(MailchimpMember member, IReadOnlyList<string> addedTags) => new(
        member.EmailAddress, member.Status, member.MergeFields ?? [],
        (member.Tags?.Select(tag => tag.Name) ?? []).Concat(addedTags).Distinct(StringComparer.Ordinal).ToList(),
        member.Language, member.Vip, member.LastChanged);
}
