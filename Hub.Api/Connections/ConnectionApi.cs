using Hub.Api.Hosting;
using Hub.Core.Connections;
using Hub.Core.Events;
using Hub.Core.OAuth;
using Hub.Core.Security;
using Hub.Core.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Hub.Api.Connections;

/// <summary>The tenant's Mailchimp connection under <c>/api/v1/connection</c>.</summary>
public static class ConnectionApi
{
    public static RouteGroupBuilder MapConnectionApi(this RouteGroupBuilder v1)
    {
        var connection = v1.MapGroup("/connection").WithTags("Connection");

        connection.MapGet("/", GetConnection).WithSummary("The connection's state, mode and account; never a secret.");
        connection.MapPut("/oauth-app", SetOAuthApp).ProducesValidationProblem()
            .WithSummary("Set the Mailchimp OAuth app (client id, secret, endpoint URL, audience id); the tenant then awaits consent.");
        connection.MapPut("/api-key", SetApiKey).ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity).ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Connect with a Mailchimp API key, verified with Mailchimp before it is stored.");
        connection.MapPost("/consent-links", CreateConsentLink).ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("A single-use, expiring link that walks the customer through Mailchimp's consent.");
        connection.MapDelete("/", Disconnect).WithSummary("Forget the Mailchimp credentials; audiences in Mailchimp stay as they are.");
        return v1;
    }

    public static async Task<Ok<ConnectionResponse>> GetConnection(Tenant tenant, ConnectionService connections, CancellationToken cancellationToken) =>
        TypedResults.Ok(ConnectionResponse.From(await connections.GetAsync(tenant, cancellationToken)));

    public static async Task<Results<Ok<ConnectionResponse>, ValidationProblem>> SetOAuthApp(
        OAuthAppRequest request, Tenant tenant, ConnectionService connections, CancellationToken cancellationToken)
    {
        var settings = new OAuthAppSettings(
            request.ClientId,
            string.IsNullOrEmpty(request.ClientSecret) ? null : new Secret(request.ClientSecret),
            string.IsNullOrWhiteSpace(request.EndpointUrl) ? null : request.EndpointUrl,
            string.IsNullOrWhiteSpace(request.AudienceId) ? null : request.AudienceId.Trim());
        var errors = connections.Validate(settings);
        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }

        return TypedResults.Ok(ConnectionResponse.From(await connections.SetOAuthAppAsync(tenant, settings, cancellationToken)));
    }

    public static async Task<Results<Ok<ConnectionResponse>, ValidationProblem, ProblemHttpResult>> SetApiKey(
        ApiKeyRequest request, Tenant tenant, ConnectionService connections, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(request.ApiKey))
        {
            return Problems.Validation(new Dictionary<string, string[]> { ["apiKey"] = ["A Mailchimp API key is required."] });
        }

        return await connections.SetApiKeyAsync(tenant, new Secret(request.ApiKey), cancellationToken) switch
        {
            ApiKeyResult.Connected connected => TypedResults.Ok(ConnectionResponse.From(connected.Connection)),
            ApiKeyResult.Malformed malformed => Problems.Validation(new Dictionary<string, string[]> { ["apiKey"] = [malformed.Detail] }),
            ApiKeyResult.Rejected rejected => Problems.Create(StatusCodes.Status422UnprocessableEntity, "mailchimp_key_rejected", "Mailchimp rejected the API key", rejected.Detail),
            ApiKeyResult.Unavailable unavailable => Problems.Create(StatusCodes.Status503ServiceUnavailable, "mailchimp_unavailable", "Mailchimp unavailable", unavailable.Detail),
            _ => throw new InvalidOperationException("Unknown API key result."),
        };
    }

    public static async Task<Results<Created<ConsentLinkResponse>, ValidationProblem, ProblemHttpResult>> CreateConsentLink(
        ConsentLinkRequestBody? request, Tenant tenant, ConsentHandshake handshake, CancellationToken cancellationToken)
    {
        var linkRequest = new ConsentLinkRequest(
            string.IsNullOrWhiteSpace(request?.ReturnUrl) ? null : request.ReturnUrl.Trim(),
            string.IsNullOrWhiteSpace(request?.Locale) ? null : request.Locale.Trim().ToLowerInvariant());
        var errors = ConsentHandshake.Validate(tenant, linkRequest);
        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }

        if (await handshake.CreateLinkAsync(tenant, linkRequest, cancellationToken) is not { } link)
        {
            return Problems.Conflict("oauth_app_not_configured", "Set the Mailchimp OAuth app (PUT /api/v1/connection/oauth-app) before creating a consent link.");
        }

        return TypedResults.Created(link.Url, new ConsentLinkResponse(link.Url.ToString(), link.ExpiresAt));
    }

    public static async Task<NoContent> Disconnect(Tenant tenant, ConnectionService connections, AudienceHooks hooks, CancellationToken cancellationToken)
    {
        // The list webhooks go first, while the credential still works; a failure leaves them in Mailchimp, where their
        // events get 404 (their secrets are forgotten with the connection).
        await hooks.RemoveAllAsync(tenant.Id, cancellationToken);
        await connections.DisconnectAsync(tenant.Id, cancellationToken);
        return TypedResults.NoContent();
    }
}
