using System.Net.Mail;
using Hub.Core.Audiences;
using Hub.Core.Webhooks;

namespace Hub.Core.Tenants;

/// <summary>What makes tenant settings valid. Errors are keyed by the JSON property path.</summary>
public static class TenantRules
{
    public const int MaxNameLength = 200;
    public const int MaxPermissionReminderLength = 1000;
    public const int MaxReturnOrigins = 20;

    public static Dictionary<string, string[]> Validate(TenantChanges changes, bool isCreate, bool allowPrivateWebhookTargets)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        void Add(string key, string message) => errors[key] = [.. errors.GetValueOrDefault(key, []), message];

        if (isCreate && string.IsNullOrWhiteSpace(changes.Name))
        {
            Add("name", "A name is required.");
        }
        else if (changes.Name is not null && (string.IsNullOrWhiteSpace(changes.Name) || changes.Name.Length > MaxNameLength))
        {
            Add("name", $"A name has 1 to {MaxNameLength} characters.");
        }
        else if (changes.Name is not null && changes.Name.Any(char.IsControl))
        {
            Add("name", "A name is one line of text, without control characters.");
        }

        if (changes.AllowedReturnOrigins is { } origins)
        {
            if (origins.Count > MaxReturnOrigins)
            {
                Add("allowedReturnOrigins", $"At most {MaxReturnOrigins} origins.");
            }

            for (var i = 0; i < origins.Count; i++)
            {
                if (!IsOrigin(origins[i]))
                {
                    Add($"allowedReturnOrigins[{i}]", "An origin is scheme://host[:port] over http or https, without path, query or fragment.");
                }
            }
        }

        if (!string.IsNullOrEmpty(changes.WebhookUrl) && WebhookTargetRules.Check(changes.WebhookUrl, allowPrivateWebhookTargets) is { } webhookError)
        {
            Add("webhookUrl", webhookError);
        }

        if (changes.DefaultPermissionReminder is { Length: > MaxPermissionReminderLength })
        {
            Add("defaultPermissionReminder", $"At most {MaxPermissionReminderLength} characters.");
        }

        if (changes.DefaultContact is { } contact)
        {
            foreach (var (field, value) in new[] { ("company", contact.Company), ("address1", contact.Address1), ("city", contact.City), ("country", contact.Country) })
            {
                if (string.IsNullOrWhiteSpace(value))
                {
                    Add($"defaultContact.{field}", "Required by Mailchimp for every audience.");
                }
            }
        }

        if (changes.DefaultCampaignDefaults is { } campaign)
        {
            foreach (var (field, value) in new[] { ("fromName", campaign.FromName), ("fromEmail", campaign.FromEmail), ("subject", campaign.Subject), ("language", campaign.Language) })
            {
                if (string.IsNullOrWhiteSpace(value))
                {
                    Add($"defaultCampaignDefaults.{field}", "Required by Mailchimp for every audience.");
                }
            }

            if (!string.IsNullOrWhiteSpace(campaign.FromEmail) && !IsEmail(campaign.FromEmail))
            {
                Add("defaultCampaignDefaults.fromEmail", "Not a valid email address.");
            }
        }

        return errors;
    }

    /// <summary>Normalises an origin for comparison: lower-case scheme and host, default port dropped.</summary>
    public static string? NormaliseOrigin(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri.GetLeftPart(UriPartial.Authority).ToLowerInvariant()
            : null;

    private static bool IsOrigin(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && string.IsNullOrEmpty(uri.UserInfo)
        && string.Equals(value.TrimEnd('/'), uri.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase);

    internal static bool IsEmail(string value) =>
        MailAddress.TryCreate(value, out var address) && address.Address == value && value.Contains('.', StringComparison.Ordinal);
}
