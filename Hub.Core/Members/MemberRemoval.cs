using Hub.Core.Audiences;
using Hub.Core.Jobs;
using Hub.Core.Lists;
using Hub.Core.Mailchimp;
using Hub.Core.Tenants;

namespace Hub.Core.Members;

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

/// <summary>A member leaving a list: its subscriber hash, its email when known, and whether the removal mode applies (only to contacts Hub added).</summary>
public sealed record LeavingMember(SubscriberHash Hash, string? Email, bool ApplyMode);

/// <summary>
/// Takes members off a list, for the facade and the sync job alike. Audience mode: the removal mode (archive, unsubscribe,
/// permanent delete). Tag mode: the list's tag comes off, and the mode applies only when no other Hub list of the audience
/// holds the member (and Hub added it). A contact Mailchimp no longer has is gone already; archiving one already archived
/// (Mailchimp answers 405) is done already.
/// </summary>
public sealed class MemberRemoval(MemberLedger ledger, ListTargets targets)
{
    /// <summary>
    /// Removes one member on request. The answer tells a member that is not on the list (<c>member_not_in_list</c>): not in
    /// the audience, or (tag mode) without the list's tag.
    /// </summary>
    public async Task<MailchimpResult> RemoveOneAsync(TenantId tenant, MemberCalls calls, string email, RemovalMode mode, CancellationToken cancellationToken)
    {
        var list = calls.List;
        var hash = SubscriberHash.FromEmail(email);
        var removed = list.Mode == ListMode.Audience
            ? await ApplyAsync(calls, hash, email, mode, strict: true, cancellationToken)
            : await RemoveFromTagAsync(tenant, calls, new LeavingMember(hash, email, await HubAddedAsync(tenant, list, hash.Value, cancellationToken)), mode,
                await targets.OthersInAudienceAsync(tenant, list, cancellationToken), strict: true, cancellationToken);
        if (removed.IsSuccess)
        {
            await ledger.RecordAsync(tenant, list.Key, new LedgerBatch { Removed = [hash.Value] }, cancellationToken);
            return removed;
        }

        return removed.Error.Code == MailchimpErrorCodes.NotFound ? NotInList(email, null) : removed;
    }

    /// <summary>
    /// Removes members for a sync job, up to <paramref name="parallelism"/> at once; <paramref name="mode"/> null only untags
    /// (tag mode) or leaves them (audience mode). Answers the members removed and the failures (not recorded: the job records).
    /// </summary>
    public async Task<LedgerBatch> RemoveManyAsync(
        TenantId tenant, MemberCalls calls, IReadOnlyList<LeavingMember> members, RemovalMode? mode, int parallelism, CancellationToken cancellationToken)
    {
        var others = calls.List.Mode == ListMode.Tag ? await targets.OthersInAudienceAsync(tenant, calls.List, cancellationToken) : [];
        var failures = new System.Collections.Concurrent.ConcurrentBag<MemberError>();
        await Parallel.ForEachAsync(members, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken }, async (member, token) =>
        {
            var result = calls.List.Mode == ListMode.Tag
                ? await RemoveFromTagAsync(tenant, calls, member, mode, others, strict: false, token)
                : member.ApplyMode && mode is { } removal ? await ApplyAsync(calls, member.Hash, member.Email, removal, strict: false, token) : MailchimpResult.Success;
            if (!result.IsSuccess && result.Error.Code != MailchimpErrorCodes.NotFound)
            {
                failures.Add(new MemberError(Label(member), result.Error.Detail, Retryable: result.Error.Code == MailchimpErrorCodes.MailchimpUnavailable));
            }
        });
        var failed = failures.Select(error => error.Email).ToHashSet(StringComparer.Ordinal);
        return new LedgerBatch { Removed = [.. members.Where(member => !failed.Contains(Label(member))).Select(member => member.Hash.Value)], Failed = [.. failures] };

        static string Label(LeavingMember member) => member.Email ?? member.Hash.Value;
    }

    /// <summary>Takes the list's tag off every member Hub synced into a tag list (when the list is unlinked); the first failure, if any.</summary>
    public async Task<MailchimpError?> UntagAllAsync(TenantId tenant, MemberCalls calls, CancellationToken cancellationToken)
    {
        MailchimpError? failure = null;
        // The per-account cap bounds Mailchimp concurrency; this bounds the tasks in flight here.
        await Parallel.ForEachAsync(ledger.MembersAsync(tenant, calls.List.Key, cancellationToken),
            new ParallelOptions { MaxDegreeOfParallelism = 10, CancellationToken = cancellationToken },
            async (hash, token) =>
            {
                var untagged = await calls.TagAsync(SubscriberHash.Parse(hash), [MailchimpTagUpdate.Inactive(calls.List.Tag!)], token);
                if (!untagged.IsSuccess && untagged.Error.Code != MailchimpErrorCodes.NotFound)
                {
                    failure ??= untagged.Error;
                }
            });
        return failure;
    }

    /// <summary>
    /// Whether Hub created the contact: recorded by this list or, in tag mode, by another Hub list of the same audience
    /// (the contact Hub added for one tag list is still Hub's when a second list tags it).
    /// </summary>
    public async Task<bool> HubAddedAsync(TenantId tenant, HostList list, string hash, CancellationToken cancellationToken) =>
        await ledger.IsHubAddedAsync(tenant, list.Key, hash, cancellationToken)
        || (list.Mode == ListMode.Tag
            && await ledger.AnyListHoldsAsync(tenant, await targets.OthersInAudienceAsync(tenant, list, cancellationToken), hash, hubAddedOnly: true, cancellationToken));

    /// <summary>
    /// Untags; then applies the mode only when no other Hub list of the audience holds the member and the mode applies to it.
    /// <paramref name="strict"/> (a request about this one member): a member without the tag is not on the list (not found).
    /// </summary>
    private async Task<MailchimpResult> RemoveFromTagAsync(
        TenantId tenant, MemberCalls calls, LeavingMember member, RemovalMode? mode, IReadOnlyList<ListKey> others, bool strict, CancellationToken cancellationToken)
    {
        var untagged = await calls.TagAsync(member.Hash, [MailchimpTagUpdate.Inactive(calls.List.Tag!)], cancellationToken);
        if (!untagged.IsSuccess && untagged.Error.Code == MailchimpErrorCodes.NotFound && strict)
        {
            return NotInList(member.Email!, calls.List.Key);
        }

        if (!untagged.IsSuccess && untagged.Error.Code != MailchimpErrorCodes.NotFound)
        {
            return untagged;
        }

        if ((strict && !member.ApplyMode)
            || await ledger.AnyListHoldsAsync(tenant, others, member.Hash.Value, hubAddedOnly: false, cancellationToken))
        {
            return MailchimpResult.Success;
        }

        return member.ApplyMode && mode is { } removal ? await ApplyAsync(calls, member.Hash, member.Email, removal, strict, cancellationToken) : MailchimpResult.Success;
    }

    /// <summary>
    /// Applies a removal mode to one contact. Unsubscribing needs the address: looked up when only the hash is known (a
    /// contact Mailchimp no longer has is then gone already). Mailchimp refuses to archive (405) a contact that is archived,
    /// pending or bounced. For a request about one member (<paramref name="strict"/>) that is done only when the contact is
    /// archived already; otherwise the refusal is the answer. For a sync job it is done either way: such a contact gets no
    /// campaigns, and counting it failed would send it again on every sync.
    /// </summary>
    private static async Task<MailchimpResult> ApplyAsync(
        MemberCalls calls, SubscriberHash hash, string? email, RemovalMode mode, bool strict, CancellationToken cancellationToken)
    {
        switch (mode)
        {
            case RemovalMode.Permanent:
                return await calls.DeletePermanentlyAsync(hash, cancellationToken);
            case RemovalMode.Unsubscribe:
                email ??= (await calls.GetAsync(hash, cancellationToken)) is { IsSuccess: true } found ? found.Value.EmailAddress : null;
                if (email is null)
                {
                    return MailchimpResult.Success;
                }

                var unsubscribed = await calls.UpsertAsync(
                    new MailchimpMemberUpsert(email, MailchimpMemberStatus.Unsubscribed, Status: MailchimpMemberStatus.Unsubscribed), cancellationToken);
                return unsubscribed.IsSuccess ? MailchimpResult.Success : unsubscribed.Error;
            default:
                var archived = await calls.ArchiveAsync(hash, cancellationToken);
                return !archived.IsSuccess && archived.Error.Status == 405
                    && (!strict || await calls.GetAsync(hash, cancellationToken) is { IsSuccess: true, Value.Status: MailchimpMemberStatus.Archived })
                    ? MailchimpResult.Success
                    : archived;
        }
    }

    /// <summary><c>member_not_in_list</c>: not on the list (<paramref name="key"/>: a tag list) or not on the audience.</summary>
    internal static MailchimpError NotInList(string email, ListKey? key) =>
        FacadeErrors.Create(FacadeErrors.MemberNotInList, "Member not in list", key is { } k ? $"'{email}' is not a member of list '{k}'." : $"'{email}' is not on the audience.");
}
