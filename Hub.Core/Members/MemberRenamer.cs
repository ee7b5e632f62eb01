using Hub.Core.Lists;
using Hub.Core.Mailchimp;
using Hub.Core.Storage;
using StackExchange.Redis;

namespace Hub.Core.Members;

public enum RenameOutcome
{
    /// <summary>Mailchimp changed the contact's address now.</summary>
    Renamed,

    /// <summary>The contact already has the new address (an earlier change whose answer was lost, or the same address).</summary>
    AlreadyRenamed,

    /// <summary>Neither address is in the audience: there is no contact to change, the new address is simply written.</summary>
    NotFound,

    /// <summary>Both addresses are contacts of the audience: changing would merge two people. Nothing changed.</summary>
    EmailInUse,

    /// <summary>Mailchimp failed or refused (see the error). Nothing changed, or the next try finds out what did.</summary>
    Failed,
}

public sealed record RenameResult(RenameOutcome Outcome, MailchimpError? Error = null)
{
    /// <summary>Whether the caller may go on to write the member under the new address.</summary>
    public bool MayWrite => Outcome is RenameOutcome.Renamed or RenameOutcome.AlreadyRenamed or RenameOutcome.NotFound;
}

/// <summary>
/// Changes a contact's address when the host's own id of a person (<c>externalId</c>) arrives with a new email, so the
/// person keeps their contact, status (an unsubscribe stays) and history instead of an archive and a fresh contact. One
/// change, safe to repeat after a crash at any point: Mailchimp's <c>PATCH</c> of the old address (which never creates a
/// contact) is the only write; which of the two addresses exists tells what is done; Hub's ledgers follow in one script
/// (Lua/record_rename.lua) for every list of the tenant in the audience, and the list's external-id map points at the new
/// address. So the audience ends with the old or the new address, never both or neither.
/// </summary>
public sealed class MemberRenamer(IConnectionMultiplexer redis, RedisKeys keys, ListStore lists, TimeProvider time)
{
    public const string EmailInUse = "email_in_use";

    /// <summary>The old address is also one of the host's own members in the same sync or batch: the address is not changed.</summary>
    public const string EmailChangeConflict = "email_change_conflict";

    private static readonly RedisScript RecordRename = RedisScript.Load("Members", "record_rename");

    private IDatabase Db => redis.GetDatabase();

    /// <summary>The address a list knows for a host id, or null.</summary>
    public async Task<string?> KnownEmailAsync(TenantId tenant, ListKey list, string externalId) =>
        ((string?)await Db.HashGetAsync(keys.ListExternalIds(tenant, list), externalId))?.Split('\n') is [_, var email] ? email : null;

    /// <summary>Remembers the member's address for its host id (a member written without a change of address).</summary>
    public Task RememberAsync(TenantId tenant, ListKey list, string externalId, string email) =>
        Db.HashSetAsync(keys.ListExternalIds(tenant, list), externalId, $"{DesiredMember.SubscriberHashOf(email)}\n{email}");

    public async Task<RenameResult> RenameAsync(
        TenantId tenant, HostList list, MemberCalls calls, string oldEmail, string newEmail, string? externalId, CancellationToken cancellationToken)
    {
        var oldHash = SubscriberHash.FromEmail(oldEmail);
        var newHash = SubscriberHash.FromEmail(newEmail);
        if (oldHash == newHash)
        {
            await RecordAsync(tenant, list, oldHash, newHash, newEmail, externalId);
            return new RenameResult(RenameOutcome.AlreadyRenamed);
        }

        var atNew = await calls.GetAsync(newHash, cancellationToken);
        if (atNew.IsSuccess)
        {
            var atOld = await calls.GetAsync(oldHash, cancellationToken);
            if (atOld.IsSuccess)
            {
                return new RenameResult(RenameOutcome.EmailInUse, InUse(newEmail, oldEmail));
            }

            if (atOld.Error!.Status != 404)
            {
                return new RenameResult(RenameOutcome.Failed, atOld.Error);
            }

            await RecordAsync(tenant, list, oldHash, newHash, newEmail, externalId);
            return new RenameResult(RenameOutcome.AlreadyRenamed);
        }

        if (atNew.Error!.Status != 404)
        {
            return new RenameResult(RenameOutcome.Failed, atNew.Error);
        }

        var changed = await calls.ChangeEmailAsync(oldHash, newEmail, cancellationToken);
        if (changed.IsSuccess)
        {
            await RecordAsync(tenant, list, oldHash, newHash, newEmail, externalId);
            return new RenameResult(RenameOutcome.Renamed);
        }

        return changed.Error!.Status switch
        {
            404 => new RenameResult(RenameOutcome.NotFound),
            400 when changed.Error.Code == MailchimpErrorCodes.MemberExists => new RenameResult(RenameOutcome.EmailInUse, InUse(newEmail, oldEmail)),
            _ => new RenameResult(RenameOutcome.Failed, changed.Error),
        };
    }

    private static MailchimpError InUse(string newEmail, string oldEmail) => Audiences.FacadeErrors.Create(EmailInUse, "Email in use",
        $"{newEmail} already belongs to another contact of the audience, so {oldEmail} was not changed to it (that would merge two people).");

    private async Task RecordAsync(TenantId tenant, HostList list, SubscriberHash oldHash, SubscriberHash newHash, string newEmail, string? externalId)
    {
        var inAudience = await lists.ListInAudienceAsync(tenant, list.AudienceId, CancellationToken.None);
        var listKeys = new List<RedisKey> { keys.ListExternalIds(tenant, list.Key) };
        foreach (var other in inAudience.Select(item => item.Key).Append(list.Key).Distinct())
        {
            listKeys.AddRange([keys.ListLedger(tenant, other), keys.ListRefused(tenant, other), keys.ListMoved(tenant, other)]);
        }

        await RecordRename.EvaluateAsync(Db, [.. listKeys],
            oldHash.Value, newHash.Value, newEmail, $"{newEmail}\n{time.GetUtcNow().ToUnixTimeMilliseconds()}", externalId ?? "");
    }
}
