using Hub.Core.Audiences;

namespace Hub.Core.Tenants;

/// <summary>One customer of one host application.</summary>
public sealed record Tenant
{
    public required TenantId Id { get; init; }
    public required string Name { get; init; }
    public IReadOnlyList<string> AllowedReturnOrigins { get; init; } = [];
    public string? WebhookUrl { get; init; }
    public string? DefaultPermissionReminder { get; init; }
    public AudienceContact? DefaultContact { get; init; }
    public CampaignDefaults? DefaultCampaignDefaults { get; init; }
    public bool Enabled { get; init; } = true;

    /// <summary>Whether the passthrough may write outside <c>/lists/{managed audience}</c> (templates, campaigns, ...).</summary>
    public bool AllowPassthroughWrites { get; init; }

    /// <summary>
    /// Whether the tenant may register any existing audience of its account as managed (<c>POST /api/v1/audiences/{id}/manage</c>).
    /// Without it only the audience handed over with the OAuth app can be registered.
    /// </summary>
    public bool AllowAudienceAdoption { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>
/// What an admin sets on a tenant. On create, <see cref="Name"/> is required; on update every
/// null property stays as it is, and an empty <see cref="WebhookUrl"/> removes the webhook.
/// </summary>
public sealed record TenantChanges
{
    public string? Name { get; init; }
    public IReadOnlyList<string>? AllowedReturnOrigins { get; init; }
    public string? WebhookUrl { get; init; }
    public string? DefaultPermissionReminder { get; init; }
    public AudienceContact? DefaultContact { get; init; }
    public CampaignDefaults? DefaultCampaignDefaults { get; init; }
    public bool? Enabled { get; init; }
    public bool? AllowPassthroughWrites { get; init; }
    public bool? AllowAudienceAdoption { get; init; }
}

/// <summary>Metadata of one tenant API key. The key itself is never stored, only its SHA-256.</summary>
public sealed record TenantApiKeyInfo(string Id, string? Name, string HashHex, DateTimeOffset CreatedAt);

/// <summary>A newly issued key: the only moment its value exists outside the caller.</summary>
public sealed record IssuedApiKey(TenantApiKeyInfo Info, Security.Secret Key);

/// <summary>The caller behind a tenant API key.</summary>
public sealed record AuthenticatedTenant(Tenant Tenant, string KeyId);
