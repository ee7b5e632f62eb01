using Hub.Core.Audiences;

namespace Hub.Api.Audiences;

/// <summary>Create a managed audience. Unset permissionReminder, contact and campaignDefaults take the tenant's defaults.</summary>
public sealed record CreateAudienceRequest(
    string? Name, string? PermissionReminder, AudienceContact? Contact, CampaignDefaults? CampaignDefaults, bool? EmailTypeOption, bool? DoubleOptin)
{
    public AudienceDraft ToDraft() => new(Name, PermissionReminder, Contact, CampaignDefaults, EmailTypeOption, DoubleOptin);
}

/// <summary>Change a managed audience; only the fields sent change.</summary>
public sealed record UpdateAudienceRequest(string? Name, string? PermissionReminder, AudienceContact? Contact, CampaignDefaults? CampaignDefaults)
{
    public AudienceChanges ToChanges() => new(Name, PermissionReminder, Contact, CampaignDefaults);
}
