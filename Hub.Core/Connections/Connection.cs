using Hub.Core.Storage;

namespace Hub.Core.Connections;

/// <summary>Where a tenant's Mailchimp connection stands.</summary>
public enum ConnectionState
{
    NotConfigured,
    AwaitingConsent,
    Connected,
    ReauthorizationRequired,
    Disabled,
}

/// <summary>How Hub authenticates to the tenant's Mailchimp account.</summary>
public enum ConnectionMode
{
    [SnakeCaseName("oauth")]
    OAuth,
    ApiKey,
}

/// <summary>A tenant's Mailchimp connection as anyone may see it: never a secret.</summary>
public sealed record Connection
{
    public required ConnectionState State { get; init; }
    public ConnectionMode? Mode { get; init; }
    public string? ClientId { get; init; }
    public string? EndpointUrl { get; init; }
    public string? AudienceId { get; init; }
    public string? DataCenter { get; init; }
    public string? ApiEndpoint { get; init; }
    public string? AccountId { get; init; }
    public string? AccountName { get; init; }
    public string? LoginEmail { get; init; }
    public DateTimeOffset? ConnectedAt { get; init; }

    /// <summary>What did not match at consent (endpoint data center or audience), in words; null when all matched.</summary>
    public string? Issue { get; init; }

    public IReadOnlyList<string> ManagedAudiences { get; init; } = [];

    public static Connection NotConfigured { get; } = new() { State = ConnectionState.NotConfigured };
}

/// <summary>The four values a customer hands over for an OAuth app. Endpoint URL and audience id are optional.</summary>
public sealed record OAuthAppSettings(string? ClientId, Security.Secret? ClientSecret, string? EndpointUrl, string? AudienceId);

/// <summary>What Mailchimp says about the account behind a credential.</summary>
public sealed record MailchimpAccount(string DataCenter, string ApiEndpoint, string AccountId, string AccountName, string? LoginEmail);

/// <summary>Outcome of handing over an API key.</summary>
public abstract record ApiKeyResult
{
    private ApiKeyResult()
    {
    }

    public sealed record Connected(Connection Connection) : ApiKeyResult;

    /// <summary>Not of the form <c>&lt;hex&gt;-&lt;dc&gt;</c>.</summary>
    public sealed record Malformed(string Detail) : ApiKeyResult;

    /// <summary>Mailchimp refused the key (401/403) or answered something that is not an account.</summary>
    public sealed record Rejected(string Detail) : ApiKeyResult;

    /// <summary>Mailchimp could not be reached or failed (5xx, timeout); nothing is known about the key.</summary>
    public sealed record Unavailable(string Detail) : ApiKeyResult;
}
