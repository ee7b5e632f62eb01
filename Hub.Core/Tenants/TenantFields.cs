using System.Globalization;
using System.Text.Json;
using Hub.Core.Storage;
using StackExchange.Redis;

namespace Hub.Core.Tenants;

/// <summary>A tenant is a Redis hash with one field per setting; this maps between the two.</summary>
internal static class TenantFields
{
    public const string Id = "id";
    public const string Name = "name";
    public const string AllowedReturnOrigins = "allowedReturnOrigins";
    public const string WebhookUrl = "webhookUrl";
    public const string DefaultPermissionReminder = "defaultPermissionReminder";
    public const string DefaultContact = "defaultContact";
    public const string DefaultCampaignDefaults = "defaultCampaignDefaults";
    public const string Enabled = "enabled";
    public const string AllowPassthroughWrites = "allowPassthroughWrites";
    public const string AllowAudienceAdoption = "allowAudienceAdoption";
    public const string CreatedAt = "createdAt";
    public const string UpdatedAt = "updatedAt";

    /// <summary>The fields to set and to remove for a change.</summary>
    public static (HashEntry[] Set, RedisValue[] Remove) Changes(TenantChanges changes, DateTimeOffset now)
    {
        var set = new List<HashEntry> { new(UpdatedAt, now.ToString("O")) };
        var remove = new List<RedisValue>();
        if (changes.Name is { } name)
        {
            set.Add(new(Name, name.Trim()));
        }

        if (changes.AllowedReturnOrigins is { } origins)
        {
            var normalised = origins.Select(origin => TenantRules.NormaliseOrigin(origin) ?? origin).Distinct(StringComparer.Ordinal).ToList();
            set.Add(new(AllowedReturnOrigins, JsonSerializer.Serialize(normalised, HubJsonContext.Default.ListString)));
        }

        if (changes.WebhookUrl is { Length: 0 })
        {
            remove.Add(WebhookUrl);
        }
        else if (changes.WebhookUrl is { } webhookUrl)
        {
            set.Add(new(WebhookUrl, webhookUrl));
        }

        if (changes.DefaultPermissionReminder is { } reminder)
        {
            set.Add(new(DefaultPermissionReminder, reminder));
        }

        if (changes.DefaultContact is { } contact)
        {
            set.Add(new(DefaultContact, JsonSerializer.Serialize(contact, HubJsonContext.Default.AudienceContact)));
        }

        if (changes.DefaultCampaignDefaults is { } campaign)
        {
            set.Add(new(DefaultCampaignDefaults, JsonSerializer.Serialize(campaign, HubJsonContext.Default.CampaignDefaults)));
        }

        if (changes.Enabled is { } enabled)
        {
            set.Add(new(Enabled, enabled ? "1" : "0"));
        }

        if (changes.AllowPassthroughWrites is { } allow)
        {
            set.Add(new(AllowPassthroughWrites, allow ? "1" : "0"));
        }

        if (changes.AllowAudienceAdoption is { } adopt)
        {
            set.Add(new(AllowAudienceAdoption, adopt ? "1" : "0"));
        }

        return (set.ToArray(), remove.ToArray());
    }

    public static Tenant? Read(HashEntry[] entries)
    {
        if (entries.Length == 0)
        {
            return null;
        }

        var fields = entries.ToDictionary(entry => entry.Name.ToString(), entry => entry.Value.ToString(), StringComparer.Ordinal);
        string? Get(string name) => fields.TryGetValue(name, out var value) && value.Length > 0 ? value : null;

        return new Tenant
        {
            Id = TenantId.Parse(fields[Id]),
            Name = Get(Name) ?? "",
            AllowedReturnOrigins = Get(AllowedReturnOrigins) is { } origins ? JsonSerializer.Deserialize(origins, HubJsonContext.Default.ListString)! : [],
            WebhookUrl = Get(WebhookUrl),
            DefaultPermissionReminder = Get(DefaultPermissionReminder),
            DefaultContact = Get(DefaultContact) is { } contact ? JsonSerializer.Deserialize(contact, HubJsonContext.Default.AudienceContact) : null,
            DefaultCampaignDefaults = Get(DefaultCampaignDefaults) is { } campaign ? JsonSerializer.Deserialize(campaign, HubJsonContext.Default.CampaignDefaults) : null,
            Enabled = Get(Enabled) != "0",
            AllowPassthroughWrites = Get(AllowPassthroughWrites) == "1",
            AllowAudienceAdoption = Get(AllowAudienceAdoption) == "1",
            CreatedAt = DateTimeOffset.Parse(fields[CreatedAt], CultureInfo.InvariantCulture),
            UpdatedAt = DateTimeOffset.Parse(fields[UpdatedAt], CultureInfo.InvariantCulture),
        };
    }
}
