namespace Hub.Sandbox;

/// <summary>Seed data and behaviour knobs for the Mailchimp sandbox.</summary>
public sealed class SandboxOptions
{
    public const string SectionName = "Sandbox";

    /// <summary>Name of the account seeded at start; the consent page shows it.</summary>
    public string DefaultAccountName { get; set; } = "Sandbox Shop";

    /// <summary>Data center of the seeded account (the marketing API answers under <c>/{dc}/3.0</c>).</summary>
    public string DefaultAccountDc { get; set; } = "us21";

    public string DefaultLoginEmail { get; set; } = "owner@sandbox.test";

    /// <summary>The seeded OAuth app, so a first run of Hub works without any control call.</summary>
    public string DefaultClientId { get; set; } = "sandbox-client";

    public string DefaultClientSecret { get; set; } = "sandbox-secret";

    public string DefaultRedirectUri { get; set; } = "http://localhost:5080/oauth2/proxy";

    /// <summary>How long every marketing API call takes in all, the sandbox's own handling included (inside the concurrency slot).</summary>
    public TimeSpan PerCallLatency { get; set; } = TimeSpan.Zero;

    /// <summary>How much longer a batch subscribe call takes per member it carries.</summary>
    public TimeSpan PerMemberLatency { get; set; } = TimeSpan.Zero;

    /// <summary>Mailchimp allows 10 simultaneous connections per user; the next one gets 429.</summary>
    public int MaxConcurrentRequestsPerAccount { get; set; } = 10;

    /// <summary>Audiences an account may create before 403; 1 emulates the free plan.</summary>
    public int AudienceLimitPerAccount { get; set; } = 100;

    /// <summary>How long an authorization code can be exchanged.</summary>
    public TimeSpan AuthorizationCodeLifetime { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a "hang" fault holds the request (past Mailchimp's 120 s timeout) unless the client leaves.</summary>
    public TimeSpan HangDuration { get; set; } = TimeSpan.FromSeconds(130);

    /// <summary>
    /// Strict mode: a request body carrying a property the sandbox neither reads nor lists as documented-but-ignored
    /// for that route is refused like Mailchimp refuses invalid input (400 "Invalid Resource"; in a batch subscribe,
    /// the member gets an ERROR_GENERIC error). Off by default; also switchable with <c>PUT /_control/strict</c>.
    /// </summary>
    public bool StrictRequestBodies { get; set; }

    /// <summary>Records every marketing API request (see <c>GET /_control/requests</c>). Off by default; also <c>PUT /_control/capture</c>.</summary>
    public bool CaptureRequests { get; set; }

    /// <summary>How many captured requests are kept; the oldest are dropped first.</summary>
    public int CaptureLimit { get; set; } = 10_000;

    /// <summary>How long the validation GET and each list-webhook delivery may take (Mailchimp: answer within 10 s).</summary>
    public TimeSpan WebhookTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How many list-webhook deliveries are sent at once, across all webhooks.</summary>
    public int WebhookSenders { get; set; } = 8;

    /// <summary>
    /// How many deliveries of one webhook are in flight at once. 1 (the default) sends each webhook's first attempts in
    /// the order the events happened; a retry comes later.
    /// </summary>
    public int WebhookInFlightPerWebhook { get; set; } = 1;

    /// <summary>Attempts per delivery (first one included) before it is given up. Mailchimp keeps retrying for 75 minutes.</summary>
    public int WebhookMaxAttempts { get; set; } = 5;

    /// <summary>The pause before the first retry; each next pause doubles (1 s, 2 s, 4 s, 8 s by default).</summary>
    public TimeSpan WebhookFirstRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How many delivery attempts <c>GET /_control/webhook-deliveries</c> keeps; the oldest are dropped first.</summary>
    public int WebhookDeliveryLogLimit { get; set; } = 10_000;
}
