using Hub.Core.Storage;
using Hub.Core.Connections;

namespace Hub.Api.Connections;

/// <summary>
/// The tenant's Mailchimp connection. <c>state</c>: not_configured, awaiting_consent, connected,
/// reauthorization_required or disabled; <c>mode</c>: oauth or api_key. Never carries a secret.
/// </summary>
public sealed record ConnectionResponse(
    string State,
    string? Mode,
    string? Dc,
    string? ApiEndpoint,
    string? AccountName,
    string? LoginEmail,
    DateTimeOffset? ConnectedAt,
    IReadOnlyList<string> ManagedAudiences,
    string? ClientId,
    string? EndpointUrl,
    string? AudienceId,
    string? Issue)
{
    public static ConnectionResponse From(Connection connection) => new(
        SnakeCase<ConnectionState>.ToText(connection.State),
        connection.Mode is { } mode ? SnakeCase<ConnectionMode>.ToText(mode) : null,
        connection.DataCenter,
        connection.ApiEndpoint,
        connection.AccountName,
        connection.LoginEmail,
        connection.ConnectedAt,
        connection.ManagedAudiences,
        connection.ClientId,
        connection.EndpointUrl,
        connection.AudienceId,
        connection.Issue);
}

/// <summary>
/// The four values of a Mailchimp OAuth app: client id and secret (required), endpoint URL
/// (<c>https://&lt;dc&gt;.api.mailchimp.com/3.0</c>, optional) and audience id (optional; becomes managed at consent).
/// </summary>
public sealed record OAuthAppRequest(string? ClientId, string? ClientSecret, string? EndpointUrl, string? AudienceId);

/// <summary>A Mailchimp API key, <c>&lt;hex&gt;-&lt;dc&gt;</c>.</summary>
public sealed record ApiKeyRequest(string? ApiKey);

/// <summary>Optional return URL (on an allowed return origin) and page locale (<c>nl</c> or <c>en</c>).</summary>
public sealed record ConsentLinkRequestBody(string? ReturnUrl, string? Locale);

/// <summary>The single-use link to hand to the customer's browser.</summary>
public sealed record ConsentLinkResponse(string Url, DateTimeOffset ExpiresAt);
