using StackExchange.Redis;

namespace Hub.Core.Storage;

/// <summary>Reads of one structure that exists once per shard (<see cref="RedisKeys.ShardCount"/>), in one batch.</summary>
public static class ShardReads
{
    /// <summary>The sum of a count read in every shard (a queue's length across the store), in one batch: a round trip per node.</summary>
    public static Task<long> SumAsync(IDatabase db, Func<IBatch, int, Task<long>> read) => SumAsync(db, read, count => count);

    /// <summary>The sum of what <paramref name="count"/> makes of a value read in every shard, in one batch.</summary>
    public static async Task<long> SumAsync<T>(IDatabase db, Func<IBatch, int, Task<T>> read, Func<T, long> count)
    {
        var batch = db.CreateBatch();
        var reads = RedisKeys.AllShards.Select(shard => read(batch, shard)).ToList();
        batch.Execute();
        return (await Task.WhenAll(reads)).Sum(count);
    }
}
