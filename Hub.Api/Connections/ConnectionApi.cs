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

        connection.MapGet("/", GetConnection);
        connection.MapPut("/oauth-app", SetOAuthApp).ProducesValidationProblem()
            .WithRequestExample(new { clientId = "123456789012", clientSecret = "0c1b2a3948576a6b5c4d3e2f1a0b9c8d7e6f5a4b", endpointUrl = "https://us21.api.mailchimp.com/3.0", audienceId = "0b30051403" });
        connection.MapPut("/api-key", SetApiKey).ProducesValidationProblem()
            .WithRequestExample(new { apiKey = "0123456789abcdef0123456789abcdef-us21" })
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        connection.MapPost("/consent-links", CreateConsentLink).ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict)
            .WithRequestExample(new { returnUrl = "https://app.acme.example/settings/mailchimp", locale = "en" });
        connection.MapDelete("/", Disconnect);
        return v1;
    }

    /// <summary>Read the tenant's Mailchimp connection.</summary>
    /// <remarks>Its state, mode, data center, account and managed audiences; never a secret. <c>state</c> tells what to do next: set an OAuth app or API key (<c>not_configured</c>), send the customer a consent link (<c>awaiting_consent</c>, <c>reauthorization_required</c>).</remarks>
    public static async Task<Ok<ConnectionResponse>> GetConnection(Tenant tenant, ConnectionService connections, CancellationToken cancellationToken) =>
        TypedResults.Ok(ConnectionResponse.From(await connections.GetAsync(tenant, cancellationToken)));

    /// <summary>Set the tenant's Mailchimp OAuth app.</summary>
    /// <remarks>
    /// The four values a customer hands over: <c>clientId</c> and <c>clientSecret</c> (required), <c>endpointUrl</c> (must match
    /// <c>https://&lt;dc&gt;.api.mailchimp.com/3.0</c>) and <c>audienceId</c> (becomes managed at consent). Forgets earlier credentials;
    /// the state becomes <c>awaiting_consent</c>. Then create a consent link.
    /// </remarks>
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

    /// <summary>Connect with a Mailchimp API key.</summary>
    /// <remarks>
    /// Verified with Mailchimp (<c>GET /ping</c>, <c>GET /</c>) before it is stored: 400 <c>validation</c> when malformed, 422
    /// <c>mailchimp_key_rejected</c> when Mailchimp refuses it, 503 <c>mailchimp_unavailable</c> when Mailchimp cannot be reached;
    /// nothing is stored then.
    /// </remarks>
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

    /// <summary>Create a consent link for the customer's browser.</summary>
    /// <remarks>
    /// A single-use, expiring link that walks the customer through Mailchimp's consent for the tenant's OAuth app; afterwards the browser
    /// returns to <c>returnUrl</c> (with <c>status=connected</c>) or sees Hub's result page. 409 <c>oauth_app_not_configured</c> without an
    /// OAuth app. The body is optional.
    /// </remarks>
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

    /// <summary>Disconnect from Mailchimp.</summary>
    /// <remarks>Removes the list webhooks Hub registered, then forgets the credentials. Audiences and contacts in Mailchimp stay as they are.</remarks>
    public static async Task<NoContent> Disconnect(Tenant tenant, ConnectionService connections, AudienceHooks hooks, CancellationToken cancellationToken)
    {
        // The list webhooks go first, while the credential still works; a failure leaves them in Mailchimp, where their
        // events get 404 (their secrets are forgotten with the connection).
        await hooks.RemoveAllAsync(tenant.Id, cancellationToken);
        await connections.DisconnectAsync(tenant.Id, cancellationToken);
        return TypedResults.NoContent();
    }
}
