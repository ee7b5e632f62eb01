using System.Text.Json.Nodes;
using Hub.Core.Connections;
using Hub.Core.Mailchimp;
using Hub.Core.Security;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Hub.Core.Webhooks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hub.Core.OAuth;

/// <summary>Why a consent did not connect; each has its own page text.</summary>
public enum ConsentFailure
{
    /// <summary>The consent link is unknown, used or expired.</summary>
    LinkInvalid,

    /// <summary>The tenant was deleted or disabled.</summary>
    TenantUnavailable,

    /// <summary>The tenant has no OAuth app configured.</summary>
    NotConfigured,

    /// <summary>The user clicked Deny at Mailchimp.</summary>
    AccessDenied,

    /// <summary>Mailchimp sent another error back.</summary>
    AuthorizationError,

    /// <summary>The state is missing, unknown, expired or already used.</summary>
    StateInvalid,

    /// <summary>The browser that came back is not the one that started (cookie missing or different).</summary>
    [SnakeCaseName("browser_mismatch")]
    CookieMismatch,

    /// <summary>Mailchimp sent neither a code nor an error.</summary>
    MissingCode,

    /// <summary>Mailchimp refused the code exchange (wrong secret, expired code, ...).</summary>
    TokenExchangeFailed,

    /// <summary>The metadata or account call failed or said the token is invalid.</summary>
    MetadataFailed,

    /// <summary>The tenant changed its OAuth app while the browser was at Mailchimp.</summary>
    ConfigurationChanged,
}

public sealed record ConsentLinkRequest(string? ReturnUrl, string? Locale);

public sealed record ConsentLink(Uri Url, DateTimeOffset ExpiresAt);

/// <summary>Where <c>/oauth2/authorize</c> sends the browser, or why it cannot; <see cref="TenantName"/> is who asks, when known.</summary>
public sealed record ConsentStart(string? RedirectUrl, Secret? Cookie, ConsentFailure? Failure, string? TenantName, string? Locale, string? ReturnUrl);

/// <summary>
/// The end of the handshake at <c>/oauth2/proxy</c>. <see cref="TenantName"/> is who asked (when the state was
/// known). <see cref="StateUsedUp"/> says whether this browser's state was consumed (its cookie has done its
/// job); a stray or foreign callback leaves it in place.
/// </summary>
public sealed record ConsentOutcome(
    ConsentFailure? Failure, string? TenantName, string? AccountName, IReadOnlyList<ConsentIssue> Issues, string? ReturnUrl, string? Locale, bool StateUsedUp)
{
    public bool Connected => Failure is null;
}

/// <summary>
/// A completed consent kept for its result page: shown once, to the browser holding the cookie it was saved
/// under, so the callback can redirect to a clean URL (no <c>code</c> or <c>state</c> left in the address bar).
/// </summary>
public sealed record ConsentResult(string TenantName, string? AccountName, IReadOnlyList<ConsentIssue> Issues, string? Locale);

/// <summary>
/// The one-time OAuth consent: link, state bound to a browser cookie, code exchange, metadata,
/// checks against the handed-over endpoint and audience, and the webhook that tells the host.
/// </summary>
public sealed partial class ConsentHandshake(
    TenantStore tenants,
    ConnectionService connections,
    ConsentStore store,
    MailchimpOAuthClient oauth,
    MailchimpAccountClient mailchimp,
    IWebhookPublisher webhooks,
    IOptions<HubOptions> hubOptions,
    TimeProvider time,
    ILogger<ConsentHandshake> logger)
{
    public const int MaxReturnUrlLength = 2000;
    public static readonly IReadOnlyList<string> Locales = ["en", "nl"];

    public string RedirectUri => hubOptions.Value.PublicBaseUrl.TrimEnd('/') + "/oauth2/proxy";

    /// <summary>Where the callback sends the browser after a connected consent without a return URL.</summary>
    public string ResultUrl => hubOptions.Value.PublicBaseUrl.TrimEnd('/') + "/oauth2/result";

    /// <summary>Validation errors of a link request for this tenant; empty when acceptable.</summary>
    public static Dictionary<string, string[]> Validate(Tenant tenant, ConsentLinkRequest request)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (request.ReturnUrl is { } returnUrl && !IsAllowedReturnUrl(tenant, returnUrl))
        {
            errors["returnUrl"] = ["Must be an absolute http(s) URL, at most 2000 characters without control characters, on one of the tenant's allowed return origins."];
        }

        if (request.Locale is { } locale && !Locales.Contains(locale))
        {
            errors["locale"] = ["Must be 'nl' or 'en'."];
        }

        return errors;
    }

    /// <summary>
    /// True only for an absolute http(s) URL without credentials whose origin the tenant allowed. Control
    /// characters are refused: the URL ends up in a Location header, where CR or LF cannot go.
    /// </summary>
    public static bool IsAllowedReturnUrl(Tenant tenant, string returnUrl)
    {
        if (returnUrl.Length > MaxReturnUrlLength || returnUrl.Any(char.IsControl) || !Uri.TryCreate(returnUrl, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            return false;
        }

        var origin = TenantRules.NormaliseOrigin(returnUrl);
        return origin is not null && tenant.AllowedReturnOrigins.Any(allowed => TenantRules.NormaliseOrigin(allowed) == origin);
    }

    /// <summary>A single-use link for a customer's browser. Null when the tenant has no OAuth app to consent to.</summary>
    public async Task<ConsentLink?> CreateLinkAsync(Tenant tenant, ConsentLinkRequest request, CancellationToken cancellationToken)
    {
        if (await connections.GetOAuthAppAsync(tenant, cancellationToken) is null)
        {
            return null;
        }

        var (session, expiresAt) = await store.CreateSessionAsync(new ConsentSession(tenant.Id, request.ReturnUrl, request.Locale), time.GetUtcNow(), cancellationToken);
        var url = new Uri($"{hubOptions.Value.PublicBaseUrl.TrimEnd('/')}/oauth2/authorize?session={Uri.EscapeDataString(session.Reveal())}");
        LogLinkCreated(logger, tenant.Id.ToString(), expiresAt);
        return new ConsentLink(url, expiresAt);
    }

    /// <summary>Consumes the link, creates a state bound to a new browser cookie, and names Mailchimp's authorize URL.</summary>
    public async Task<ConsentStart> StartAsync(string? session, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(session) || await store.TakeSessionAsync(session, cancellationToken) is not { } link)
        {
            LogFailed(logger, "-", ConsentFailure.LinkInvalid);
            return new ConsentStart(null, null, ConsentFailure.LinkInvalid, null, null, null);
        }

        var found = await tenants.GetAsync(link.Tenant, cancellationToken);
        if (found is not { Enabled: true } tenant)
        {
            LogFailed(logger, link.Tenant.ToString(), ConsentFailure.TenantUnavailable);
            return new ConsentStart(null, null, ConsentFailure.TenantUnavailable, found?.Name, link.Locale, null);
        }

        if (await connections.GetOAuthAppAsync(tenant, cancellationToken) is not { } app)
        {
            await FailAsync(tenant.Id, ConsentFailure.NotConfigured, cancellationToken);
            return new ConsentStart(null, null, ConsentFailure.NotConfigured, tenant.Name, link.Locale, link.ReturnUrl);
        }

        var (state, cookie) = await store.CreateStateAsync(tenant.Id, app.ClientId, link.ReturnUrl, link.Locale, cancellationToken);
        LogStarted(logger, tenant.Id.ToString());
        return new ConsentStart(oauth.AuthorizeUrl(app.ClientId, RedirectUri, state.Reveal()), cookie, null, tenant.Name, link.Locale, link.ReturnUrl);
    }

    /// <summary>
    /// The callback: consumes the state atomically if the browser holds its cookie (another browser fails
    /// without spoiling the consent for the right one), exchanges the code and stores the connection.
    /// </summary>
    public async Task<ConsentOutcome> CompleteAsync(
        string? code, string? stateValue, string? error, string? cookie, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(stateValue) || await store.TakeStateAsync(stateValue, cookie, cancellationToken) is not { } taken)
        {
            LogFailed(logger, "-", ConsentFailure.StateInvalid);
            return new ConsentOutcome(ConsentFailure.StateInvalid, null, null, [], null, null, StateUsedUp: false);
        }

        var state = taken.State;
        // Only the browser that started the consent learns who asked; one that merely holds the state does not.
        var found = taken.CookieMatched ? await tenants.GetAsync(state.Tenant, cancellationToken) : null;
        ConsentOutcome Fail(ConsentFailure failure) => new(failure, found?.Name, null, [], state.ReturnUrl, state.Locale, taken.CookieMatched);

        if (!taken.CookieMatched)
        {
            return Fail(await FailAsync(state.Tenant, ConsentFailure.CookieMismatch, cancellationToken));
        }

        if (!string.IsNullOrEmpty(error))
        {
            return Fail(await FailAsync(state.Tenant, error == "access_denied" ? ConsentFailure.AccessDenied : ConsentFailure.AuthorizationError, cancellationToken));
        }

        if (string.IsNullOrEmpty(code))
        {
            return Fail(await FailAsync(state.Tenant, ConsentFailure.MissingCode, cancellationToken));
        }

        if (found is not { Enabled: true } tenant)
        {
            LogFailed(logger, state.Tenant.ToString(), ConsentFailure.TenantUnavailable);
            return Fail(ConsentFailure.TenantUnavailable);
        }

        if (await connections.GetOAuthAppAsync(tenant, cancellationToken) is not { } app || app.ClientId != state.ClientId)
        {
            return Fail(await FailAsync(tenant.Id, ConsentFailure.ConfigurationChanged, cancellationToken));
        }

        var (token, exchangeError) = await oauth.ExchangeCodeAsync(app.ClientId, app.ClientSecret, code, RedirectUri, cancellationToken);
        if (token is null)
        {
            LogExchangeFailed(logger, tenant.Id.ToString(), exchangeError);
            return Fail(await FailAsync(tenant.Id, ConsentFailure.TokenExchangeFailed, cancellationToken));
        }

        var (metadata, metadataError) = await oauth.GetMetadataAsync(token, cancellationToken);
        var (account, _) = metadata is null
            ? (null, null)
            : await mailchimp.ReadAccountAsync(MailchimpAuthKind.OAuth, token, metadata.DataCenter, cancellationToken);
        if (metadata is null || account is null)
        {
            LogMetadataFailed(logger, tenant.Id.ToString(), metadataError ?? "the account call failed");
            return Fail(await FailAsync(tenant.Id, ConsentFailure.MetadataFailed, cancellationToken));
        }

        account = account with { AccountName = metadata.AccountName.Length > 0 ? metadata.AccountName : account.AccountName, ApiEndpoint = metadata.ApiEndpoint ?? account.ApiEndpoint, LoginEmail = metadata.LoginEmail ?? account.LoginEmail };
        var (managedAudience, issues) = await CheckHandedOverValuesAsync(app.Connection, token, metadata.DataCenter, cancellationToken);
        if (!await connections.CompleteOAuthAsync(tenant.Id, app.ClientId, token, account, managedAudience, ConsentIssue.Describe(issues), cancellationToken))
        {
            return Fail(await FailAsync(tenant.Id, ConsentFailure.ConfigurationChanged, cancellationToken));
        }

        return new ConsentOutcome(null, tenant.Name, account.AccountName, issues, state.ReturnUrl, state.Locale, StateUsedUp: true);
    }

    /// <summary>Keeps a connected outcome for its result page; the returned value goes into the browser's cookie.</summary>
    public Task<Secret> SaveResultAsync(ConsentOutcome outcome, CancellationToken cancellationToken) =>
        store.CreateResultAsync(new ConsentResult(outcome.TenantName ?? "", outcome.AccountName, outcome.Issues, outcome.Locale), cancellationToken);

    /// <summary>The result saved under <paramref name="cookie"/>, once; null when unknown, expired or already shown.</summary>
    public Task<ConsentResult?> TakeResultAsync(string cookie, CancellationToken cancellationToken) => store.TakeResultAsync(cookie, cancellationToken);

    /// <summary>The endpoint URL's data center and the audience id must belong to the account that consented.</summary>
    private async Task<(string? ManagedAudience, IReadOnlyList<ConsentIssue> Issues)> CheckHandedOverValuesAsync(Connection connection, Secret token, string dataCenter, CancellationToken cancellationToken)
    {
        var issues = new List<ConsentIssue>();
        if (connection.EndpointUrl is { } endpoint && connections.DataCenterOf(endpoint) is { } expected && expected != dataCenter)
        {
            issues.Add(new ConsentIssue(ConsentIssueKind.DataCenterMismatch, expected, dataCenter));
        }

        string? managed = null;
        if (connection.AudienceId is { } audienceId)
        {
            switch (await mailchimp.AudienceExistsAsync(MailchimpAuthKind.OAuth, token, dataCenter, audienceId, cancellationToken))
            {
                case true:
                    managed = audienceId;
                    break;
                case false:
                    issues.Add(new ConsentIssue(ConsentIssueKind.AudienceNotFound, audienceId));
                    break;
                default:
                    issues.Add(new ConsentIssue(ConsentIssueKind.AudienceUnconfirmed, audienceId));
                    break;
            }
        }

        return (managed, issues);
    }

    private async Task<ConsentFailure> FailAsync(TenantId tenant, ConsentFailure failure, CancellationToken cancellationToken)
    {
        LogFailed(logger, tenant.ToString(), failure);
        await webhooks.PublishAsync(tenant, WebhookEvents.ConnectionFailed, ConnectionService.Event(new JsonObject
        {
            ["reason"] = ReasonCode(failure),
        }), cancellationToken);
        return failure;
    }

    /// <summary>The stable snake_case code of a failure, as sent in <c>connection.failed</c>.</summary>
    public static string ReasonCode(ConsentFailure failure) => SnakeCase<ConsentFailure>.ToText(failure);

    [LoggerMessage(Level = LogLevel.Information, Message = "Consent link created for tenant {TenantId}, valid until {ExpiresAt}.")]
    private static partial void LogLinkCreated(ILogger logger, string tenantId, DateTimeOffset expiresAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Consent started for tenant {TenantId}; browser sent to Mailchimp.")]
    private static partial void LogStarted(ILogger logger, string tenantId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Consent failed for tenant {TenantId}: {Failure}.")]
    private static partial void LogFailed(ILogger logger, string tenantId, ConsentFailure failure);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mailchimp code exchange failed for tenant {TenantId}: {Reason}.")]
    private static partial void LogExchangeFailed(ILogger logger, string tenantId, string? reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mailchimp metadata failed for tenant {TenantId}: {Reason}.")]
    private static partial void LogMetadataFailed(ILogger logger, string tenantId, string reason);
}
