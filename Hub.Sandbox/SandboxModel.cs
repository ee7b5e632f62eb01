using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Hub.Sandbox;

// Mutable in-memory records. They are only touched while holding SandboxState's lock;
// everything leaving the state is copied into the immutable response records (SandboxContracts.cs).

internal sealed class Account
{
    public required string Id { get; init; }
    public required string Name { get; set; }
    public required string Dc { get; init; }
    public required string LoginEmail { get; set; }
    public required string LoginId { get; init; }
    public required int AudienceLimit { get; set; }
    public required int MaxConcurrentRequests { get; set; }
    public required DateTimeOffset CreatedAt { get; init; }
    public int InFlight;
    public int MaxInFlight;
}

internal sealed class OAuthApp
{
    public required string ClientId { get; init; }
    public required string ClientSecret { get; set; }
    public required string RedirectUri { get; set; }
}

internal sealed record AuthorizationCode(string Code, string ClientId, string RedirectUri, string AccountId, DateTimeOffset ExpiresAt);

internal enum CredentialKind { ApiKey, OAuthToken }

internal sealed class Credential
{
    public required string Value { get; init; }
    public required string AccountId { get; init; }
    public required CredentialKind Kind { get; init; }
    public bool Revoked { get; set; }
}

internal sealed class Audience
{
    public required string Id { get; init; }
    public required string AccountId { get; init; }
    public required int WebId { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required ListSettings Settings { get; set; }
    public List<MergeField> MergeFields { get; } = [];
    public int NextMergeId { get; set; } = 1;
    public Dictionary<string, Member> Members { get; } = new(StringComparer.Ordinal);
    public HashSet<string> ForgottenHashes { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, int> TagIds { get; } = new(StringComparer.OrdinalIgnoreCase);
    public List<ListWebhook> Webhooks { get; } = [];
}

internal sealed class ListWebhook
{
    public required string Id { get; init; }
    public required string ListId { get; init; }
    public required string AccountId { get; init; }
    public required string Url { get; set; }
    public required WebhookEvents Events { get; set; }
    public required WebhookSources Sources { get; set; }
    public required string SigningSecret { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>A delivery was answered 410: nothing more is sent (FACTS.md §9).</summary>
    public bool Disabled { get; set; }

    /// <summary>Deleted (itself, its list, or by a reset): whatever is still queued is dropped.</summary>
    public bool Deleted { get; set; }

    /// <summary>Deliveries waiting for a sender, first attempts in the order the events happened.</summary>
    public LinkedList<WebhookDelivery> Queue { get; } = new();

    /// <summary>How many senders hold (or are queued to take) this webhook's next delivery.</summary>
    public int Lanes { get; set; }

    public long Sent { get; set; }
    public long Failed { get; set; }
    public long Attempts { get; set; }
    public int Pending { get; set; }

    public bool Fires(string type, string source) =>
        !Disabled && !Deleted
        && type switch
        {
            WebhookEventTypes.Subscribe => Events.Subscribe,
            WebhookEventTypes.Unsubscribe => Events.Unsubscribe,
            WebhookEventTypes.Profile => Events.Profile,
            WebhookEventTypes.Cleaned => Events.Cleaned,
            WebhookEventTypes.Upemail => Events.Upemail,
            _ => false,
        }
        && source switch
        {
            WebhookSourceNames.User => Sources.User,
            WebhookSourceNames.Admin => Sources.Admin,
            WebhookSourceNames.Api => Sources.Api,
            _ => false,
        };
}

/// <summary>One event on its way to one webhook; the body is shared by every webhook the event reaches.</summary>
internal sealed class WebhookDelivery(ListWebhook webhook, string type, string source, string body)
{
    public ListWebhook Webhook => webhook;
    public string Type => type;
    public string Source => source;
    public string Body => body;
    public int Attempts { get; set; }
}

internal static class WebhookEventTypes
{
    public const string Subscribe = "subscribe";
    public const string Unsubscribe = "unsubscribe";
    public const string Profile = "profile";
    public const string Cleaned = "cleaned";
    public const string Upemail = "upemail";
}

internal static class WebhookSourceNames
{
    public const string User = "user";
    public const string Admin = "admin";
    public const string Api = "api";
}

internal sealed class Member
{
    public required string Hash { get; set; }
    public required string Email { get; set; }
    public required string Status { get; set; }
    public required string UniqueEmailId { get; init; }
    public required string ContactId { get; init; }
    public required int WebId { get; init; }
    public string EmailType { get; set; } = "html";
    public string Language { get; set; } = "";
    public bool Vip { get; set; }
    public string IpSignup { get; set; } = "";
    public string IpOpt { get; set; } = "";
    public Dictionary<string, JsonNode?> MergeFields { get; } = new(StringComparer.Ordinal);
    public List<string> Tags { get; } = [];

    /// <summary>When <c>POST .../tags</c> last made a tag active; a tag added another way dates from the signup.</summary>
    public Dictionary<string, DateTimeOffset> TagDates { get; } = new(StringComparer.OrdinalIgnoreCase);
    public required DateTimeOffset TimestampSignup { get; init; }
    public DateTimeOffset TimestampOpt { get; set; }
    public DateTimeOffset LastChanged { get; set; }
}

internal static class Ids
{
    /// <summary>Random lowercase hex, the shape Mailchimp uses for list ids (10), keys and tokens (32).</summary>
    public static string Hex(int length) =>
        Convert.ToHexStringLower(RandomNumberGenerator.GetBytes((length + 1) / 2))[..length];

    /// <summary>
    /// Random lowercase hex for ids that guard nothing (a member's <c>unique_email_id</c> and <c>contact_id</c>): not from the
    /// cryptographic generator, which costs a call into OpenSSL each, and a batch creates up to 500 members.
    /// </summary>
    public static string PlainHex(int length)
    {
        Span<byte> bytes = stackalloc byte[(length + 1) / 2];
        Random.Shared.NextBytes(bytes);
        return Convert.ToHexStringLower(bytes)[..length];
    }

    /// <summary>A web id or login id (not a secret).</summary>
    public static int SmallNumber() => Random.Shared.Next(100_000, 999_999_999);

    /// <summary>Mailchimp's subscriber hash: lowercase hex MD5 of the lower-cased address.</summary>
    public static string SubscriberHash(string email) =>
        Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(email.Trim().ToLowerInvariant())));
}
