using Hub.Core.Lists;
using Hub.Core.Mailchimp;

namespace Hub.Core.Members;

/// <summary>A member to write, and whether Hub already knows the contact exists in the audience (it synced it before).</summary>
public sealed record MemberWrite(DesiredMember Member, bool KnownToExist);

/// <summary>How writing one member ended: created by this write, updated, refused for good, or failed.</summary>
public sealed record MemberWritten(DesiredMember Member, bool Created, MailchimpError? Error)
{
    public bool IsSuccess => Error is null;
}

/// <summary>
/// What a batch write did: one outcome per member, errors Mailchimp reported for addresses Hub did not send, and whether the
/// contacts it created were already handed to <see cref="IMemberCalls.CreatedAsync"/> (only when more calls followed the one
/// that created them; otherwise recording them is the caller's, with the rest of the outcome).
/// </summary>
public sealed record MemberBatchWritten(IReadOnlyList<MemberWritten> Members, IReadOnlyList<MailchimpBatchError> Strays, bool CreatedRecorded = false);

/// <summary>
/// Writes members to an audience the way Mailchimp documents it, so that a new contact gets its status, an existing
/// contact never has its status changed (no re-subscribe, no pending made subscribed), and merge fields and tags are
/// brought up to date:
/// <list type="number">
/// <item>Members Hub does not know to exist go out in a create-only batch subscribe (<c>POST /lists/{id}</c>,
/// <c>update_existing: false</c>), each with <c>status</c> (the member's, or the list's default) and <c>tags</c>.
/// Spec 3.0.55 <c>postListsId</c> documents <c>members[].status</c> and <c>update_existing</c> ("whether this batch
/// operation will change existing members' subscription status"); batch members' <c>tags</c> come from Mailchimp's
/// changelog, 2022-01-24 (FACTS.md §5, [FD: CL:2022-01-24-…]). A contact that already exists comes back as
/// <c>ERROR_CONTACT_EXISTS</c> and is written as an existing one.</item>
/// <item>Existing contacts the caller has just read as subscribed (<see cref="IMemberCalls.SubscribedAsync"/>), on a list
/// whose new contacts are subscribed too, go out in a batch subscribe with <c>update_existing: true</c> and
/// <c>status: subscribed</c>, the status they have: nothing to change there. One that has unsubscribed or bounced since is
/// refused by Mailchimp ("Member In Compliance State", FACTS.md §4) and is then written as in step 3.</item>
/// <item>The other existing contacts are written one by one with the upsert <c>PUT /lists/{id}/members/{hash}</c>
/// carrying <c>status_if_new</c> and no <c>status</c> (spec <c>putListsIdMembersId</c>; FACTS.md §4: "status_if_new
/// applies only when the contact is new; status, if sent, overwrites"), then their tags with
/// <c>POST …/members/{hash}/tags</c> (spec <c>postListMemberTags</c>), since the upsert has no <c>tags</c>.</item>
/// </list>
/// Refusals (compliance state, forgotten, fake address) come back as the member's error; the caller remembers them.
/// </summary>
public static class MemberBatchWriter
{
    /// <summary>Writes at most <see cref="MailchimpBatchSubscribe.MaxMembers"/> members, with up to <paramref name="parallelism"/> single calls at once.</summary>
    public static async Task<MemberBatchWritten> WriteAsync(
        HostList list, IReadOnlyList<MemberWrite> members, IMemberCalls calls, int parallelism, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(members.Count, MailchimpBatchSubscribe.MaxMembers);
        var outcomes = new List<MemberWritten>();
        var strays = new List<MailchimpBatchError>();
        var existing = members.Where(write => write.KnownToExist).Select(write => write.Member).ToList();
        var fresh = members.Where(write => !write.KnownToExist).Select(write => write.Member).ToList();
        var createdRecorded = false;
        if (fresh.Count > 0)
        {
            var created = await SendAsync(list, fresh, updateSubscribed: false, calls, cancellationToken);
            outcomes.AddRange(created.Accepted.Select(member => new MemberWritten(member, Created: true, null)));
            outcomes.AddRange(created.Failed);
            strays.AddRange(created.Strays);
            existing.AddRange(created.Unsettled);
            if (created.Accepted.Count > 0 && existing.Count > 0)
            {
                // More calls follow, and any of them can fail or be cut short: what this one created is told first.
                await calls.CreatedAsync(created.Accepted, cancellationToken);
                createdRecorded = true;
            }
        }

        if (existing.Count == 0)
        {
            // Nothing follows: return at once, with no await that a cancellation could end, so that what the call created
            // always reaches the caller (who records it) instead of being lost with a cancelled task.
            return new MemberBatchWritten(outcomes, strays, createdRecorded);
        }

        // Only where a re-added contact would get `subscribed` anyway: a contact archived since the read comes back with
        // the status sent, and on a double opt-in list that must be `pending` (the PUT's status_if_new).
        var subscribed = await calls.SubscribedAsync([.. existing
            .Where(member => (member.Status ?? MemberRules.StatusIfNew(list)) == MailchimpMemberStatus.Subscribed)
            .Select(member => member.SubscriberHash)], cancellationToken);
        if (subscribed.Count > 0)
        {
            var updated = await SendAsync(list, [.. existing.Where(member => subscribed.Contains(member.SubscriberHash))], updateSubscribed: true, calls, cancellationToken);
            outcomes.AddRange(updated.Accepted.Select(member => new MemberWritten(member, Created: false, null)));
            outcomes.AddRange(updated.Failed);
            strays.AddRange(updated.Strays);
            existing = [.. existing.Where(member => !subscribed.Contains(member.SubscriberHash)), .. updated.Unsettled];
        }

        var singles = new System.Collections.Concurrent.ConcurrentBag<MemberWritten>();
        await Parallel.ForEachAsync(existing, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken }, async (member, token) =>
            singles.Add(await UpdateAsync(list, member, calls, token)));
        outcomes.AddRange(singles);
        return new MemberBatchWritten(outcomes, strays, createdRecorded);
    }

    /// <summary>
    /// What a batch subscribe did with the members sent: <see cref="Accepted"/> (created, or updated when updating),
    /// <see cref="Failed"/> with their error, <see cref="Unsettled"/> (the contact exists, or the answer left it out: written
    /// one by one next, which is safe either way), and <see cref="Strays"/>, errors naming an address not sent.
    /// </summary>
    private sealed record BatchAnswer(List<DesiredMember> Accepted, List<MemberWritten> Failed, List<DesiredMember> Unsettled, List<MailchimpBatchError> Strays);

    /// <summary>
    /// Create-only (<paramref name="updateSubscribed"/> false): each member with its own status or the list's. Updating:
    /// contacts just read as subscribed, each sent with <c>subscribed</c> and <c>update_existing</c>.
    /// </summary>
    private static async Task<BatchAnswer> SendAsync(
        HostList list, IReadOnlyList<DesiredMember> members, bool updateSubscribed, IMemberCalls calls, CancellationToken cancellationToken)
    {
        var batch = await calls.BatchSubscribeAsync(new MailchimpBatchSubscribe(
            members.Select(member => new MailchimpBatchMember(
                member.Email, Status: updateSubscribed ? MailchimpMemberStatus.Subscribed : member.Status ?? MemberRules.StatusIfNew(list),
                MergeFields: member.MergeFields, Language: member.Language, Vip: member.Vip,
                Tags: MemberRules.TagsFor(list, member) is { Count: > 0 } tags ? tags : null)).ToList(),
            UpdateExisting: updateSubscribed), cancellationToken);
        if (!batch.IsSuccess)
        {
            return new([], [.. members.Select(member => new MemberWritten(member, false, batch.Error))], [], []);
        }

        // One outcome per member sent: its first error decides; an error naming an address not sent is a stray.
        var byEmail = members.ToDictionary(member => member.Email.ToLowerInvariant(), StringComparer.Ordinal);
        var decided = new HashSet<string>(StringComparer.Ordinal);
        var unsettled = new List<DesiredMember>();
        var failed = new List<MemberWritten>();
        var strays = new List<MailchimpBatchError>();
        foreach (var error in batch.Value.Errors)
        {
            var email = error.EmailAddress.ToLowerInvariant();
            if (!byEmail.TryGetValue(email, out var member))
            {
                strays.Add(error);
            }
            else if (decided.Add(email))
            {
                var mapped = MailchimpErrorMapper.FromBatchError(error);
                // Exists: write it as an existing contact. In compliance state while updating: it unsubscribed or bounced
                // since the read, so its fields still go out by PUT, which leaves its status as it is.
                if (mapped.Code == MailchimpErrorCodes.MemberExists || (updateSubscribed && mapped.Code == MailchimpErrorCodes.MemberInComplianceState))
                {
                    unsettled.Add(member);
                }
                else
                {
                    failed.Add(new MemberWritten(member, false, mapped));
                }
            }
        }

        // A contact re-added while updating (archived since it was read) is accepted, but Hub does not count it created:
        // Hub removes only contacts it created.
        var answered = batch.Value.NewMembers.Concat(updateSubscribed ? batch.Value.UpdatedMembers : [])
            .Select(member => member.EmailAddress.ToLowerInvariant()).ToHashSet(StringComparer.Ordinal);
        var accepted = members.Where(member => answered.Contains(member.Email.ToLowerInvariant()) && !decided.Contains(member.Email.ToLowerInvariant())).ToList();
        unsettled.AddRange(members.Where(member => !answered.Contains(member.Email.ToLowerInvariant()) && !decided.Contains(member.Email.ToLowerInvariant())));
        return new(accepted, failed, unsettled, strays);
    }

    private static async Task<MemberWritten> UpdateAsync(HostList list, DesiredMember member, IMemberCalls calls, CancellationToken cancellationToken)
    {
        var upserted = await calls.UpsertAsync(new MailchimpMemberUpsert(
            member.Email, StatusIfNew: member.Status ?? MemberRules.StatusIfNew(list), MergeFields: MemberRules.MergeFields(member),
            Language: member.Language, Vip: member.Vip), cancellationToken);
        if (!upserted.IsSuccess)
        {
            return new MemberWritten(member, false, upserted.Error);
        }

        var tags = MemberRules.TagsFor(list, member);
        if (tags.Count == 0)
        {
            return new MemberWritten(member, false, null);
        }

        var tagged = await calls.TagAsync(SubscriberHash.FromEmail(member.Email), tags.Select(MailchimpTagUpdate.Active).ToList(), cancellationToken);
        return new MemberWritten(member, false, tagged.IsSuccess ? null : tagged.Error);
    }
}
