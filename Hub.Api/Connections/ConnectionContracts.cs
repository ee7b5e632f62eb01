using Hub.Core.Storage;
using Hub.Core.Connections;

namespace Hub.Api.Connections;

/// <summary>
/// The tenant's Mailchimp connection. <c>state</c>: not_configured, awaiting_consent, connected,
/// reauthorization_required or disabled; <c>mode</c>: oauth or api_key. <c>apiEndpoint</c>: the account's Marketing API
/// base, with its version (<c>https://us21.api.mailchimp.com/3.0</c>) in both modes. Never carries a secret.
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
        VersionedApiBase(connection.ApiEndpoint),
        connection.AccountName,
        connection.LoginEmail,
        connection.ConnectedAt,
        connection.ManagedAudiences,
        connection.ClientId,
        connection.EndpointUrl,
        connection.AudienceId,
        connection.Issue);

    /// <summary>
    /// OAuth metadata names the API's host (metadata <c>api_endpoint</c>, e.g. <c>https://us6.api.mailchimp.com</c>, with no <c>/3.0</c>: FACTS.md, OAuth metadata) while an
    /// API-key connection stores the base Hub calls (<c>…/3.0</c>): shown the same way, with the version.
    /// </summary>
    private static string? VersionedApiBase(string? endpoint) =>
        endpoint is null ? null : endpoint.TrimEnd('/') is var trimmed && trimmed.EndsWith("/3.0", StringComparison.Ordinal) ? trimmed : trimmed + "/3.0";
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
