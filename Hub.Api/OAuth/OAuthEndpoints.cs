using Hub.Core.OAuth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace Hub.Api.OAuth;

/// <summary>The browser side of the one-time consent: <c>/oauth2/authorize</c> and <c>/oauth2/proxy</c>. No API key.</summary>
public static class OAuthEndpoints
{
    /// <summary>Binds the browser to the OAuth state; holds a random value, Redis holds only its hash.</summary>
    public const string StateCookie = "hub_oauth";

    /// <summary>Names a connected consent's result for <c>/oauth2/result</c>; a random value, Redis holds only its hash.</summary>
    public const string ResultCookie = "hub_oauth_result";

    private const string RoutePrefix = "/oauth2";

    public static IEndpointRouteBuilder MapOAuthEndpoints(this IEndpointRouteBuilder app)
    {
        var oauth = app.MapGroup(RoutePrefix).WithTags("Consent (browser)");
        oauth.MapGet("/authorize", Authorize);
        oauth.MapGet("/proxy", Proxy);
        oauth.MapGet("/result", Result);
        return app;
    }

    /// <summary>Open a consent link (browser).</summary>
    /// <remarks>
    /// The consent link's target, opened by the customer's browser: consumes the link, sets the state cookie and redirects (302) to
    /// Mailchimp's consent page. An unknown, used or expired link shows an HTML page saying what to do.
    /// </remarks>
    /// <param name="session">The link's single-use session, as in the consent link.</param>
    public static async Task<Results<ContentHttpResult, RedirectHttpResult>> Authorize(
        HttpContext context, ConsentHandshake handshake, IOptions<OAuthOptions> options, CancellationToken cancellationToken, string? session = null)
    {
        NoStore(context);
        var start = await handshake.StartAsync(session, cancellationToken);
        if (start.Failure is { } failure)
        {
            return ConsentPages.Failure(ConsentPages.Locale(context.Request, start.Locale), failure, start.ReturnUrl, start.TenantName);
        }

        context.Response.Cookies.Append(StateCookie, start.Cookie!.Reveal(), CookieOptions(context, options.Value.StateLifetime));
        return TypedResults.Redirect(start.RedirectUrl!);
    }

    /// <summary>Mailchimp's redirect URI (browser).</summary>
    /// <remarks>
    /// Register <c>&lt;Hub:PublicBaseUrl&gt;/oauth2/proxy</c> as the OAuth app's redirect URI. Completes the handshake for the browser
    /// holding the state cookie, then redirects (302) to the return URL or Hub's result page; a failure shows an HTML page.
    /// </remarks>
    /// <param name="code">Mailchimp's authorization code.</param>
    /// <param name="state">The state Hub sent to Mailchimp.</param>
    /// <param name="error">Mailchimp's error, e.g. <c>access_denied</c> when the customer denied.</param>
    public static async Task<Results<ContentHttpResult, RedirectHttpResult>> Proxy(
        HttpContext context, ConsentHandshake handshake, CancellationToken cancellationToken, string? code = null, string? state = null, string? error = null)
    {
        NoStore(context);
        var outcome = await handshake.CompleteAsync(code, state, error, context.Request.Cookies[StateCookie], cancellationToken);
        if (outcome.StateUsedUp)
        {
            // Only the cookie's own state ends it: a stray or forged callback must not log the browser out of a consent in progress.
            context.Response.Cookies.Delete(StateCookie, CookieOptions(context, maxAge: null));
        }

        if (!outcome.Connected)
        {
            return ConsentPages.Failure(ConsentPages.Locale(context.Request, outcome.Locale), outcome.Failure!.Value, outcome.ReturnUrl, outcome.TenantName);
        }

        if (outcome.ReturnUrl is { } returnUrl)
        {
            var query = new Dictionary<string, string?> { ["status"] = "connected" };
            if (outcome.Issues.Count > 0)
            {
                query["issue"] = string.Join(",", outcome.Issues.Select(issue => issue.Code));
            }

            return TypedResults.Redirect(QueryHelpers.AddQueryString(returnUrl, query));
        }

        // Post/redirect/get: the result page's URL carries no code or state, and its result is bound to this browser.
        var result = await handshake.SaveResultAsync(outcome, cancellationToken);
        context.Response.Cookies.Append(ResultCookie, result.Reveal(), CookieOptions(context, ConsentStore.ResultLifetime));
        return TypedResults.Redirect(handshake.ResultUrl);
    }

    /// <summary>Show a consent's result (browser).</summary>
    /// <remarks>Shown once, to the browser that completed the consent (a cookie names it); a reload or another browser gets a 404 page <c>result_unavailable</c>.</remarks>
    public static async Task<ContentHttpResult> Result(HttpContext context, ConsentHandshake handshake, CancellationToken cancellationToken)
    {
        NoStore(context);
        var cookie = context.Request.Cookies[ResultCookie];
        ConsentResult? result = null;
        if (!string.IsNullOrEmpty(cookie))
        {
            result = await handshake.TakeResultAsync(cookie, cancellationToken);
            context.Response.Cookies.Delete(ResultCookie, CookieOptions(context, maxAge: null));
        }

        var locale = ConsentPages.Locale(context.Request, result?.Locale);
        return result is null
            ? ConsentPages.ResultUnavailable(locale)
            : ConsentPages.Success(locale, result.TenantName, result.AccountName, result.Issues);
    }

    /// <summary>The consent cookies: HttpOnly, SameSite=Lax (sent when Mailchimp redirects back), Secure over HTTPS, only for <c>/oauth2</c>.</summary>
    private static CookieOptions CookieOptions(HttpContext context, TimeSpan? maxAge) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Lax,
        Secure = context.Request.IsHttps,
        Path = RoutePrefix,
        MaxAge = maxAge,
        IsEssential = true,
    };

    /// <summary>
    /// The 503 page for a consent route that failed because the store did not answer, when the browser
    /// asks for HTML; null for any other request (it gets the problem+json answer).
    /// </summary>
    public static ContentHttpResult? StoreUnavailablePage(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments(RoutePrefix)
            || !context.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        NoStore(context);
        return ConsentPages.StoreUnavailable(ConsentPages.Locale(context.Request, stored: null));
    }

    /// <summary>These answers carry one-time values: never cache them, never leak the URL as a referrer.</summary>
    private static void NoStore(HttpContext context)
    {
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers["Referrer-Policy"] = "no-referrer";
        context.Response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'";
    }
}
