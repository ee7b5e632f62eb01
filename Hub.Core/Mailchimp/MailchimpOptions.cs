using System.ComponentModel.DataAnnotations;

namespace Hub.Core.Mailchimp;

/// <summary>Where Mailchimp lives and how hard Hub may use it. Bound from <c>Hub:Mailchimp</c>.</summary>
public sealed class MailchimpOptions
{
    public const string SectionName = "Hub:Mailchimp";

    /// <summary>OAuth authorize endpoint the browser is sent to.</summary>
    [Required, Url]
    public string AuthorizeUrl { get; set; } = "https://login.mailchimp.com/oauth2/authorize";

    /// <summary>OAuth token endpoint (form POST, authorization_code grant).</summary>
    [Required, Url]
    public string TokenUrl { get; set; } = "https://login.mailchimp.com/oauth2/token";

    /// <summary>Metadata endpoint that tells a token's data center (<c>Authorization: OAuth &lt;token&gt;</c>).</summary>
    [Required, Url]
    public string MetadataUrl { get; set; } = "https://login.mailchimp.com/oauth2/metadata";

    /// <summary>Marketing API base per data center; <c>{dc}</c> is replaced by the tenant's data center.</summary>
    /// <remarks>The error message is a format string (its braces doubled), like every data annotation's.</remarks>
    [Required, RegularExpression(@"^https?://.*\{dc\}.*$", ErrorMessage = "Hub:Mailchimp:ApiBaseTemplate must be an http(s) URL containing {{dc}}, e.g. https://{{dc}}.api.mailchimp.com/3.0.")]
    public string ApiBaseTemplate { get; set; } = "https://{dc}.api.mailchimp.com/3.0";

    /// <summary>Concurrent Mailchimp calls per Mailchimp account across every Hub replica. Mailchimp allows 10 per user.</summary>
    [Range(1, 10)]
    public int MaxConcurrentCallsPerAccount { get; set; } = 8;

    /// <summary>Overall time one Mailchimp call may take, retries and waiting for a slot included (Mailchimp's own limit is 120 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.1", "00:10:00", ErrorMessage = "Hub:Mailchimp:Timeout must be between 100 ms and 10 minutes.")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Time one attempt may take before it counts as a (retryable) timeout.</summary>
    [Range(typeof(TimeSpan), "00:00:00.1", "00:10:00", ErrorMessage = "Hub:Mailchimp:AttemptTimeout must be between 100 ms and 10 minutes.")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Retries after the first attempt of an idempotent call (on 429, 5xx and timeouts).</summary>
    [Range(0, 10, ErrorMessage = "Hub:Mailchimp:MaxRetryAttempts must be between 0 and 10.")]
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>First retry delay; later ones grow exponentially with jitter (a Retry-After header wins).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ErrorMessage = "Hub:Mailchimp:RetryBaseDelay must be between 0 and 1 minute.")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a concurrency slot stays taken without renewal. Holders renew while they run, so the
    /// lease only runs out when a replica died mid-call.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Hub:Mailchimp:ConcurrencyLeaseDuration must be between 1 second and 10 minutes.")]
    public TimeSpan ConcurrencyLeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The API base for a data center, e.g. <c>https://us6.api.mailchimp.com/3.0</c>.</summary>
    public Uri ApiBase(string dataCenter) => new(ApiBaseTemplate.Replace("{dc}", dataCenter, StringComparison.Ordinal).TrimEnd('/') + "/");
}

/// <summary>How Hub authenticates to one Mailchimp account.</summary>
public enum MailchimpAuthKind
{
    /// <summary>An OAuth access token (never expires), sent as Bearer.</summary>
    OAuth,

    /// <summary>An API key <c>&lt;hex&gt;-&lt;dc&gt;</c>, sent as Basic with any user name.</summary>
    ApiKey,
}

/// <summary>
/// A tenant's way into Mailchimp: the credential, its data center, and the account key that
/// identifies the Mailchimp user for the shared concurrency cap (e.g. <c>us6:12345</c>).
/// </summary>
/// <remarks><see cref="Tenant"/> names the tenant whose connection this is, so a 401 can mark that connection
/// <c>reauthorization_required</c>; null for a credential being verified before it is stored.</remarks>
public sealed record MailchimpCredential(MailchimpAuthKind Kind, Security.Secret Token, string DataCenter, string AccountKey, TenantId? Tenant = null)
{
    /// <summary>A slot of <see cref="AccountKey"/> this request took ahead; its first call uses it (see <see cref="MailchimpConcurrencyLimiter.Reserve"/>).</summary>
    public MailchimpSlotReservation? ReservedSlot { get; init; }
}
