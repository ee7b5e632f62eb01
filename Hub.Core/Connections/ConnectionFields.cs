using System.Globalization;
using Hub.Core.Storage;
using StackExchange.Redis;

namespace Hub.Core.Connections;

/// <summary>Field names and wire values of the connection hash.</summary>
internal static class ConnectionFields
{
    public const string State = "state";
    public const string Mode = "mode";
    public const string ClientId = "clientId";
    public const string EndpointUrl = "endpointUrl";
    public const string AudienceId = "audienceId";
    public const string DataCenter = "dc";
    public const string ApiEndpoint = "apiEndpoint";
    public const string AccountId = "accountId";
    public const string AccountName = "accountName";
    public const string LoginEmail = "loginEmail";
    public const string ConnectedAt = "connectedAt";
    public const string Issue = "issue";

    /// <summary><c>not_configured</c>, <c>awaiting_consent</c>, <c>connected</c>, <c>reauthorization_required</c> or <c>disabled</c> (shown, never stored).</summary>
    public static string Name(ConnectionState state) => SnakeCase<ConnectionState>.ToText(state);

    /// <summary><c>oauth</c> or <c>api_key</c>.</summary>
    public static string Name(ConnectionMode mode) => SnakeCase<ConnectionMode>.ToText(mode);

    public static Connection Read(HashEntry[] entries, IReadOnlyList<string> managedAudiences)
    {
        if (entries.Length == 0)
        {
            return Connection.NotConfigured with { ManagedAudiences = managedAudiences };
        }

        var fields = entries.ToDictionary(entry => entry.Name.ToString(), entry => entry.Value.ToString(), StringComparer.Ordinal);
        string? Get(string name) => fields.TryGetValue(name, out var value) && value.Length > 0 ? value : null;
        return new Connection
        {
            // Disabled comes from the tenant, never from the hash; anything else unknown reads as not configured.
            State = SnakeCase<ConnectionState>.TryParse(Get(State), out var state) && state != ConnectionState.Disabled ? state : ConnectionState.NotConfigured,
            Mode = SnakeCase<ConnectionMode>.TryParse(Get(Mode), out var mode) ? mode : null,
            ClientId = Get(ClientId),
            EndpointUrl = Get(EndpointUrl),
            AudienceId = Get(AudienceId),
            DataCenter = Get(DataCenter),
            ApiEndpoint = Get(ApiEndpoint),
            AccountId = Get(AccountId),
            AccountName = Get(AccountName),
            LoginEmail = Get(LoginEmail),
            ConnectedAt = Get(ConnectedAt) is { } at ? DateTimeOffset.Parse(at, CultureInfo.InvariantCulture) : null,
            Issue = Get(Issue),
            ManagedAudiences = managedAudiences,
        };
    }

    public static HashEntry[] Account(MailchimpAccount account, DateTimeOffset connectedAt) =>
    [
        new(DataCenter, account.DataCenter),
        new(ApiEndpoint, account.ApiEndpoint),
        new(AccountId, account.AccountId),
        new(AccountName, account.AccountName),
        new(LoginEmail, account.LoginEmail ?? ""),
        new(ConnectedAt, connectedAt.ToString("O", CultureInfo.InvariantCulture)),
    ];
}
