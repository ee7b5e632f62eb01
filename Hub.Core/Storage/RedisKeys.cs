using Hub.Core.Tenants;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Core.Storage;

/// <summary>Every Redis key Hub uses, built in one place under the configured prefix.</summary>
public sealed class RedisKeys(IOptions<StorageOptions> options)
{
    private readonly string _prefix = options.Value.KeyPrefix;

    public string Prefix => _prefix;

    /// <summary>Sorted set of tenant ids, scored by creation time (unix ms).</summary>
    public RedisKey Tenants => _prefix + "tenants";

    /// <summary>JSON document of one tenant.</summary>
    public RedisKey Tenant(TenantId id) => $"{_prefix}tenant:{id}";

    /// <summary>Hash of key id to API key metadata (never the key itself) for one tenant.</summary>
    public RedisKey TenantApiKeys(TenantId id) => $"{_prefix}tenant:{id}:apikeys";

    /// <summary>Hash of secret name to ciphertext for one tenant.</summary>
    public RedisKey TenantSecrets(TenantId id) => $"{_prefix}tenant:{id}:secrets";

    /// <summary>Lookup from the SHA-256 of a tenant API key to "tenantId keyId".</summary>
    public RedisKey ApiKeyIndex(string keyHashHex) => $"{_prefix}apikey:{keyHashHex}";

    // Connections, OAuth consent and webhooks (issue 4).

    /// <summary>Hash of one tenant's Mailchimp connection (state, mode, dc, account); secrets live in <see cref="TenantSecrets"/>.</summary>
    public RedisKey Connection(TenantId id) => $"{_prefix}tenant:{id}:connection";

    /// <summary>Set of audience ids Hub may write to for one tenant.</summary>
    public RedisKey ManagedAudiences(TenantId id) => $"{_prefix}tenant:{id}:audiences:managed";

    /// <summary>One consent link (JSON), keyed by the SHA-256 of its session value; expires with the link.</summary>
    public RedisKey ConsentSession(string sessionHashHex) => $"{_prefix}oauth:session:{sessionHashHex}";

    /// <summary>One OAuth state (JSON), keyed by the SHA-256 of the state value; 10-minute TTL.</summary>
    public RedisKey OAuthState(string stateHashHex) => $"{_prefix}oauth:state:{stateHashHex}";

    /// <summary>Sorted set of webhook delivery ids scored by when they are due (unix ms); a claim moves the score past the lease.</summary>
    public RedisKey WebhookQueue => _prefix + "webhooks:due";

    /// <summary>Hash of one webhook delivery: tenant, event, body, status, attempts, lease.</summary>
    public RedisKey WebhookDelivery(string deliveryId) => $"{_prefix}webhook:{deliveryId}";

    /// <summary>List of attempt records (JSON) of one webhook delivery, oldest first.</summary>
    public RedisKey WebhookAttempts(string deliveryId) => $"{_prefix}webhook:{deliveryId}:attempts";

    /// <summary>Sorted set of one tenant's recent webhook delivery ids, scored by creation time (unix ms).</summary>
    public RedisKey TenantWebhookDeliveries(TenantId id) => $"{_prefix}tenant:{id}:webhooks";
}
