using Hub.Core.Storage;
using Hub.Core.Connections;

namespace Hub.Api.Connections;

/// <summary>
/// The tenant's Mailchimp connection. <c>state</c>: not_configured, awaiting_consent, connected,
/// reauthorization_required or disabled; <c>mode</c>: oauth or api_key. <c>apiEndpoint</c>: the account's Marketing API
/// base, with its version (<c>https://us21.api.mailchimp.com/3.0</c>) in both modes. Never carries a secret.
/// </summary>
/// <param name="State">Where the connection stands: what the host should do next.</param>
/// <param name="Mode">How Hub reaches Mailchimp: the tenant's OAuth app or an API key; null before either is set.</param>
/// <param name="Dc">The account's Mailchimp data center, e.g. <c>us21</c>.</param>
/// <param name="ApiEndpoint">The account's Marketing API base, with its version.</param>
/// <param name="AccountName">The Mailchimp account's name.</param>
/// <param name="LoginEmail">The address of the Mailchimp login that consented (OAuth) or owns the key.</param>
/// <param name="ConnectedAt">When the connection was made.</param>
/// <param name="ManagedAudiences">The audiences Hub manages for the tenant (the only ones it writes to).</param>
/// <param name="ClientId">The OAuth app's client id, as handed over.</param>
/// <param name="EndpointUrl">The OAuth app's endpoint URL, as handed over.</param>
/// <param name="AudienceId">The audience handed over with the OAuth app.</param>
/// <param name="Issue">When the handed-over values did not match the account at consent: what did not (in English).</param>
public sealed record ConnectionResponse(
    [OneOf<ConnectionState>] string State,
    [OneOf<ConnectionMode>] string? Mode,
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
/// <param name="ClientId">The OAuth app's client id (required).</param>
/// <param name="ClientSecret">The OAuth app's client secret (required); stored encrypted, never shown again.</param>
/// <param name="EndpointUrl">The account's API endpoint, <c>https://&lt;dc&gt;.api.mailchimp.com/3.0</c> (optional; checked at consent).</param>
/// <param name="AudienceId">The audience the customer hands over (optional): becomes managed at consent.</param>
public sealed record OAuthAppRequest(string? ClientId, string? ClientSecret, string? EndpointUrl, string? AudienceId);

/// <summary>A Mailchimp API key, <c>&lt;hex&gt;-&lt;dc&gt;</c>.</summary>
/// <param name="ApiKey">The Mailchimp API key; stored encrypted, never shown again.</param>
public sealed record ApiKeyRequest(string? ApiKey);

/// <summary>Optional return URL (on an allowed return origin) and page locale (<c>nl</c> or <c>en</c>).</summary>
/// <param name="ReturnUrl">Where the browser goes after consent, on one of the tenant's <c>allowedReturnOrigins</c> (optional).</param>
/// <param name="Locale">The language of Hub's pages: <c>nl</c> or <c>en</c> (optional).</param>
public sealed record ConsentLinkRequestBody(string? ReturnUrl, [OneOf("nl", "en")] string? Locale);

/// <summary>The single-use link to hand to the customer's browser.</summary>
/// <param name="Url">The link to open in the customer's browser (single use).</param>
/// <param name="ExpiresAt">When the link stops working.</param>
public sealed record ConsentLinkResponse(string Url, DateTimeOffset ExpiresAt);
