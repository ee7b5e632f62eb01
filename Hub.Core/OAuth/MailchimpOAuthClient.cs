using System.Net.Http.Headers;
using System.Text.Json;
using Duende.IdentityModel.Client;
using Hub.Core.Connections;
using Hub.Core.Mailchimp;
using Hub.Core.Security;
using Microsoft.Extensions.Options;

namespace Hub.Core.OAuth;

/// <summary>What Mailchimp's metadata endpoint says about a token.</summary>
public sealed record MailchimpMetadata(string DataCenter, string? ApiEndpoint, string AccountName, string? LoginEmail);

/// <summary>Mailchimp's OAuth endpoints: the authorize URL, the code exchange and the metadata call.</summary>
public sealed class MailchimpOAuthClient(IHttpClientFactory httpClients, IOptions<MailchimpOptions> options)
{
    public string AuthorizeUrl(string clientId, string redirectUri, string state) =>
        new RequestUrl(options.Value.AuthorizeUrl).CreateAuthorizeUrl(clientId: clientId, responseType: "code", redirectUri: redirectUri, state: state);

    /// <summary>Exchanges the code (form POST with client id and secret). Null token with a reason on failure.</summary>
    public async Task<(Secret? Token, string? Error)> ExchangeCodeAsync(string clientId, Secret clientSecret, string code, string redirectUri, CancellationToken cancellationToken)
    {
        var client = httpClients.CreateClient(MailchimpAccountClient.HttpClientName);
        var response = await client.RequestAuthorizationCodeTokenAsync(new AuthorizationCodeTokenRequest
        {
            Address = options.Value.TokenUrl,
            ClientId = clientId,
            ClientSecret = clientSecret.Reveal(),
            ClientCredentialStyle = ClientCredentialStyle.PostBody,
            Code = code,
            RedirectUri = redirectUri,
        }, cancellationToken);

        if (response.IsError || string.IsNullOrEmpty(response.AccessToken))
        {
            // Error codes only (invalid_grant, invalid_client, ...): never the response body, which could echo input.
            var reason = response.ErrorType == ResponseErrorType.Exception ? "Mailchimp could not be reached" : $"Mailchimp answered {(int)response.HttpStatusCode} {response.Error}";
            return (null, reason);
        }

        // Mailchimp tokens never expire; expires_in 0 (or absent) means exactly that, so there is nothing to refresh.
        return (new Secret(response.AccessToken), null);
    }

    /// <summary>Calls the metadata endpoint with <c>Authorization: OAuth &lt;token&gt;</c>; an <c>error</c> in a 200 body is a failure too.</summary>
    public async Task<(MailchimpMetadata? Metadata, string? Error)> GetMetadataAsync(Secret token, CancellationToken cancellationToken)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, options.Value.MetadataUrl);
            request.Headers.Authorization = new AuthenticationHeaderValue("OAuth", token.Reveal());
            using var response = await httpClients.CreateClient(MailchimpAccountClient.HttpClientName).SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return (null, $"Mailchimp's metadata endpoint answered {(int)response.StatusCode}");
            }

            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            var root = body.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, "Mailchimp's metadata endpoint did not answer with an object");
            }

            if (root.TryGetProperty("error", out var error))
            {
                return (null, $"Mailchimp's metadata endpoint answered error {error}");
            }

            if (!root.TryGetProperty("dc", out var dc) || dc.GetString() is not { Length: > 0 } dataCenter)
            {
                return (null, "Mailchimp's metadata endpoint did not name a data center");
            }

            string? loginEmail = root.TryGetProperty("login", out var login) && login.ValueKind == JsonValueKind.Object && login.TryGetProperty("login_email", out var email)
                ? email.GetString()
                : null;
            return (new MailchimpMetadata(
                dataCenter,
                root.TryGetProperty("api_endpoint", out var endpoint) ? endpoint.GetString() : null,
                root.TryGetProperty("accountname", out var name) ? name.GetString() ?? "" : "",
                loginEmail), null);
        }
        catch (Exception exception) when (exception is HttpRequestException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return (null, "Mailchimp's metadata endpoint could not be reached");
        }
    }
}
