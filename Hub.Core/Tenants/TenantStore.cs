using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hub.Core.Diagnostics;
using Hub.Core.Security;
using Hub.Core.Storage;
using StackExchange.Redis;

namespace Hub.Core.Tenants;

/// <summary>Data other features keep per tenant; removed when the tenant is deleted.</summary>
public interface ITenantDataOwner
{
    Task DeleteTenantDataAsync(TenantId tenant, CancellationToken cancellationToken);
}

/// <summary>
/// Tenants and their API keys in Redis. A key is shown once when issued; Redis holds only its
/// SHA-256 (keys carry 256 random bits, so a fast hash is enough) in an index that points back
/// to the tenant.
/// </summary>
public sealed class TenantStore(
    IConnectionMultiplexer redis,
    RedisKeys keys,
    TenantSecrets secrets,
    TenantKeyCache cache,
    TimeProvider time,
    IEnumerable<ITenantDataOwner> dataOwners)
{
    private const string KeyPrefix = "hub_";
    private const string KeyIdAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    private IDatabase Db => redis.GetDatabase();

    /// <summary>Creates a tenant with a fresh webhook signing secret, returned once.</summary>
    public async Task<(Tenant Tenant, Secret WebhookSigningSecret)> CreateAsync(TenantChanges changes, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("tenant.create");
        var now = time.GetUtcNow();
        var id = TenantId.New();
        var signingSecret = Secret.Generate("whsec_");

        var transaction = Db.CreateTransaction();
        var isNew = transaction.AddCondition(StoreCondition.KeyNotExists(keys.Tenant(id)));
        _ = transaction.HashSetAsync(keys.Tenant(id),
            [
                new(TenantFields.Id, id.ToString()),
                new(TenantFields.Enabled, "1"),
                new(TenantFields.CreatedAt, now.ToString("O")),
                .. TenantFields.Changes(changes, now).Set,
            ]);
        // Microseconds since the epoch: creation order even for tenants made in the same millisecond.
        _ = transaction.SortedSetAddAsync(keys.Tenants(RedisKeys.ShardOf(id)), id.ToString(), (now - DateTimeOffset.UnixEpoch).Ticks / 10);
        _ = secrets.SetAsync(transaction, id, SecretNames.WebhookSigning, signingSecret);
        var read = transaction.HashGetAllAsync(keys.Tenant(id));
        if (!await transaction.ExecuteCheckedAsync(isNew))
        {
            throw new InvalidOperationException("Tenant id collision.");
        }

        return (TenantFields.Read(await read)!, signingSecret);
    }

    public async Task<Tenant?> GetAsync(TenantId id, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("tenant.get");
        return TenantFields.Read(await Db.HashGetAllAsync(keys.Tenant(id)));
    }

    /// <summary>A page of tenants in creation order, after <paramref name="after"/>, with how many there are.</summary>
    public async Task<Page<Tenant>> ListAsync(PageCursor? after, int limit, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("tenant.list");
        // The index is one sorted set per shard (by creation time): each gives its next entries after the cursor, merged here.
        var totals = RedisKeys.AllShards.Select(shard => Db.SortedSetLengthAsync(keys.Tenants(shard))).ToList();
        var heads = RedisKeys.AllShards.Select(shard => Db.RangeAfterAsync(keys.Tenants(shard), after, limit + 1, Order.Ascending)).ToList();
        var total = (await Task.WhenAll(totals)).Sum();
        var entries = (await Task.WhenAll(heads)).SelectMany(head => head)
            .OrderBy(entry => entry.Score).ThenBy(entry => entry.Element.ToString(), StringComparer.Ordinal)
            .Take(limit + 1).ToList();
        var page = entries.Take(limit).ToList();
        var batch = Db.CreateBatch();
        var reads = page.Select(entry => batch.HashGetAllAsync(keys.Tenant(TenantId.Parse(entry.Element.ToString())))).ToList();
        batch.Execute();
        var tenants = (await Task.WhenAll(reads)).Select(TenantFields.Read).OfType<Tenant>().ToList();
        return new Page<Tenant>(tenants, entries.Count > limit ? Paging.CursorAfter(page[^1]) : null, total);
    }

    /// <summary>
    /// Applies the changes; null when the tenant does not exist. Each setting is its own hash field,
    /// so concurrent updates of different settings never lose each other (one that another replica's voided runs again).
    /// </summary>
    public async Task<Tenant?> UpdateAsync(TenantId id, TenantChanges changes, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("tenant.update");
        var (set, remove) = TenantFields.Changes(changes, time.GetUtcNow());
        var updated = await StoreTransactions.RetryOnConflictAsync(async () =>
        {
            var transaction = Db.CreateTransaction();
            var exists = transaction.AddCondition(StoreCondition.KeyExists(keys.Tenant(id)));
            _ = transaction.HashSetAsync(keys.Tenant(id), set);
            if (remove.Length > 0)
            {
                _ = transaction.HashDeleteAsync(keys.Tenant(id), remove);
            }

            var read = transaction.HashGetAllAsync(keys.Tenant(id));
            return await transaction.ExecuteCheckedAsync(exists) ? TenantFields.Read(await read) : null;
        });
        if (updated is not null)
        {
            await cache.ChangedAsync(id);
        }

        return updated;
    }

    /// <summary>Deletes the tenant, its keys, its secrets and every other feature's data for it.</summary>
    public async Task<bool> DeleteAsync(TenantId id, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("tenant.delete");
        var deleted = await StoreTransactions.RetryOnConflictAsync(async () =>
        {
            if (!await Db.KeyExistsAsync(keys.Tenant(id)))
            {
                return false;
            }

            // The key index entries live in slots of their own (keyed by the key's hash): they go first, one by one, so no
            // key of the tenant authenticates from here on. The index is the only way a key finds its tenant.
            var apiKeys = await Db.HashGetAllAsync(keys.TenantApiKeys(id));
            await RemoveFromKeyIndexAsync(apiKeys.Select(entry => DeserializeKey(entry.Value).HashHex));
            var transaction = Db.CreateTransaction();
            var exists = transaction.AddCondition(StoreCondition.KeyExists(keys.Tenant(id)));
            var sameKeys = transaction.AddCondition(StoreCondition.HashLengthEqual(keys.TenantApiKeys(id), apiKeys.Length));
            _ = transaction.KeyDeleteAsync([keys.Tenant(id), keys.TenantApiKeys(id), keys.TenantSecrets(id)]);
            _ = transaction.SortedSetRemoveAsync(keys.Tenants(RedisKeys.ShardOf(id)), id.ToString());
            // Not run when the tenant went or a key was issued meanwhile, or another replica changed them: read again.
            return await transaction.ExecuteCheckedAsync(exists, sameKeys)
                ? true
                : throw new StoreConflictException($"Tenant {id} changed while it was being deleted.");
        });
        if (!deleted)
        {
            return false;
        }

        // Outside the retries: once the tenant is gone, its features' data goes, and a failure there is not a reason to
        // delete the tenant again.
        try
        {
            foreach (var owner in dataOwners)
            {
                await owner.DeleteTenantDataAsync(id, cancellationToken);
            }
        }
        finally
        {
            await cache.ChangedAsync(id);
        }

        return true;
    }

    /// <summary>Replaces the webhook signing secret; the new one is returned once. Null when the tenant does not exist.</summary>
    public async Task<Secret?> RotateWebhookSecretAsync(TenantId id, CancellationToken cancellationToken)
    {
        var secret = Secret.Generate("whsec_");
        return await StoreTransactions.RetryOnConflictAsync(async () =>
        {
            var transaction = Db.CreateTransaction();
            var exists = transaction.AddCondition(StoreCondition.KeyExists(keys.Tenant(id)));
            _ = secrets.SetAsync(transaction, id, SecretNames.WebhookSigning, secret);
            return await transaction.ExecuteCheckedAsync(exists) ? secret : null;
        });
    }

    /// <summary>Issues a new API key (at least 256 random bits). Null when the tenant does not exist.</summary>
    public async Task<IssuedApiKey?> IssueKeyAsync(TenantId id, string? name, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("apikey.issue");
        var keyId = "k" + RandomNumberGenerator.GetString(KeyIdAlphabet, 11);
        var key = Secret.Generate($"{KeyPrefix}{keyId}_");
        var info = new TenantApiKeyInfo(keyId, string.IsNullOrWhiteSpace(name) ? null : name.Trim(), Hash(key.Reveal()), time.GetUtcNow());

        // The key is recorded with its tenant first, then indexed (the index has a slot of its own): a key is never usable
        // before its tenant lists it. Should this replica stop in between, the key was never handed out and never works.
        var recorded = await StoreTransactions.RetryOnConflictAsync(async () =>
        {
            var transaction = Db.CreateTransaction();
            var exists = transaction.AddCondition(StoreCondition.KeyExists(keys.Tenant(id)));
            _ = transaction.HashSetAsync(keys.TenantApiKeys(id), keyId, JsonSerializer.Serialize(info, HubJsonContext.Default.TenantApiKeyInfo));
            return await transaction.ExecuteCheckedAsync(exists);
        });
        if (!recorded)
        {
            return null;
        }

        await Db.StringSetAsync(keys.ApiKeyIndex(info.HashHex), $"{id} {keyId}");
        if (!await Db.KeyExistsAsync(keys.Tenant(id)))
        {
            // The tenant was deleted meanwhile (its deletion read its keys before this one was recorded).
            await RemoveFromKeyIndexAsync([info.HashHex]);
            return null;
        }

        return new IssuedApiKey(info, key);
    }

    /// <summary>The tenant's keys (metadata only), oldest first. Null when the tenant does not exist.</summary>
    public async Task<IReadOnlyList<TenantApiKeyInfo>?> ListKeysAsync(TenantId id, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("apikey.list");
        if (!await Db.KeyExistsAsync(keys.Tenant(id)))
        {
            return null;
        }

        var entries = await Db.HashGetAllAsync(keys.TenantApiKeys(id));
        return entries.Select(entry => DeserializeKey(entry.Value)).OrderBy(key => key.CreatedAt).ToList();
    }

    /// <summary>Revokes one key at once; false when the tenant or key does not exist.</summary>
    public async Task<bool> RevokeKeyAsync(TenantId id, string keyId, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("apikey.revoke");
        var stored = await Db.HashGetAsync(keys.TenantApiKeys(id), keyId);
        if (stored.IsNullOrEmpty)
        {
            return false;
        }

        // Out of the index first: from that moment the key does not authenticate. Then off the tenant's list.
        await RemoveFromKeyIndexAsync([DeserializeKey(stored).HashHex]);
        var removed = await StoreTransactions.RetryOnConflictAsync(async () =>
        {
            var transaction = Db.CreateTransaction();
            var unchanged = transaction.AddCondition(StoreCondition.HashEqual(keys.TenantApiKeys(id), keyId, stored));
            _ = transaction.HashDeleteAsync(keys.TenantApiKeys(id), keyId);
            return await transaction.ExecuteCheckedAsync(unchanged);
        });
        if (!removed)
        {
            return false;
        }

        await cache.ChangedAsync(id);
        return true;
    }

    /// <summary>
    /// The tenant that owns the presented key, or null for an unknown or revoked key. Answered from
    /// <see cref="TenantKeyCache"/> when this replica read the key lately; revoking the key or changing
    /// its tenant clears that on every replica.
    /// </summary>
    public async Task<AuthenticatedTenant?> AuthenticateAsync(string presentedKey, CancellationToken cancellationToken)
    {
        if (!presentedKey.StartsWith(KeyPrefix, StringComparison.Ordinal) || presentedKey.Length > 128)
        {
            return null;
        }

        var hash = Hash(presentedKey);
        if (cache.TryGet(hash, out var remembered))
        {
            HubTelemetry.TenantKeys.Lookups.Add(1, new KeyValuePair<string, object?>(HubTelemetry.TenantKeys.SourceTag, HubTelemetry.TenantKeys.FromMemory));
            return remembered;
        }

        HubTelemetry.TenantKeys.Lookups.Add(1, new KeyValuePair<string, object?>(HubTelemetry.TenantKeys.SourceTag, HubTelemetry.TenantKeys.FromRedis));

        using var span = HubTelemetry.StartRedis("apikey.authenticate");
        var generation = cache.Generation;
        var db = Db;

        // When the key was read before, its tenant's record rides along with the index read and counts
        // only if the index still names that tenant.
        var ownerRead = db.StringGetAsync(keys.ApiKeyIndex(hash));
        var lastTenant = cache.LastTenant(hash);
        var tenantRead = lastTenant is { } hinted ? db.HashGetAllAsync(keys.Tenant(hinted)) : null;
        var owner = await ownerRead;
        if (owner.IsNullOrEmpty || owner.ToString().Split(' ') is not [var tenantText, var keyId] || !TenantId.TryParse(tenantText, out var tenantId))
        {
            if (tenantRead is not null)
            {
                await tenantRead;
            }

            return null;
        }

        if (lastTenant != tenantId)
        {
            if (tenantRead is not null)
            {
                await tenantRead;
            }

            tenantRead = db.HashGetAllAsync(keys.Tenant(tenantId));
        }

        if (TenantFields.Read(await tenantRead!) is not { } tenant)
        {
            return null;
        }

        var caller = new AuthenticatedTenant(tenant, keyId);
        cache.Remember(hash, caller, generation);
        return caller;
    }

    private async Task RemoveFromKeyIndexAsync(IEnumerable<string> hashes)
    {
        foreach (var hash in hashes)
        {
            await Db.KeyDeleteAsync(keys.ApiKeyIndex(hash));
        }
    }

    private static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private static TenantApiKeyInfo DeserializeKey(RedisValue value) =>
        JsonSerializer.Deserialize(value.ToString(), HubJsonContext.Default.TenantApiKeyInfo)
        ?? throw new InvalidOperationException("Corrupt API key record.");
}
