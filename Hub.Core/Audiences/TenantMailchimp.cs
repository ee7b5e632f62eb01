using Hub.Core.Connections;
using Hub.Core.Mailchimp;
using Hub.Core.Tenants;

namespace Hub.Core.Audiences;

/// <summary>
/// The checks in front of every facade call: is the tenant connected, and does Hub manage the audience; and
/// before a deletion, did Hub create it.
/// </summary>
public sealed class TenantMailchimp(ConnectionService connections)
{
    /// <summary>The tenant's credential, or the reason there is none (<c>not_connected</c> or <c>reauthorization_required</c>).</summary>
    public async Task<(MailchimpCredential? Credential, MailchimpError? Error)> CredentialAsync(Tenant tenant, CancellationToken cancellationToken)
    {
        if (await connections.GetCredentialAsync(tenant.Id, cancellationToken) is { } credential)
        {
            return (credential, null);
        }

        var connection = await connections.GetAsync(tenant, cancellationToken);
        return (null, connection.State == ConnectionState.ReauthorizationRequired
            ? new MailchimpError(MailchimpErrorCodes.ReauthorizationRequired, null, "Reauthorization required",
                "Mailchimp no longer accepts this tenant's credential. Create a new consent link or set a new API key.", [])
            : FacadeErrors.Create(FacadeErrors.NotConnected, "Not connected",
                $"This tenant's Mailchimp connection is '{connection.State}'. Set an API key or complete the OAuth consent first."));
    }

    /// <summary>Null when Hub manages the audience for the tenant; otherwise <c>audience_not_managed</c>.</summary>
    public async Task<MailchimpError?> GuardAsync(TenantId tenant, string audienceId, CancellationToken cancellationToken) =>
        await connections.IsManagedAsync(tenant, audienceId, cancellationToken) ? null : FacadeErrors.NotManaged(audienceId);

    /// <summary>
    /// Null when Hub may delete the audience: it manages it and created it itself. Otherwise <c>audience_not_managed</c>
    /// or <c>audience_not_created_by_hub</c> (handed-over and adopted audiences, and those managed before Hub recorded who created them).
    /// </summary>
    public async Task<MailchimpError?> GuardDeletionAsync(TenantId tenant, string audienceId, CancellationToken cancellationToken) =>
        await GuardAsync(tenant, audienceId, cancellationToken)
        ?? (await connections.IsCreatedByHubAsync(tenant, audienceId, cancellationToken) ? null : FacadeErrors.NotCreatedByHub(audienceId));

    public Task<bool> IsCreatedByHubAsync(TenantId tenant, string audienceId, CancellationToken cancellationToken) =>
        connections.IsCreatedByHubAsync(tenant, audienceId, cancellationToken);

    public Task<IReadOnlyList<string>> CreatedAsync(TenantId tenant, CancellationToken cancellationToken) =>
        connections.ListCreatedAudiencesAsync(tenant, cancellationToken);

    /// <summary>
    /// Null when the tenant may register the existing audience as managed: it is the audience handed over with the
    /// OAuth app, or the operator allowed adoption. Otherwise <c>audience_adoption_not_allowed</c>.
    /// </summary>
    public async Task<MailchimpError?> GuardAdoptionAsync(Tenant tenant, string audienceId, CancellationToken cancellationToken) =>
        tenant.AllowAudienceAdoption || await connections.HandedOverAudienceAsync(tenant.Id, cancellationToken) == audienceId
            ? null
            : FacadeErrors.AdoptionNotAllowed(audienceId);

    public Task<bool> IsManagedAsync(TenantId tenant, string audienceId, CancellationToken cancellationToken) =>
        connections.IsManagedAsync(tenant, audienceId, cancellationToken);

    public Task<IReadOnlyList<string>> ManagedAsync(TenantId tenant, CancellationToken cancellationToken) =>
        connections.ListManagedAudiencesAsync(tenant, cancellationToken);

    public Task AddManagedAsync(TenantId tenant, string audienceId, CancellationToken cancellationToken) =>
        connections.AddManagedAudienceAsync(tenant, audienceId, cancellationToken);

    public Task AddCreatedAsync(TenantId tenant, string audienceId, CancellationToken cancellationToken) =>
        connections.AddCreatedAudienceAsync(tenant, audienceId, cancellationToken);

    public Task RemoveManagedAsync(TenantId tenant, string audienceId, CancellationToken cancellationToken) =>
        connections.RemoveManagedAudienceAsync(tenant, audienceId, cancellationToken);
}
