using Hub.Core.Audiences;
using Hub.Core.Tenants;

namespace Hub.Api.Admin;

/// <summary>
/// Tenant settings. On create <c>name</c> is required; on update only the fields sent change, and an empty <c>webhookUrl</c> removes it.
/// <c>allowAudienceAdoption</c> (default false) lets the tenant register any existing audience as managed, not only the handed-over one.
/// </summary>
/// <param name="Name">The tenant's name, shown on consent pages ("Acme asks for access..."): one line, no control characters. Required on create.</param>
/// <param name="AllowedReturnOrigins">Origins (<c>https://app.example</c>) a consent link's <c>returnUrl</c> may point at.</param>
/// <param name="WebhookUrl">Where Hub sends the tenant's signed webhooks (https; an empty string removes it).</param>
/// <param name="DefaultPermissionReminder">The permission reminder a new audience gets when it names none.</param>
/// <param name="DefaultContact">The contact block a new audience gets when it names none.</param>
/// <param name="DefaultCampaignDefaults">The campaign defaults a new audience gets when it names none.</param>
/// <param name="Enabled">False disables the tenant: its keys get 403 <c>tenant_disabled</c>.</param>
/// <param name="AllowPassthroughWrites">Whether the passthrough may write (POST, PUT, PATCH, DELETE) to managed audiences; default false (reads only).</param>
/// <param name="AllowAudienceAdoption">Whether the tenant may register any existing audience as managed, not only the handed-over one; default false.</param>
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

/// <summary>A tenant's settings; never a key or secret.</summary>
/// <param name="Id">The tenant's id.</param>
/// <param name="Name">The tenant's name, shown on consent pages.</param>
/// <param name="AllowedReturnOrigins">Origins a consent link's <c>returnUrl</c> may point at.</param>
/// <param name="WebhookUrl">Where Hub sends the tenant's signed webhooks; null: none.</param>
/// <param name="DefaultPermissionReminder">The permission reminder a new audience gets when it names none.</param>
/// <param name="DefaultContact">The contact block a new audience gets when it names none.</param>
/// <param name="DefaultCampaignDefaults">The campaign defaults a new audience gets when it names none.</param>
/// <param name="Enabled">False: the tenant's keys get 403 <c>tenant_disabled</c>.</param>
/// <param name="AllowPassthroughWrites">Whether the passthrough may write to managed audiences.</param>
/// <param name="AllowAudienceAdoption">Whether the tenant may register any existing audience as managed.</param>
/// <param name="CreatedAt">When the tenant was created.</param>
/// <param name="UpdatedAt">When its settings last changed.</param>
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
/// <param name="Tenant">The tenant as created.</param>
/// <param name="WebhookSigningSecret">The secret that signs the tenant's webhooks (<c>Hub-Signature</c>); shown only here and when rotated.</param>
public sealed record CreatedTenantResponse(TenantResponse Tenant, string WebhookSigningSecret);

/// <summary>An optional name for a new key.</summary>
/// <param name="Name">A name to tell keys apart (at most 100 characters), e.g. <c>production</c>.</param>
public sealed record IssueKeyRequest(string? Name);

/// <summary>A new tenant API key. <c>key</c> is shown only in this response; Hub keeps only its hash.</summary>
/// <param name="Id">The key's id, to revoke it.</param>
/// <param name="Name">The name it was given, if any.</param>
/// <param name="Key">The key itself: send it as <c>Authorization: Bearer &lt;key&gt;</c> to <c>/api/v1</c>. Shown only here.</param>
/// <param name="CreatedAt">When it was issued.</param>
public sealed record IssuedKeyResponse(string Id, string? Name, string Key, DateTimeOffset CreatedAt);

/// <summary>A tenant API key as listed: never the key itself.</summary>
/// <param name="Id">The key's id.</param>
/// <param name="Name">The name it was given, if any.</param>
/// <param name="CreatedAt">When it was issued.</param>
public sealed record ApiKeyResponse(string Id, string? Name, DateTimeOffset CreatedAt);

/// <summary>A new webhook signing secret, shown only in this response.</summary>
/// <param name="WebhookSigningSecret">The secret that signs the tenant's webhooks from now on.</param>
public sealed record WebhookSecretResponse(string WebhookSigningSecret);

/// <summary>What a re-encryption did.</summary>
/// <param name="ReEncrypted">Secrets re-encrypted under the active key.</param>
/// <param name="AlreadyCurrent">Secrets already under the active key.</param>
/// <param name="ActiveKeyId">The active encryption key's id (<c>Hub:Encryption:ActiveKeyId</c>).</param>
public sealed record ReEncryptionResponse(int ReEncrypted, int AlreadyCurrent, string ActiveKeyId);
