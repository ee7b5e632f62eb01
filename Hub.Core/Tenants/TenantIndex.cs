using System.Runtime.CompilerServices;
using Hub.Core.Storage;
using StackExchange.Redis;

namespace Hub.Core.Tenants;

/// <summary>The index of every tenant: one sorted set per shard (<see cref="RedisKeys.Tenants"/>), walked shard by shard.</summary>
public static class TenantIndex
{
    /// <summary>Every tenant id, shard by shard (in creation order within a shard), read in pages.</summary>
    public static async IAsyncEnumerable<TenantId> AllAsync(IDatabase db, RedisKeys keys, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var shard in RedisKeys.AllShards)
        {
            await foreach (var entry in db.SortedSetScanAsync(keys.Tenants(shard), pageSize: 500).WithCancellation(cancellationToken))
            {
                if (TenantId.TryParse(entry.Element.ToString(), out var tenant))
                {
                    yield return tenant;
                }
            }
        }
    }
}
