using Hub.Core.Mailchimp;
using Hub.Core.Security;
using Microsoft.Extensions.Options;

namespace Hub.Core.Connections;

/// <summary>
/// The few Marketing API calls a connection needs before it exists: <c>GET /ping</c>, <c>GET /</c>
/// (account id, name, login) and <c>GET /lists/{id}</c> (does the handed-over audience belong to the
/// account). They go through the one Mailchimp client, with its resilience pipeline and concurrency cap.
/// </summary>
public sealed class MailchimpAccountClient(MailchimpClient mailchimp, IOptions<MailchimpOptions> options)
{
    /// <summary>Named HttpClient for Mailchimp's OAuth endpoints (login.mailchimp.com), which are not the Marketing API.</summary>
    public const string HttpClientName = "hub-mailchimp-oauth";

    /// <summary>Pings, then reads the account. Failures come back as <see cref="ApiKeyResult.Rejected"/> or <see cref="ApiKeyResult.Unavailable"/>.</summary>
    public async Task<(MailchimpAccount? Account, ApiKeyResult? Failure)> ReadAccountAsync(
        MailchimpAuthKind kind, Secret credential, string dataCenter, CancellationToken cancellationToken)
    {
        var unverified = Unverified(kind, credential, dataCenter);
        var ping = await mailchimp.PingAsync(unverified, cancellationToken);
        if (!ping.IsSuccess)
        {
            return (null, Failure(ping.Error));
        }

        var account = await mailchimp.GetAccountAsync(unverified, cancellationToken);
        if (!account.IsSuccess)
        {
            return (null, Failure(account.Error));
        }

        if (string.IsNullOrEmpty(account.Value.AccountId))
        {
            return (null, new ApiKeyResult.Rejected("Mailchimp did not answer with an account."));
        }

        return (new MailchimpAccount(
            dataCenter, options.Value.ApiBase(dataCenter).ToString().TrimEnd('/'), account.Value.AccountId, account.Value.AccountName ?? "", account.Value.Email), null);
    }

    /// <summary>True when the audience belongs to the account, false when Mailchimp does not know it there, null when Mailchimp could not tell.</summary>
    public async Task<bool?> AudienceExistsAsync(MailchimpAuthKind kind, Secret credential, string dataCenter, string audienceId, CancellationToken cancellationToken)
    {
        var list = await mailchimp.GetListAsync(Unverified(kind, credential, dataCenter), audienceId, cancellationToken);
        return list.IsSuccess ? true : list.Error.Code == MailchimpErrorCodes.NotFound ? false : null;
    }

    // Not yet tied to a tenant (a 401 here must not flip any connection) nor to a known account id.
    private static MailchimpCredential Unverified(MailchimpAuthKind kind, Secret credential, string dataCenter) =>
        new(kind, credential, dataCenter, $"{dataCenter}:unverified");

    private static ApiKeyResult Failure(MailchimpError error) => error.Code switch
    {
        MailchimpErrorCodes.ReauthorizationRequired or MailchimpErrorCodes.PlanLimit => new ApiKeyResult.Rejected(
            "Mailchimp refused the credential: it may be invalid or revoked, or it belongs to another data center."),
        MailchimpErrorCodes.NotFound => new ApiKeyResult.Rejected("Mailchimp does not know this data center."),
        MailchimpErrorCodes.MailchimpUnavailable => new ApiKeyResult.Unavailable("Mailchimp could not be reached; nothing was stored. Try again later."),
        _ => new ApiKeyResult.Rejected($"Mailchimp refused the credential: {error.Title}."),
    };
}
