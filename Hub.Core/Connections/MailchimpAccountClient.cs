using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hub.Core.Mailchimp;
using Hub.Core.Security;
using Microsoft.Extensions.Options;

namespace Hub.Core.Connections;

/// <summary>
/// The few Marketing API calls a connection needs before it exists: <c>GET /ping</c>, <c>GET /</c>
/// (account id, name, login) and <c>GET /lists/{id}</c> (does the handed-over audience belong to the account).
/// </summary>
public sealed class MailchimpAccountClient(IHttpClientFactory httpClients, IOptions<MailchimpOptions> options)
{
    public const string HttpClientName = "hub-mailchimp-connect";

    public static AuthenticationHeaderValue Authorization(MailchimpAuthKind kind, Secret credential) => kind == MailchimpAuthKind.ApiKey
        ? new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("hub:" + credential.Reveal())))
        : new AuthenticationHeaderValue("Bearer", credential.Reveal());

    /// <summary>Pings, then reads the account. Failures come back as <see cref="ApiKeyResult.Rejected"/> or <see cref="ApiKeyResult.Unavailable"/>.</summary>
    public async Task<(MailchimpAccount? Account, ApiKeyResult? Failure)> ReadAccountAsync(
        MailchimpAuthKind kind, Secret credential, string dataCenter, CancellationToken cancellationToken)
    {
        var apiBase = options.Value.ApiBase(dataCenter);
        var auth = Authorization(kind, credential);
        try
        {
            using (var ping = await SendAsync(new Uri(apiBase, "ping"), auth, cancellationToken))
            {
                if (Failure(ping.StatusCode) is { } failure)
                {
                    return (null, failure);
                }
            }

            using var root = await SendAsync(apiBase, auth, cancellationToken);
            if (Failure(root.StatusCode) is { } rootFailure)
            {
                return (null, rootFailure);
            }

            using var body = JsonDocument.Parse(await root.Content.ReadAsStringAsync(cancellationToken));
            var account = body.RootElement;
            if (account.ValueKind != JsonValueKind.Object
                || !account.TryGetProperty("account_id", out var id) || id.GetString() is not { Length: > 0 } accountId)
            {
                return (null, new ApiKeyResult.Rejected("Mailchimp did not answer with an account."));
            }

            return (new MailchimpAccount(
                dataCenter,
                apiBase.ToString().TrimEnd('/'),
                accountId,
                account.TryGetProperty("account_name", out var name) ? name.GetString() ?? "" : "",
                account.TryGetProperty("email", out var email) ? email.GetString() : null), null);
        }
        catch (Exception exception) when (exception is HttpRequestException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return (null, new ApiKeyResult.Unavailable("Mailchimp could not be reached; nothing was stored. Try again later."));
        }
    }

    /// <summary>True when the audience belongs to the account, false when Mailchimp does not know it there, null when Mailchimp could not tell.</summary>
    public async Task<bool?> AudienceExistsAsync(MailchimpAuthKind kind, Secret credential, string dataCenter, string audienceId, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await SendAsync(
                new Uri(options.Value.ApiBase(dataCenter), "lists/" + Uri.EscapeDataString(audienceId) + "?fields=id"),
                Authorization(kind, credential),
                cancellationToken);
            return response.IsSuccessStatusCode ? true : response.StatusCode == HttpStatusCode.NotFound ? false : null;
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private async Task<HttpResponseMessage> SendAsync(Uri uri, AuthenticationHeaderValue auth, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Authorization = auth;
        return await httpClients.CreateClient(HttpClientName).SendAsync(request, cancellationToken);
    }

    private static ApiKeyResult? Failure(HttpStatusCode status) => (int)status switch
    {
        >= 200 and < 300 => null,
        401 or 403 => new ApiKeyResult.Rejected("Mailchimp refused the credential: it may be invalid or revoked, or it belongs to another data center."),
        404 => new ApiKeyResult.Rejected("Mailchimp does not know this data center."),
        _ => new ApiKeyResult.Unavailable($"Mailchimp answered {(int)status}; nothing was stored. Try again later."),
    };
}
