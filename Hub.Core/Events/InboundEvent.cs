using System.Globalization;
using System.Text.Json;
using Hub.Core.Mailchimp;

namespace Hub.Core.Events;

/// <summary>The member event types Hub tells tenants about, by webhook and at <c>GET /api/v1/events</c>.</summary>
public static class MemberEventTypes
{
    public const string Subscribed = "member.subscribed";
    public const string Unsubscribed = "member.unsubscribed";
    public const string Cleaned = "member.cleaned";
    public const string ProfileUpdated = "member.profile_updated";
    public const string EmailChanged = "member.email_changed";
}

/// <summary>
/// One change Mailchimp reported by list webhook, as read from its form body (FACTS.md §9, Mailchimp's
/// "Sync audience data with webhooks" guide): <c>type</c>, <c>fired_at</c> (<c>YYYY-MM-DD HH:MM:SS</c>, UTC) and
/// <c>data[...]</c>. <see cref="Email"/> is the address the change is about (for <c>upemail</c> the old one).
/// </summary>
public sealed record InboundEvent(
    string Kind, DateTimeOffset FiredAt, string Email, string? NewEmail, string? Reason, string? Action, IReadOnlyDictionary<string, JsonElement>? MergeFields)
{
    /// <summary>The Mailchimp event types Hub registers for, and the member event each becomes.</summary>
    public static readonly IReadOnlyDictionary<string, string> Kinds = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["subscribe"] = MemberEventTypes.Subscribed,
        ["unsubscribe"] = MemberEventTypes.Unsubscribed,
        ["cleaned"] = MemberEventTypes.Cleaned,
        ["profile"] = MemberEventTypes.ProfileUpdated,
        ["upemail"] = MemberEventTypes.EmailChanged,
    };

    private const int MaxMergeFields = 100;

    public string Type => Kinds[Kind];

    public string SubscriberHash => Mailchimp.SubscriberHash.FromEmail(Email).Value;

    public string? NewSubscriberHash => NewEmail is null ? null : Mailchimp.SubscriberHash.FromEmail(NewEmail).Value;

    /// <summary>
    /// Reads the form fields of one delivery. Null with a reason when it is not a member event Hub can use: no or an unknown
    /// <c>type</c> (<paramref name="ignored"/> is then true for a known type Hub does not register for, <c>campaign</c>),
    /// another audience's <c>data[list_id]</c>, a missing or malformed address or time.
    /// </summary>
    public static InboundEvent? Read(IReadOnlyDictionary<string, string> form, string audienceId, out string? error, out bool ignored)
    {
        ignored = false;
        error = null;
        if (!form.TryGetValue("type", out var kind) || string.IsNullOrWhiteSpace(kind))
        {
            error = "The event has no 'type'.";
            return null;
        }

        if (!Kinds.ContainsKey(kind))
        {
            ignored = kind == "campaign";
            error = ignored ? null : $"The event type '{kind}' is not one Mailchimp sends.";
            return null;
        }

        if (!form.TryGetValue("fired_at", out var firedText)
            || !DateTime.TryParseExact(firedText, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var fired))
        {
            error = "'fired_at' must be a time as 'YYYY-MM-DD HH:MM:SS'.";
            return null;
        }

        if (form.GetValueOrDefault("data[list_id]") is { } listId && listId != audienceId)
        {
            error = "'data[list_id]' is not the audience this webhook was registered for.";
            return null;
        }

        var email = kind == "upemail" ? form.GetValueOrDefault("data[old_email]") : form.GetValueOrDefault("data[email]");
        var newEmail = kind == "upemail" ? form.GetValueOrDefault("data[new_email]") : null;
        if (email is null || !MailchimpEmail.IsValid(email) || (kind == "upemail" && (newEmail is null || !MailchimpEmail.IsValid(newEmail))))
        {
            error = kind == "upemail" ? "'data[old_email]' and 'data[new_email]' must be email addresses." : "'data[email]' must be an email address.";
            return null;
        }

        return new InboundEvent(kind, new DateTimeOffset(fired, TimeSpan.Zero), email.Trim(), newEmail?.Trim(),
            NullIfEmpty(form.GetValueOrDefault("data[reason]")), NullIfEmpty(form.GetValueOrDefault("data[action]")), MergesOf(form));
    }

    /// <summary>
    /// The event's id: the same for every delivery of the same change to the same tenant (Mailchimp retries send the same
    /// body); two tenants managing one audience each get their own.
    /// </summary>
    public static string IdOf(TenantId tenant, string audienceId, IReadOnlyDictionary<string, string> form)
    {
        var canonical = string.Join('\n', form.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(pair => $"{pair.Key}={pair.Value}"));
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{tenant}\n{audienceId}\n{canonical}"));
        return "ev_" + Convert.ToHexStringLower(hash)[..32];
    }

    /// <summary>
    /// <c>data[merges][TAG]</c> as text, <c>data[merges][TAG][part]</c> (an address) as an object of texts; deeper keys
    /// (interest groupings) are left out.
    /// </summary>
    private static Dictionary<string, JsonElement>? MergesOf(IReadOnlyDictionary<string, string> form)
    {
        const string prefix = "data[merges][";
        var flat = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var nested = new SortedDictionary<string, SortedDictionary<string, string>>(StringComparer.Ordinal);
        foreach (var (key, value) in form)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal) || !key.EndsWith(']'))
            {
                continue;
            }

            var parts = key[prefix.Length..^1].Split("][");
            if (parts.Length == 1 && parts[0] is { Length: > 0 } tag && tag != "EMAIL")
            {
                flat[tag] = value;
            }
            else if (parts.Length == 2 && parts[0] is { Length: > 0 } group && group != "GROUPINGS" && parts[1].Length > 0)
            {
                (nested.TryGetValue(group, out var part) ? part : nested[group] = new(StringComparer.Ordinal))[parts[1]] = value;
            }
        }

        var merges = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var (tag, value) in flat.Take(MaxMergeFields))
        {
            merges[tag] = JsonSerializer.SerializeToElement(value, Storage.HubJsonContext.Default.String);
        }

        foreach (var (tag, parts) in nested.Take(MaxMergeFields - merges.Count))
        {
            merges[tag] = JsonSerializer.SerializeToElement(parts, Storage.HubJsonContext.Default.SortedDictionaryStringString);
        }

        return merges.Count == 0 ? null : merges;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
