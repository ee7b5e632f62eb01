using Hub.Core.Audiences;

namespace Hub.Api.Audiences;

/// <summary>Create a managed audience. Unset permissionReminder, contact and campaignDefaults take the tenant's defaults.</summary>
/// <param name="Name">The audience's name (required, at most 100 characters).</param>
/// <param name="PermissionReminder">Why its contacts get email; default the tenant's.</param>
/// <param name="Contact">The audience's contact block; default the tenant's.</param>
/// <param name="CampaignDefaults">The audience's campaign defaults; default the tenant's.</param>
/// <param name="EmailTypeOption">Whether contacts may choose plain-text or HTML email; default false.</param>
/// <param name="DoubleOptin">Whether new contacts must confirm by email; default false.</param>
public sealed record CreateAudienceRequest(
    string? Name, string? PermissionReminder, AudienceContact? Contact, CampaignDefaults? CampaignDefaults, bool? EmailTypeOption, bool? DoubleOptin)
{
    public AudienceDraft ToDraft() => new(Name, PermissionReminder, Contact, CampaignDefaults, EmailTypeOption, DoubleOptin);
}

/// <summary>Change a managed audience; only the fields sent change.</summary>
/// <param name="Name">The new name.</param>
/// <param name="PermissionReminder">The new permission reminder.</param>
/// <param name="Contact">The new contact block (replaces the old one).</param>
/// <param name="CampaignDefaults">The new campaign defaults (replace the old ones).</param>
public sealed record UpdateAudienceRequest(string? Name, string? PermissionReminder, AudienceContact? Contact, CampaignDefaults? CampaignDefaults)
{
    public AudienceChanges ToChanges() => new(Name, PermissionReminder, Contact, CampaignDefaults);
}
