using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Hub.Core.Diagnostics;
using Hub.Core.Mailchimp;
using Hub.Core.Security;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Hub.Core.Webhooks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Core.Connections;

/// <summary>
/// Each tenant's Mailchimp connection: a Redis hash with state, mode and account, secrets in
/// <see cref="TenantSecrets"/>, and the set of managed audiences Hub may write to.
/// </summary>
public sealed partial class ConnectionService(
    IConnectionMultiplexer redis,
    RedisKeys keys,
    TenantSecrets secrets,
    MailchimpAccountClient mailchimp,
    IWebhookPublisher webhooks,
    IOptions<MailchimpOptions> mailchimpOptions,
    TimeProvider time,
    ILogger<ConnectionService> logger) : ITenantDataOwner
{
    public const int MaxClientIdLength = 200;
    public const int MaxSecretLength = 500;

    private static readonly RedisScript MarkReauthorizationScript = RedisScript.Load("Connections", "mark_reauthorization_required");

    private static readonly RedisValue[] CredentialSecretNames = [SecretNames.MailchimpApiKey, SecretNames.MailchimpAccessToken];
    private static readonly Regex ApiKeyPattern = ApiKeyRegex();
    private static readonly Regex AudienceIdPattern = AudienceIdRegex();

    private IDatabase Db => redis.GetDatabase();

    public async Task<Connection> GetAsync(Tenant tenant, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("connection.get");
        var read = Db.HashGetAllAsync(keys.Connection(tenant.Id));
        var audiences = Db.SetMembersAsync(keys.ManagedAudiences(tenant.Id));
        var connection = ConnectionFields.Read(await read, (await audiences).Select(value => value.ToString()).Order(StringComparer.Ordinal).ToList());
        return tenant.Enabled ? connection : connection with { State = ConnectionState.Disabled };
    }

    /// <summary>Whether the tenant's credential was refused by Mailchimp (401) and awaits a new consent or key: its webhooks and data stay.</summary>
    public async Task<bool> IsAwaitingReauthorizationAsync(TenantId tenant, CancellationToken cancellationToken) =>
        await Db.HashGetAsync(keys.Connection(tenant), ConnectionFields.State) == ConnectionFields.Name(ConnectionState.ReauthorizationRequired);

    /// <summary>Validation errors keyed by JSON field; empty when the settings are acceptable.</summary>
    public Dictionary<string, string[]> Validate(OAuthAppSettings settings)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(settings.ClientId) || settings.ClientId.Length > MaxClientIdLength || settings.ClientId.Any(char.IsControl))
        {
            errors["clientId"] = [$"The client id of the Mailchimp app is required (at most {MaxClientIdLength} characters)."];
        }

        if (settings.ClientSecret is null || settings.ClientSecret.Reveal().Length > MaxSecretLength)
        {
            errors["clientSecret"] = [$"The client secret of the Mailchimp app is required (at most {MaxSecretLength} characters)."];
        }

        if (!string.IsNullOrEmpty(settings.EndpointUrl) && DataCenterOf(settings.EndpointUrl) is null)
        {
            errors["endpointUrl"] = [$"Must be Mailchimp's API endpoint, {mailchimpOptions.Value.ApiBaseTemplate.Replace("{dc}", "<dc>", StringComparison.Ordinal)}."];
        }

        if (!string.IsNullOrEmpty(settings.AudienceId) && !AudienceIdPattern.IsMatch(settings.AudienceId))
        {
            errors["audienceId"] = ["An audience id has 1 to 50 letters and digits."];
        }

        return errors;
    }

    /// <summary>
    /// The data center of an endpoint URL when it matches <see cref="MailchimpOptions.ApiBaseTemplate"/>
    /// exactly (a trailing slash aside); null for any other host, so a tenant cannot point Hub elsewhere.
    /// </summary>
    public string? DataCenterOf(string endpointUrl)
    {
        var template = mailchimpOptions.Value.ApiBaseTemplate.TrimEnd('/');
        var pattern = "^" + Regex.Escape(template).Replace(Regex.Escape("{dc}"), "(?<dc>[a-z]{2,4}[0-9]{1,3})", StringComparison.Ordinal) + "/?$";
        var match = Regex.Match(endpointUrl.Trim(), pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        return match.Success ? match.Groups["dc"].Value.ToLowerInvariant() : null;
    }

    /// <summary>Stores a validated OAuth app and forgets any earlier credential: the tenant now awaits consent.</summary>
    public async Task<Connection> SetOAuthAppAsync(Tenant tenant, OAuthAppSettings settings, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("connection.set-oauth-app");
        var transaction = Db.CreateTransaction();
        _ = transaction.KeyDeleteAsync(keys.Connection(tenant.Id));
        _ = transaction.HashSetAsync(keys.Connection(tenant.Id),
            [
                new(ConnectionFields.State, ConnectionFields.Name(ConnectionState.AwaitingConsent)),
                new(ConnectionFields.Mode, ConnectionFields.Name(ConnectionMode.OAuth)),
                new(ConnectionFields.ClientId, settings.ClientId!.Trim()),
                new(ConnectionFields.EndpointUrl, settings.EndpointUrl?.Trim() ?? ""),
                new(ConnectionFields.AudienceId, settings.AudienceId ?? ""),
            ]);
        _ = transaction.HashDeleteAsync(keys.TenantSecrets(tenant.Id), [SecretNames.MailchimpAccessToken, SecretNames.MailchimpApiKey]);
        _ = secrets.SetAsync(transaction, tenant.Id, SecretNames.MailchimpClientSecret, settings.ClientSecret!);
        await transaction.ExecuteCheckedAsync();
        LogOAuthAppSet(logger, tenant.Id.ToString());
        return await GetAsync(tenant, cancellationToken);
    }

    /// <summary>Verifies an API key with Mailchimp (<c>GET /ping</c>, <c>GET /</c>) and stores it only when it works.</summary>
    public async Task<ApiKeyResult> SetApiKeyAsync(Tenant tenant, Secret apiKey, CancellationToken cancellationToken)
    {
        var value = apiKey.Reveal().Trim();
        if (!ApiKeyPattern.IsMatch(value))
        {
            return new ApiKeyResult.Malformed("A Mailchimp API key looks like <32 hex characters>-<data center>, e.g. 0123456789abcdef0123456789abcdef-us6.");
        }

        var key = new Secret(value);
        var dataCenter = value[(value.LastIndexOf('-') + 1)..];
        var (account, failure) = await mailchimp.ReadAccountAsync(MailchimpAuthKind.ApiKey, key, dataCenter, cancellationToken);
        if (account is null)
        {
            LogApiKeyRefused(logger, tenant.Id.ToString(), dataCenter);
            return failure!;
        }

        using var span = HubTelemetry.StartRedis("connection.set-api-key");
        var transaction = Db.CreateTransaction();
        _ = transaction.KeyDeleteAsync(keys.Connection(tenant.Id));
        _ = transaction.HashSetAsync(keys.Connection(tenant.Id),
            [
                new(ConnectionFields.State, ConnectionFields.Name(ConnectionState.Connected)),
                new(ConnectionFields.Mode, ConnectionFields.Name(ConnectionMode.ApiKey)),
                .. ConnectionFields.Account(account, time.GetUtcNow()),
            ]);
        _ = transaction.HashDeleteAsync(keys.TenantSecrets(tenant.Id), [SecretNames.MailchimpAccessToken, SecretNames.MailchimpClientSecret]);
        _ = secrets.SetAsync(transaction, tenant.Id, SecretNames.MailchimpApiKey, key);
        ScheduleAudienceHooks(transaction, tenant.Id);
        await transaction.ExecuteCheckedAsync();
        LogConnected(logger, tenant.Id.ToString(), "api_key", dataCenter);
        await webhooks.PublishAsync(tenant.Id, WebhookEvents.ConnectionConnected, ConnectedEvent(ConnectionMode.ApiKey, account, null, null), cancellationToken);
        return new ApiKeyResult.Connected(await GetAsync(tenant, cancellationToken));
    }

    /// <summary>
    /// Stores the outcome of a consent: the token, the account, and the audience when it matched.
    /// False (nothing stored) when the tenant changed its OAuth app while the browser was at Mailchimp.
    /// </summary>
    public async Task<bool> CompleteOAuthAsync(
        TenantId tenant, string clientId, Secret accessToken, MailchimpAccount account, string? managedAudienceId, string? issue, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("connection.complete-oauth");
        var stored = await StoreTransactions.RetryOnConflictAsync(async () =>
        {
            var transaction = Db.CreateTransaction();
            var sameApp = transaction.AddCondition(StoreCondition.HashEqual(keys.Connection(tenant), ConnectionFields.ClientId, clientId));
            var oauth = transaction.AddCondition(StoreCondition.HashEqual(keys.Connection(tenant), ConnectionFields.Mode, ConnectionFields.Name(ConnectionMode.OAuth)));
            _ = transaction.HashSetAsync(keys.Connection(tenant),
                [
                    new(ConnectionFields.State, ConnectionFields.Name(ConnectionState.Connected)),
                    new(ConnectionFields.Issue, issue ?? ""),
                    .. ConnectionFields.Account(account, time.GetUtcNow()),
                ]);
            _ = secrets.SetAsync(transaction, tenant, SecretNames.MailchimpAccessToken, accessToken);
            if (managedAudienceId is not null)
            {
                _ = transaction.SetAddAsync(keys.ManagedAudiences(tenant), managedAudienceId);
            }

            ScheduleAudienceHooks(transaction, tenant);
            return await transaction.ExecuteCheckedAsync(sameApp, oauth);
        });
        if (!stored)
        {
            return false;
        }

        LogConnected(logger, tenant.ToString(), "oauth", account.DataCenter);
        await webhooks.PublishAsync(tenant, WebhookEvents.ConnectionConnected, ConnectedEvent(ConnectionMode.OAuth, account, managedAudienceId, issue), cancellationToken);
        return true;
    }

    /// <summary>Forgets every Mailchimp credential of the tenant. Audiences in Mailchimp stay as they are.</summary>
    public async Task DisconnectAsync(TenantId tenant, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("connection.disconnect");
        var transaction = Db.CreateTransaction();
        _ = transaction.KeyDeleteAsync(keys.Connection(tenant));
        _ = transaction.HashDeleteAsync(keys.TenantSecrets(tenant), [SecretNames.MailchimpAccessToken, SecretNames.MailchimpApiKey, SecretNames.MailchimpClientSecret]);
        ScheduleAudienceHooks(transaction, tenant);
        await transaction.ExecuteCheckedAsync();
        LogDisconnected(logger, tenant.ToString());
    }

    /// <summary>The credential other features call Mailchimp with; null unless the connection is <c>connected</c>.</summary>
    public async Task<MailchimpCredential?> GetCredentialAsync(TenantId tenant, CancellationToken cancellationToken)
    {
        // Both reads in one round trip: the connection names the mode, which picks the secret to decrypt.
        var fieldsRead = Db.HashGetAsync(keys.Connection(tenant), [ConnectionFields.State, ConnectionFields.Mode, ConnectionFields.DataCenter, ConnectionFields.AccountId]);
        var secretsRead = secrets.ReadProtectedAsync(tenant, CredentialSecretNames);
        var (fields, stored) = (await fieldsRead, await secretsRead);
        if (fields[0] != ConnectionFields.Name(ConnectionState.Connected) || fields[2].IsNullOrEmpty)
        {
            return null;
        }

        var kind = fields[1] == ConnectionFields.Name(ConnectionMode.ApiKey) ? MailchimpAuthKind.ApiKey : MailchimpAuthKind.OAuth;
        var secret = kind == MailchimpAuthKind.ApiKey
            ? secrets.Unprotect(tenant, SecretNames.MailchimpApiKey, stored[0])
            : secrets.Unprotect(tenant, SecretNames.MailchimpAccessToken, stored[1]);
        return secret is null ? null : new MailchimpCredential(kind, secret, fields[2].ToString(), $"{fields[2]}:{fields[3]}", tenant);
    }

    /// <summary>
    /// Mailchimp answered 401 for this tenant: flips <c>connected</c> to <c>reauthorization_required</c>
    /// atomically and sends <c>connection.revoked</c> once. False when it was not connected (already flipped).
    /// </summary>
    public async Task<bool> MarkReauthorizationRequiredAsync(TenantId tenant, CancellationToken cancellationToken)
    {
        var flipped = (long)await MarkReauthorizationScript.EvaluateAsync(Db, [keys.Connection(tenant)]) == 1;
        if (flipped)
        {
            HubTelemetry.Connections.Revoked.Add(1);
            LogRevoked(logger, tenant.ToString());
            var fields = await Db.HashGetAsync(keys.Connection(tenant), [ConnectionFields.Mode, ConnectionFields.DataCenter]);
            await webhooks.PublishAsync(tenant, WebhookEvents.ConnectionRevoked, Event(new JsonObject
            {
                ["state"] = ConnectionFields.Name(ConnectionState.ReauthorizationRequired),
                ["mode"] = fields[0].ToString(),
                ["dc"] = fields[1].ToString(),
            }), cancellationToken);
        }

        return flipped;
    }

    public async Task<bool> IsManagedAsync(TenantId tenant, string audienceId, CancellationToken cancellationToken) =>
        await Db.SetContainsAsync(keys.ManagedAudiences(tenant), audienceId);

    /// <summary>Marks an existing audience (handed over or adopted) as one Hub may write to. False when it already was.</summary>
    public async Task<bool> AddManagedAudienceAsync(TenantId tenant, string audienceId, CancellationToken cancellationToken)
    {
        var transaction = Db.CreateTransaction();
        var added = transaction.SetAddAsync(keys.ManagedAudiences(tenant), audienceId);
        ScheduleAudienceHooks(transaction, tenant);
        await transaction.ExecuteCheckedAsync();
        return await added;
    }

    /// <summary>Marks an audience Hub just created as managed, and as Hub's own: the only kind Hub deletes.</summary>
    public async Task AddCreatedAudienceAsync(TenantId tenant, string audienceId, CancellationToken cancellationToken)
    {
        var transaction = Db.CreateTransaction();
        _ = transaction.SetAddAsync(keys.ManagedAudiences(tenant), audienceId);
        _ = transaction.SetAddAsync(keys.CreatedAudiences(tenant), audienceId);
        ScheduleAudienceHooks(transaction, tenant);
        await transaction.ExecuteCheckedAsync();
    }

    /// <summary>Hub stops writing to the audience and forgets whether it created it. False when it was not managed.</summary>
    public async Task<bool> RemoveManagedAudienceAsync(TenantId tenant, string audienceId, CancellationToken cancellationToken)
    {
        var transaction = Db.CreateTransaction();
        var removed = transaction.SetRemoveAsync(keys.ManagedAudiences(tenant), audienceId);
        _ = transaction.SetRemoveAsync(keys.CreatedAudiences(tenant), audienceId);
        ScheduleAudienceHooks(transaction, tenant);
        await transaction.ExecuteCheckedAsync();
        return await removed;
    }

    /// <summary>
    /// In the same transaction as a change of the managed audiences or of the connection: the tenant's list webhooks are due
    /// to be brought in line with it now (Hub.Core/Events registers and removes them; nothing is lost if this replica dies).
    /// </summary>
    private void ScheduleAudienceHooks(ITransaction transaction, TenantId tenant) =>
        _ = transaction.SortedSetAddAsync(keys.AudienceHooksDue(RedisKeys.ShardOf(tenant)), tenant.ToString(), time.GetUtcNow().ToUnixTimeMilliseconds());

    /// <summary>Whether Hub created the audience itself (recorded since Hub tells created from adopted audiences).</summary>
    public async Task<bool> IsCreatedByHubAsync(TenantId tenant, string audienceId, CancellationToken cancellationToken) =>
        await Db.SetContainsAsync(keys.CreatedAudiences(tenant), audienceId);

    public async Task<IReadOnlyList<string>> ListCreatedAudiencesAsync(TenantId tenant, CancellationToken cancellationToken) =>
        (await Db.SetMembersAsync(keys.CreatedAudiences(tenant))).Select(value => value.ToString()).ToList();

    /// <summary>The audience id handed over with the tenant's OAuth app (AuditCase's "Audience ID"); null when none was.</summary>
    public async Task<string?> HandedOverAudienceAsync(TenantId tenant, CancellationToken cancellationToken) =>
        await Db.HashGetAsync(keys.Connection(tenant), ConnectionFields.AudienceId) is { IsNullOrEmpty: false } audienceId ? audienceId.ToString() : null;

    public async Task<IReadOnlyList<string>> ListManagedAudiencesAsync(TenantId tenant, CancellationToken cancellationToken) =>
        (await Db.SetMembersAsync(keys.ManagedAudiences(tenant))).Select(value => value.ToString()).Order(StringComparer.Ordinal).ToList();

    public async Task DeleteTenantDataAsync(TenantId tenant, CancellationToken cancellationToken) =>
        await Db.KeyDeleteAsync([keys.Connection(tenant), keys.ManagedAudiences(tenant), keys.CreatedAudiences(tenant)]);

    /// <summary>The client id and secret of the tenant's OAuth app, when one is configured.</summary>
    public async Task<(string ClientId, Secret ClientSecret, Connection Connection)?> GetOAuthAppAsync(Tenant tenant, CancellationToken cancellationToken)
    {
        var connection = await GetAsync(tenant, cancellationToken);
        if (connection.Mode != ConnectionMode.OAuth || connection.ClientId is null
            || await secrets.GetAsync(tenant.Id, SecretNames.MailchimpClientSecret) is not { } clientSecret)
        {
            return null;
        }

        return (connection.ClientId, clientSecret, connection);
    }

    internal static JsonElement Event(JsonObject data) => JsonSerializer.SerializeToElement(data, HubJsonContext.Default.JsonObject);

    private static JsonElement ConnectedEvent(ConnectionMode mode, MailchimpAccount account, string? audienceId, string? issue) => Event(new JsonObject
    {
        ["state"] = ConnectionFields.Name(ConnectionState.Connected),
        ["mode"] = ConnectionFields.Name(mode),
        ["dc"] = account.DataCenter,
        ["accountName"] = account.AccountName,
        ["loginEmail"] = account.LoginEmail,
        ["managedAudienceId"] = audienceId,
        ["issue"] = issue,
    });

    [GeneratedRegex("^[0-9a-f]{32}-[a-z]{2,4}[0-9]{1,3}$", RegexOptions.CultureInvariant)]
    private static partial Regex ApiKeyRegex();

    [GeneratedRegex("^[A-Za-z0-9]{1,50}$", RegexOptions.CultureInvariant)]
    private static partial Regex AudienceIdRegex();

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {TenantId} set its Mailchimp OAuth app; awaiting consent.")]
    private static partial void LogOAuthAppSet(ILogger logger, string tenantId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {TenantId} connected to Mailchimp ({Mode}, data center {DataCenter}).")]
    private static partial void LogConnected(ILogger logger, string tenantId, string mode, string dataCenter);

    [LoggerMessage(Level = LogLevel.Information, Message = "Mailchimp refused or could not verify the API key of tenant {TenantId} (data center {DataCenter}); nothing stored.")]
    private static partial void LogApiKeyRefused(ILogger logger, string tenantId, string dataCenter);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {TenantId} disconnected from Mailchimp.")]
    private static partial void LogDisconnected(ILogger logger, string tenantId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mailchimp revoked the credential of tenant {TenantId}; reauthorization required.")]
    private static partial void LogRevoked(ILogger logger, string tenantId);
}
