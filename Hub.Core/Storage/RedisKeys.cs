using Hub.Core.Tenants;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Core.Storage;

/// <summary>Every Redis key Hub uses, built in one place under the configured prefix.</summary>
public sealed class RedisKeys(IOptions<StorageOptions> options)
{
    private readonly string _prefix = options.Value.KeyPrefix;

    public string Prefix => _prefix;

    /// <summary>Sorted set of tenant ids, scored by creation time (unix microseconds).</summary>
    public RedisKey Tenants => _prefix + "tenants";

    /// <summary>JSON document of one tenant.</summary>
    public RedisKey Tenant(TenantId id) => $"{_prefix}tenant:{id}";

    /// <summary>Hash of key id to API key metadata (never the key itself) for one tenant.</summary>
    public RedisKey TenantApiKeys(TenantId id) => $"{_prefix}tenant:{id}:apikeys";

    /// <summary>Hash of secret name to ciphertext for one tenant.</summary>
    public RedisKey TenantSecrets(TenantId id) => $"{_prefix}tenant:{id}:secrets";

    /// <summary>Lookup from the SHA-256 of a tenant API key to "tenantId keyId".</summary>
    public RedisKey ApiKeyIndex(string keyHashHex) => $"{_prefix}apikey:{keyHashHex}";

    // Lists (host mailing lists linked to audiences or tags).

    /// <summary>Hash of list key to the list (JSON) for one tenant.</summary>
    public RedisKey TenantLists(TenantId id) => $"{_prefix}tenant:{id}:lists";

    // ---- Mailchimp client ----

    /// <summary>
    /// Sorted set of concurrency-slot holder ids for one Mailchimp account, scored by lease expiry
    /// (unix ms); shared by every replica.
    /// </summary>
    public RedisKey MailchimpConcurrency(string accountKey) => $"{_prefix}mailchimp:concurrency:{accountKey}";
}
