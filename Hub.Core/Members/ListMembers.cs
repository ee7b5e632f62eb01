using Hub.Core.Lists;
using Hub.Core.Mailchimp;
using Hub.Core.Tenants;

namespace Hub.Core.Members;

/// <summary>The members side of linking and unlinking a list (see <see cref="IListMembers"/>).</summary>
internal sealed class ListMembers(MemberLedger ledger, ListTargets targets, MemberRemoval removal, MailchimpClient mailchimp) : IListMembers
{
    public Task<long> CountAsync(TenantId tenant, ListKey key, CancellationToken cancellationToken) =>
        ledger.CountAsync(tenant, key, cancellationToken);

    public async Task<MailchimpError?> UntagAllAsync(Tenant tenant, HostList list, CancellationToken cancellationToken)
    {
        await using var target = await targets.ResolveAsync(tenant, list.Key, forWrite: true, reserveSlot: false, cancellationToken);
        return target.Error
            ?? await removal.UntagAllAsync(tenant.Id, new MemberCalls(mailchimp, target.Credential!, list, IMemberCallPolicy.Direct), cancellationToken);
    }

    public Task ForgetAsync(TenantId tenant, ListKey key, CancellationToken cancellationToken) =>
        ledger.DeleteListAsync(tenant, key, cancellationToken);
}
