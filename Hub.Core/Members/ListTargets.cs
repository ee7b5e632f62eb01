using Hub.Core.Audiences;
using Hub.Core.Lists;
using Hub.Core.Mailchimp;
using Hub.Core.Tenants;

namespace Hub.Core.Members;

/// <summary>What <see cref="ListTargets.ResolveAsync"/> found: the list and the credential, or why member calls cannot go ahead. Disposing frees a reserved slot no call used.</summary>
public sealed record ListTarget(HostList? List, MailchimpCredential? Credential, MailchimpError? Error) : IAsyncDisposable
{
    public ValueTask DisposeAsync() => Credential?.ReservedSlot?.DisposeAsync() ?? ValueTask.CompletedTask;
}

/// <summary>
/// The one place that turns a tenant's list key into what member calls need: the host list, the managed audience behind it
/// and the tenant's Mailchimp credential. Used by the single-member facade, the inline batch, the sync enqueue and the sync job.
/// </summary>
public sealed class ListTargets(ListStore lists, TenantMailchimp tenantMailchimp, MailchimpConcurrencyLimiter limiter)
{
    /// <summary>
    /// The list a member call addresses and the tenant's credential, or why the call cannot go ahead. The list, the
    /// credential, (for a write) the tenant's managed audiences and (with <paramref name="reserveSlot"/>) a concurrency slot
    /// for the account the tenant used last are all asked for in one Redis round trip. The slot rides on the credential to
    /// the first Mailchimp call; the caller disposes the target, which frees it if unused. The answers keep their order of
    /// precedence: missing list (<c>list_not_found</c>), then unmanaged audience, then the connection.
    /// </summary>
    public async Task<ListTarget> ResolveAsync(Tenant tenant, ListKey key, bool forWrite, bool reserveSlot, CancellationToken cancellationToken)
    {
        var reservation = reserveSlot ? limiter.Reserve(tenant.Id) : null;
        try
        {
            var listRead = lists.GetAsync(tenant.Id, key, cancellationToken);
            var credentialRead = tenantMailchimp.CredentialAsync(tenant, cancellationToken);
            var managedRead = forWrite ? tenantMailchimp.ManagedAsync(tenant.Id, cancellationToken) : null;
            var list = await listRead;
            var managed = managedRead is null ? null : await managedRead;
            var (credential, error) = await credentialRead;
            if (reserveSlot)
            {
                limiter.RememberAccount(tenant.Id, credential?.AccountKey); // not connected: reserve nothing next time
            }

            error = list is null ? FacadeErrors.ListMissing(key.ToString())
                : managed is not null && !managed.Contains(list.AudienceId) ? FacadeErrors.NotManaged(list.AudienceId)
                : error;
            if (error is not null || credential is null)
            {
                await FreeAsync(reservation);
                return new ListTarget(null, null, error);
            }

            if (reservation is not null && reservation.AccountKey != credential.AccountKey)
            {
                await FreeAsync(reservation);
                reservation = null;
            }

            return new ListTarget(list, credential with { ReservedSlot = reservation }, null);
        }
        catch
        {
            await FreeAsync(reservation);
            throw;
        }

        static ValueTask FreeAsync(MailchimpSlotReservation? reservation) => reservation?.DisposeAsync() ?? ValueTask.CompletedTask;
    }

    /// <summary>The keys of the tenant's other lists in the same audience (tag mode: they may hold the same contact).</summary>
    public async Task<IReadOnlyList<ListKey>> OthersInAudienceAsync(TenantId tenant, HostList list, CancellationToken cancellationToken) =>
        (await lists.ListInAudienceAsync(tenant, list.AudienceId, cancellationToken)).Where(other => other.Key != list.Key).Select(other => other.Key).ToList();
}
