using Hub.Core.Mailchimp;
using Hub.Core.Tenants;

namespace Hub.Core.Lists;

/// <summary>What linking and unlinking a list needs to know and do about its members; Members implements it (Lists does not depend on Members).</summary>
public interface IListMembers
{
    /// <summary>How many members Hub has written into the list.</summary>
    Task<long> CountAsync(TenantId tenant, ListKey key, CancellationToken cancellationToken);

    /// <summary>Takes the list's tag off every member Hub tagged (a tag list being unlinked); the first failure, if any.</summary>
    Task<MailchimpError?> UntagAllAsync(Tenant tenant, HostList list, CancellationToken cancellationToken);

    /// <summary>Forgets what Hub wrote into the list (it is unlinked).</summary>
    Task ForgetAsync(TenantId tenant, ListKey key, CancellationToken cancellationToken);
}
