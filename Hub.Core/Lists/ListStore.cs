using System.Globalization;
using System.Text.Json;
using Hub.Core.Diagnostics;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using StackExchange.Redis;

namespace Hub.Core.Lists;

/// <summary>
/// A tenant's host lists: one Redis hash per tenant, field = list key, value = the list as JSON.
/// A tenant has tens of lists, not millions, so reading them all to filter is cheap and needs no scan.
/// </summary>
public sealed class ListStore(IConnectionMultiplexer redis, RedisKeys keys) : ITenantDataOwner
{
    private IDatabase Db => redis.GetDatabase();

    /// <summary>Stores a new list; false when the tenant already has a list with that key.</summary>
    public async Task<bool> CreateAsync(TenantId tenant, HostList list, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("list.create");
        return await Db.HashSetAsync(keys.TenantLists(tenant), list.Key.ToString(), Serialize(list), When.NotExists);
    }

    public async Task<HostList?> GetAsync(TenantId tenant, ListKey key, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("list.get");
        return Deserialize(await Db.HashGetAsync(keys.TenantLists(tenant), key.ToString()));
    }

    /// <summary>All the tenant's lists, ordered by key.</summary>
    public async Task<IReadOnlyList<HostList>> ListAsync(TenantId tenant, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("list.list");
        var entries = await Db.HashGetAllAsync(keys.TenantLists(tenant));
        return entries.Select(entry => Deserialize(entry.Value)!).OrderBy(list => list.Key.ToString(), StringComparer.Ordinal).ToList();
    }

    /// <summary>The tenant's lists that live in one audience.</summary>
    public async Task<IReadOnlyList<HostList>> ListInAudienceAsync(TenantId tenant, string audienceId, CancellationToken cancellationToken) =>
        (await ListAsync(tenant, cancellationToken)).Where(list => list.AudienceId == audienceId).ToList();

    /// <summary>Applies a change to the stored list without losing a concurrent one; null when the list does not exist.</summary>
    public async Task<HostList?> UpdateAsync(TenantId tenant, ListKey key, Func<HostList, HostList> change, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("list.update");
        var hash = keys.TenantLists(tenant);
        return await StoreTransactions.RetryOnConflictAsync(async () =>
        {
            var stored = await Db.HashGetAsync(hash, key.ToString());
            if (Deserialize(stored) is not { } current)
            {
                return null;
            }

            var updated = change(current);
            var transaction = Db.CreateTransaction();
            var unchanged = transaction.AddCondition(StoreCondition.HashEqual(hash, key.ToString(), stored));
            _ = transaction.HashSetAsync(hash, key.ToString(), Serialize(updated));
            // Not run when the list changed since it was read here, or when another replica changed any list of the tenant
            // (the transaction watches the whole hash): either way, read again.
            return await transaction.ExecuteCheckedAsync(unchanged)
                ? updated
                : throw new StoreConflictException($"List {key} changed while it was being updated.");
        });
    }

    public async Task<bool> DeleteAsync(TenantId tenant, ListKey key, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("list.delete");
        return await Db.HashDeleteAsync(keys.TenantLists(tenant), key.ToString());
    }

    /// <summary>Remembers that Hub created merge field <paramref name="mergeId"/> in the audience (so it may change its name, required and choices).</summary>
    public async Task MarkFieldCreatedAsync(TenantId tenant, string audienceId, long mergeId, string tag, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("list.field-created");
        await Db.HashSetAsync(keys.TenantCreatedFields(tenant), CreatedField(audienceId, mergeId), tag);
    }

    /// <summary>The merge ids of the fields Hub created in the audience.</summary>
    public async Task<IReadOnlySet<long>> FieldsCreatedAsync(TenantId tenant, string audienceId, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("list.fields-created");
        var prefix = audienceId + ":";
        return (await Db.HashKeysAsync(keys.TenantCreatedFields(tenant)))
            .Select(field => field.ToString())
            .Where(field => field.StartsWith(prefix, StringComparison.Ordinal))
            .Select(field => long.Parse(field.AsSpan(prefix.Length), CultureInfo.InvariantCulture))
            .ToHashSet();
    }

    public Task DeleteTenantDataAsync(TenantId tenant, CancellationToken cancellationToken) =>
        Db.KeyDeleteAsync([keys.TenantLists(tenant), keys.TenantCreatedFields(tenant)]);

    private static string CreatedField(string audienceId, long mergeId) => $"{audienceId}:{mergeId.ToString(CultureInfo.InvariantCulture)}";

    private static string Serialize(HostList list) => JsonSerializer.Serialize(list, HubJsonContext.Default.HostList);

    private static HostList? Deserialize(RedisValue value) =>
        value.IsNullOrEmpty ? null : JsonSerializer.Deserialize(value.ToString(), HubJsonContext.Default.HostList);
}
