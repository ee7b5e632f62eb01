using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;

namespace Hub.Sandbox;

/// <summary>Mailchimp's login.mailchimp.com OAuth 2 endpoints: consent page, code exchange, metadata.</summary>
public static class OAuthEndpoints
{
    public static RouteGroupBuilder MapSandboxOAuth(this IEndpointRouteBuilder app, string prefix)
    {
        var oauth = app.MapGroup("/oauth2").AddEndpointFilter(SandboxLimits.CountingFilter);
        oauth.MapGet("/authorize", Authorize).WithMetadata(new SandboxRoute("GET authorize", "GET", "/oauth2/authorize", []));
        oauth.MapPost("/authorize", Decide).WithMetadata(new SandboxRoute("POST authorize", "POST", "/oauth2/authorize", []));
        oauth.MapPost("/token", Token).WithMetadata(new SandboxRoute("POST token", "POST", "/oauth2/token", []));
        oauth.MapGet("/metadata", (HttpContext http, SandboxState state) => Metadata(http, state, prefix))
            .WithMetadata(new SandboxRoute("GET metadata", "GET", "/oauth2/metadata", []));
        return oauth;
    }

    private static IResult Authorize(HttpContext http, SandboxState state)
    {
        var q = http.Request.Query;
        if (Validate(state, q["response_type"], q["client_id"], q["redirect_uri"]) is { } error) return ConsentPage.Error(error);
        var accounts = state.GetAccounts();
        var hinted = q["account"].ToString();
        var chosen = accounts.Where(a => a.Id == hinted).ToList();
        return ConsentPage.Render(q["client_id"]!, q["redirect_uri"]!, q["state"], chosen.Count > 0 ? chosen : accounts, state.DefaultAccountId);
    }

    private static async Task<IResult> Decide(HttpContext http, SandboxState state, CancellationToken ct)
    {
        if (!http.Request.HasFormContentType) return ConsentPage.Error("The consent form must be posted as application/x-www-form-urlencoded.");
        var form = await http.Request.ReadFormAsync(ct);
        string clientId = form["client_id"].ToString(), redirectUri = form["redirect_uri"].ToString();
        if (Validate(state, form["response_type"], clientId, redirectUri) is { } error) return ConsentPage.Error(error);
        var query = new Dictionary<string, string?>();
        if (form["decision"] == "allow")
        {
            var accountId = form["account"].ToString();
            if (state.GetAccount(accountId) is null) accountId = state.DefaultAccountId;
            query["code"] = state.IssueCode(clientId, redirectUri, accountId);
        }
        else
        {
            query["error"] = "access_denied";
        }
        if (form.TryGetValue("state", out var stateValue) && stateValue.Count > 0) query["state"] = stateValue.ToString();
        return TypedResults.Redirect(QueryHelpers.AddQueryString(redirectUri, query));
    }

    private static string? Validate(SandboxState state, string? responseType, string? clientId, string? redirectUri)
    {
        if (responseType != "code") return "response_type must be \"code\".";
        if (string.IsNullOrEmpty(clientId) || state.FindApp(clientId) is not { } app) return "Unknown client_id.";
        if (!string.Equals(app.RedirectUri, redirectUri, StringComparison.Ordinal)) return "redirect_uri does not exactly match the one registered for this app.";
        return null;
    }

    private static async Task<IResult> Token(HttpContext http, SandboxState state, CancellationToken ct)
    {
        if (!http.Request.HasFormContentType) return OAuthError(400, "invalid_request", "The body must be application/x-www-form-urlencoded.");
        var form = await http.Request.ReadFormAsync(ct);
        if (form["grant_type"] != "authorization_code")
            return OAuthError(400, "unsupported_grant_type", "Only grant_type=authorization_code is supported.");
        var app = state.FindApp(form["client_id"].ToString());
        if (app is null || !System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.UTF8.GetBytes(app.ClientSecret), System.Text.Encoding.UTF8.GetBytes(form["client_secret"].ToString())))
            return OAuthError(401, "invalid_client", "Invalid client_id or client_secret.");
        var code = state.RedeemCode(form["code"].ToString());
        if (code is null || code.ClientId != app.ClientId)
            return OAuthError(400, "invalid_grant", "The authorization code is invalid, expired or already used.");
        if (code.RedirectUri != form["redirect_uri"].ToString())
            return OAuthError(400, "invalid_grant", "redirect_uri does not match the one used to obtain the code.");
        var token = state.MintToken(code.AccountId)!;
        return TypedResults.Json(new JsonObject { ["access_token"] = token, ["expires_in"] = 0, ["scope"] = null });
    }

    private static IResult Metadata(HttpContext http, SandboxState state, string prefix)
    {
        var account = SandboxCaller.Credential(http.Request) is { } token ? state.Authenticate(token, oauthOnly: true) : null;
        if (account is null) return TypedResults.Json(new JsonObject { ["error"] = "invalid_token" });
        var request = http.Request;
        var root = $"{request.Scheme}://{request.Host}{request.PathBase}{prefix}";
        return TypedResults.Json(new JsonObject
        {
            ["dc"] = account.Dc,
            ["role"] = "owner",
            ["accountname"] = account.Name,
            ["user_id"] = long.Parse(account.LoginId, System.Globalization.CultureInfo.InvariantCulture),
            ["login"] = new JsonObject
            {
                ["email"] = account.LoginEmail,
                ["avatar"] = null,
                ["login_id"] = long.Parse(account.LoginId, System.Globalization.CultureInfo.InvariantCulture),
                ["login_name"] = account.LoginEmail,
                ["login_email"] = account.LoginEmail,
            },
            ["login_url"] = root,
            ["api_endpoint"] = $"{root}/{account.Dc}",
        });
    }

    private static IResult OAuthError(int status, string error, string description) =>
        TypedResults.Json(new JsonObject { ["error"] = error, ["error_description"] = description }, statusCode: status);
}
