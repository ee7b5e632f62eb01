using Hub.Core.Lists;
using Hub.Core.Mailchimp;
using Hub.Core.Storage;
using Hub.Core.Tenants;

namespace Hub.Core.Audiences;

/// <summary>What a caller sends to create an audience; unset fields default to the tenant's settings.</summary>
public sealed record AudienceDraft(
    string? Name, string? PermissionReminder, AudienceContact? Contact, CampaignDefaults? CampaignDefaults,
    bool? EmailTypeOption = null, bool? DoubleOptin = null);

/// <summary>What a caller may change on an audience; null fields stay as they are.</summary>
public sealed record AudienceChanges(string? Name, string? PermissionReminder, AudienceContact? Contact, CampaignDefaults? CampaignDefaults);

/// <summary>
/// A Mailchimp audience as Hub shows it, with whether Hub manages it for the tenant and whether Hub created it
/// (the only audiences Hub deletes).
/// </summary>
/// <param name="Id">Mailchimp's audience (list) id.</param>
/// <param name="Name">The audience's name.</param>
/// <param name="PermissionReminder">Why its contacts get email (Mailchimp's permission reminder).</param>
/// <param name="Contact">The audience's contact block.</param>
/// <param name="CampaignDefaults">The audience's campaign defaults.</param>
/// <param name="EmailTypeOption">Whether contacts may choose plain-text or HTML email.</param>
/// <param name="DoubleOptin">Whether new contacts must confirm by email (double opt-in).</param>
/// <param name="MemberCount">Subscribed contacts, as Mailchimp counts them.</param>
/// <param name="DateCreated">When the audience was created in Mailchimp.</param>
/// <param name="Managed">Whether Hub manages the audience for the tenant (only managed audiences are written to).</param>
/// <param name="CreatedByHub">Whether Hub created it (the only audiences Hub deletes).</param>
public sealed record Audience(
    string Id, string Name, string PermissionReminder, AudienceContact Contact, CampaignDefaults CampaignDefaults,
    bool EmailTypeOption, bool DoubleOptin, int MemberCount, DateTimeOffset DateCreated, bool Managed, bool CreatedByHub);

/// <summary>Audiences in the tenant's Mailchimp account; writes only to the ones Hub manages.</summary>
public sealed class AudienceService(TenantMailchimp tenantMailchimp, MailchimpClient mailchimp, ListStore lists)
{
    public const int MaxNameLength = 100;

    /// <summary>A page of the account's audiences, as Mailchimp orders them, from <paramref name="offset"/>, with how many the account has.</summary>
    public async Task<MailchimpResult<Page<Audience>>> ListAsync(Tenant tenant, int offset, int limit, CancellationToken cancellationToken)
    {
        var (credential, error) = await tenantMailchimp.CredentialAsync(tenant, cancellationToken);
        if (credential is null)
        {
            return error!;
        }

        var page = await mailchimp.GetListsAsync(credential, limit, offset, cancellationToken);
        if (!page.IsSuccess)
        {
            return page.Error;
        }

        var managedRead = tenantMailchimp.ManagedAsync(tenant.Id, cancellationToken);
        var createdRead = tenantMailchimp.CreatedAsync(tenant.Id, cancellationToken);
        var managed = (await managedRead).ToHashSet(StringComparer.Ordinal);
        var created = (await createdRead).ToHashSet(StringComparer.Ordinal);
        return MailchimpResult<Page<Audience>>.Success(new Page<Audience>(
            [.. page.Value.Lists.Select(list => ToAudience(list, managed.Contains(list.Id), created.Contains(list.Id)))],
            Paging.CursorAfterOffset(offset, limit, page.Value.TotalItems), page.Value.TotalItems));
    }

    /// <summary>Creates an audience in Mailchimp and marks it managed and created by Hub. Required fields are checked before Mailchimp is called.</summary>
    public async Task<MailchimpResult<Audience>> CreateAsync(Tenant tenant, AudienceDraft draft, CancellationToken cancellationToken)
    {
        var complete = draft with
        {
            PermissionReminder = string.IsNullOrWhiteSpace(draft.PermissionReminder) ? tenant.DefaultPermissionReminder : draft.PermissionReminder,
            Contact = draft.Contact ?? tenant.DefaultContact,
            CampaignDefaults = draft.CampaignDefaults ?? tenant.DefaultCampaignDefaults,
        };
        var errors = Validate(complete.Name, complete.PermissionReminder, complete.Contact, complete.CampaignDefaults, requireAll: true);
        if (errors.Count > 0)
        {
            return FacadeErrors.Invalid(errors);
        }

        var (credential, error) = await tenantMailchimp.CredentialAsync(tenant, cancellationToken);
        if (credential is null)
        {
            return error!;
        }

        var created = await mailchimp.CreateListAsync(credential, new MailchimpListCreate(
            complete.Name!.Trim(), complete.PermissionReminder!, complete.EmailTypeOption ?? false,
            ToMailchimp(complete.Contact!), ToMailchimp(complete.CampaignDefaults!), complete.DoubleOptin), cancellationToken);
        if (!created.IsSuccess)
        {
            return created.Error;
        }

        await tenantMailchimp.AddCreatedAsync(tenant.Id, created.Value.Id, cancellationToken);
        return ToAudience(created.Value, managed: true, createdByHub: true);
    }

    /// <summary>
    /// Registers an existing audience as managed, after checking it exists: the audience handed over with the
    /// OAuth app (AuditCase's Audience ID), or any audience when the operator allowed the tenant adoption
    /// (<c>audience_adoption_not_allowed</c> otherwise, and nothing is sent to Mailchimp). An audience Hub
    /// already manages stays as it is. Hub never deletes an audience registered this way.
    /// </summary>
    public async Task<MailchimpResult<Audience>> ManageAsync(Tenant tenant, string audienceId, CancellationToken cancellationToken)
    {
        if (!await tenantMailchimp.IsManagedAsync(tenant.Id, audienceId, cancellationToken)
            && await tenantMailchimp.GuardAdoptionAsync(tenant, audienceId, cancellationToken) is { } notAllowed)
        {
            return notAllowed;
        }

        var read = await GetAsync(tenant, audienceId, cancellationToken);
        if (!read.IsSuccess)
        {
            return read.Error;
        }

        await tenantMailchimp.AddManagedAsync(tenant.Id, audienceId, cancellationToken);
        return read.Value with { Managed = true };
    }

    /// <summary>
    /// Hub stops managing the audience: it forgets it (and whether it created it) and never writes to it again
    /// unless it is registered anew; Mailchimp keeps it as it is. Refused with <c>audience_in_use</c> while host lists
    /// are linked to it, so no list is left pointing at an audience Hub may not write to. Answers success when
    /// Hub did not manage it. Nothing is sent to Mailchimp.
    /// </summary>
    public async Task<MailchimpResult> StopManagingAsync(Tenant tenant, string audienceId, CancellationToken cancellationToken)
    {
        var linked = await lists.ListInAudienceAsync(tenant.Id, audienceId, cancellationToken);
        if (linked.Count > 0)
        {
            return FacadeErrors.Create(FacadeErrors.AudienceInUse, "Audience in use",
                $"Audience '{audienceId}' is linked to {string.Join(", ", linked.Select(list => $"'{list.Key}'"))}. Unlink those lists first (DELETE /api/v1/lists/{{key}}); the audience and its contacts stay in Mailchimp.");
        }

        await tenantMailchimp.RemoveManagedAsync(tenant.Id, audienceId, cancellationToken);
        return MailchimpResult.Success;
    }

    public async Task<MailchimpResult<Audience>> GetAsync(Tenant tenant, string audienceId, CancellationToken cancellationToken)
    {
        var (credential, error) = await tenantMailchimp.CredentialAsync(tenant, cancellationToken);
        if (credential is null)
        {
            return error!;
        }

        var list = await mailchimp.GetListAsync(credential, audienceId, cancellationToken);
        if (!list.IsSuccess)
        {
            return list.Error;
        }

        var managed = tenantMailchimp.IsManagedAsync(tenant.Id, audienceId, cancellationToken);
        var created = tenantMailchimp.IsCreatedByHubAsync(tenant.Id, audienceId, cancellationToken);
        return ToAudience(list.Value, await managed, await created);
    }

    /// <summary>
    /// Changes a managed audience. Mailchimp's PATCH wants the full set of required fields, so Hub
    /// reads the audience, applies the changes and sends everything back.
    /// </summary>
    public async Task<MailchimpResult<Audience>> UpdateAsync(Tenant tenant, string audienceId, AudienceChanges changes, CancellationToken cancellationToken)
    {
        var errors = Validate(changes.Name, changes.PermissionReminder, changes.Contact, changes.CampaignDefaults, requireAll: false);
        if (errors.Count > 0)
        {
            return FacadeErrors.Invalid(errors);
        }

        if (await tenantMailchimp.GuardAsync(tenant.Id, audienceId, cancellationToken) is { } notManaged)
        {
            return notManaged;
        }

        var (credential, error) = await tenantMailchimp.CredentialAsync(tenant, cancellationToken);
        if (credential is null)
        {
            return error!;
        }

        var current = await mailchimp.GetListAsync(credential, audienceId, cancellationToken);
        if (!current.IsSuccess)
        {
            return current.Error;
        }

        var list = current.Value;
        var updated = await mailchimp.UpdateListAsync(credential, audienceId, new MailchimpListUpdate(
            Name: changes.Name?.Trim() ?? list.Name,
            PermissionReminder: changes.PermissionReminder ?? list.PermissionReminder,
            EmailTypeOption: list.EmailTypeOption,
            Contact: changes.Contact is { } contact ? ToMailchimp(contact) : list.Contact,
            CampaignDefaults: changes.CampaignDefaults is { } campaign ? ToMailchimp(campaign) : list.CampaignDefaults), cancellationToken);
        return updated.IsSuccess
            ? ToAudience(updated.Value, managed: true, await tenantMailchimp.IsCreatedByHubAsync(tenant.Id, audienceId, cancellationToken))
            : updated.Error;
    }

    /// <summary>
    /// Deletes an audience Hub created in Mailchimp (irreversible) and stops managing it. Refused for an audience
    /// Hub did not create (<c>audience_not_created_by_hub</c>), and while a host list other than
    /// <paramref name="unlinking"/> is linked to it, so no list is left pointing at nothing.
    /// </summary>
    public async Task<MailchimpResult> DeleteAsync(Tenant tenant, string audienceId, CancellationToken cancellationToken, ListKey? unlinking = null)
    {
        if (await tenantMailchimp.GuardDeletionAsync(tenant.Id, audienceId, cancellationToken) is { } notDeletable)
        {
            return notDeletable;
        }

        var linked = (await lists.ListInAudienceAsync(tenant.Id, audienceId, cancellationToken)).Where(list => list.Key != unlinking).ToList();
        if (linked.Count > 0)
        {
            return FacadeErrors.Create(FacadeErrors.AudienceInUse, "Audience in use",
                $"Audience '{audienceId}' is linked to {string.Join(", ", linked.Select(list => $"'{list.Key}'"))}. Unlink those lists first (DELETE /api/v1/lists/{{key}}?deleteAudience=true deletes a list's own audience).");
        }

        var (credential, error) = await tenantMailchimp.CredentialAsync(tenant, cancellationToken);
        if (credential is null)
        {
            return error!;
        }

        var deleted = await mailchimp.DeleteListAsync(credential, audienceId, cancellationToken);
        if (deleted.IsSuccess || deleted.Error.Code == MailchimpErrorCodes.NotFound)
        {
            await tenantMailchimp.RemoveManagedAsync(tenant.Id, audienceId, cancellationToken);
        }

        return deleted;
    }

    internal static List<MailchimpFieldError> Validate(
        string? name, string? permissionReminder, AudienceContact? contact, CampaignDefaults? campaign, bool requireAll)
    {
        var errors = new List<MailchimpFieldError>();
        if (requireAll ? string.IsNullOrWhiteSpace(name) : name is not null && string.IsNullOrWhiteSpace(name))
        {
            errors.Add(new("name", "A name is required."));
        }
        else if (name is { Length: > MaxNameLength })
        {
            errors.Add(new("name", $"At most {MaxNameLength} characters."));
        }

        if (requireAll ? string.IsNullOrWhiteSpace(permissionReminder) : permissionReminder is not null && string.IsNullOrWhiteSpace(permissionReminder))
        {
            errors.Add(new("permissionReminder", "Mailchimp requires a permission reminder: set one here or as the tenant's default."));
        }

        if (contact is null && requireAll)
        {
            errors.Add(new("contact", "Mailchimp requires a contact: set one here or as the tenant's default."));
        }

        if (campaign is null && requireAll)
        {
            errors.Add(new("campaignDefaults", "Mailchimp requires campaign defaults: set them here or as the tenant's default."));
        }

        var rules = TenantRules.Validate(new TenantChanges { DefaultContact = contact, DefaultCampaignDefaults = campaign }, isCreate: false, allowPrivateWebhookTargets: true);
        errors.AddRange(rules.SelectMany(rule => rule.Value.Select(message => new MailchimpFieldError(
            rule.Key.Replace("defaultContact", "contact", StringComparison.Ordinal).Replace("defaultCampaignDefaults", "campaignDefaults", StringComparison.Ordinal), message))));
        return errors;
    }

    internal static Audience ToAudience(MailchimpList list, bool managed, bool createdByHub) => new(
        list.Id, list.Name, list.PermissionReminder,
        new AudienceContact
        {
            Company = list.Contact.Company, Address1 = list.Contact.Address1, Address2 = list.Contact.Address2, City = list.Contact.City,
            State = list.Contact.State, Zip = list.Contact.Zip, Country = list.Contact.Country, Phone = list.Contact.Phone,
        },
        new CampaignDefaults
        {
            FromName = list.CampaignDefaults.FromName, FromEmail = list.CampaignDefaults.FromEmail,
            Subject = list.CampaignDefaults.Subject, Language = list.CampaignDefaults.Language,
        },
        list.EmailTypeOption, list.DoubleOptin, list.Stats?.MemberCount ?? 0, list.DateCreated, managed, createdByHub);

    private static MailchimpListContact ToMailchimp(AudienceContact contact) => new(
        contact.Company!, contact.Address1!, contact.City!, contact.Country!, contact.Address2, contact.State ?? "", contact.Zip ?? "", contact.Phone);

    private static MailchimpCampaignDefaults ToMailchimp(CampaignDefaults campaign) =>
        new(campaign.FromName!, campaign.FromEmail!, campaign.Subject!, campaign.Language!);
}
