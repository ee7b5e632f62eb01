using Hub.Core.Audiences;
using Hub.Core.Tenants;

namespace Hub.Api.Admin;

/// <summary>
/// Tenant settings. On create <c>name</c> is required; on update only the fields sent change, and an empty <c>webhookUrl</c> removes it.
/// <c>allowAudienceAdoption</c> (default false) lets the tenant register any existing audience as managed, not only the handed-over one.
/// </summary>
public sealed record TenantRequest(
    string? Name,
    IReadOnlyList<string>? AllowedReturnOrigins,
    string? WebhookUrl,
    string? DefaultPermissionReminder,
    AudienceContact? DefaultContact,
    CampaignDefaults? DefaultCampaignDefaults,
    bool? Enabled,
    bool? AllowPassthroughWrites = null,
    bool? AllowAudienceAdoption = null)
{
    public TenantChanges ToChanges() => new()
    {
        Name = Name,
        AllowedReturnOrigins = AllowedReturnOrigins,
        WebhookUrl = WebhookUrl,
        DefaultPermissionReminder = DefaultPermissionReminder,
        DefaultContact = DefaultContact,
        DefaultCampaignDefaults = DefaultCampaignDefaults,
        Enabled = Enabled,
        AllowPassthroughWrites = AllowPassthroughWrites,
        AllowAudienceAdoption = AllowAudienceAdoption,
    };
}

public sealed record TenantResponse(
    string Id,
    string Name,
    IReadOnlyList<string> AllowedReturnOrigins,
    string? WebhookUrl,
    string? DefaultPermissionReminder,
    AudienceContact? DefaultContact,
    CampaignDefaults? DefaultCampaignDefaults,
    bool Enabled,
    bool AllowPassthroughWrites,
    bool AllowAudienceAdoption,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static TenantResponse From(Tenant tenant) => new(
        tenant.Id.ToString(), tenant.Name, tenant.AllowedReturnOrigins, tenant.WebhookUrl, tenant.DefaultPermissionReminder,
        tenant.DefaultContact, tenant.DefaultCampaignDefaults, tenant.Enabled, tenant.AllowPassthroughWrites,
        tenant.AllowAudienceAdoption, tenant.CreatedAt, tenant.UpdatedAt);
}

/// <summary>The created tenant and its webhook signing secret, shown only in this response.</summary>
public sealed record CreatedTenantResponse(TenantResponse Tenant, string WebhookSigningSecret);

public sealed record TenantPage(IReadOnlyList<TenantResponse> Items, long Total, int Offset, int Limit);

public sealed record IssueKeyRequest(string? Name);

/// <summary>A new tenant API key. <c>key</c> is shown only in this response; Hub keeps only its hash.</summary>
public sealed record IssuedKeyResponse(string Id, string? Name, string Key, DateTimeOffset CreatedAt);

public sealed record ApiKeyResponse(string Id, string? Name, DateTimeOffset CreatedAt);

/// <summary>A new webhook signing secret, shown only in this response.</summary>
public sealed record WebhookSecretResponse(string WebhookSigningSecret);

public sealed record ReEncryptionResponse(int ReEncrypted, int AlreadyCurrent, string ActiveKeyId);
