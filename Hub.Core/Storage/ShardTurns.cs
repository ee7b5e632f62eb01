using StackExchange.Redis;

namespace Hub.Core.Storage;

/// <summary>
/// The shards with work, looked at in one batch (a round trip per Redis node, however many shards) and taken in turns: each
/// look starts after the shard served last, so a busy shard does not keep the others waiting. One per queue and replica.
/// </summary>
public sealed class ShardTurns
{
    private readonly long[] _credit = new long[RedisKeys.ShardCount];
    private int _lastServed = -1;

    /// <summary>The shards whose sorted set <paramref name="due"/> has a member scored at most <paramref name="now"/>, in turn.</summary>
    public async Task<IReadOnlyList<int>> DueAsync(IDatabase db, Func<int, RedisKey> due, double now)
    {
        var batch = db.CreateBatch();
        var counts = RedisKeys.AllShards.Select(shard => batch.SortedSetLengthAsync(due(shard), double.NegativeInfinity, now)).ToList();
        batch.Execute();
        var found = await Task.WhenAll(counts);
        return InTurn(shard => found[shard] > 0);
    }

    /// <summary>The shards <paramref name="hasWork"/> accepts, starting after the one served last.</summary>
    public IReadOnlyList<int> InTurn(Func<int, bool> hasWork)
    {
        var first = Volatile.Read(ref _lastServed) + 1;
        return [.. Enumerable.Range(first, RedisKeys.ShardCount).Select(shard => shard % RedisKeys.ShardCount).Where(hasWork)];
    }

    /// <summary>
    /// The shards with work (<paramref name="weight"/> above 0), the first chosen in proportion to its weight (smooth weighted
    /// round-robin: each look credits every shard its weight, the richest goes first and pays the total), the rest in turn.
    /// With a shard's weight the number of tenants waiting in it, every waiting tenant gets about the same share of claims,
    /// whichever shard it is in.
    /// </summary>
    public IReadOnlyList<int> ByWeight(Func<int, long> weight)
    {
        var weights = RedisKeys.AllShards.Select(weight).ToArray();
        var total = weights.Sum();
        if (total == 0)
        {
            return [];
        }

        int first;
        lock (_credit)
        {
            for (var shard = 0; shard < weights.Length; shard++)
            {
                _credit[shard] = weights[shard] > 0 ? _credit[shard] + weights[shard] : 0;
            }

            first = InTurn(shard => weights[shard] > 0).MaxBy(shard => _credit[shard]);
            _credit[first] -= total;
        }

        return [first, .. InTurn(shard => weights[shard] > 0 && shard != first)];
    }

    /// <summary>Records the shard work was taken from: the next look starts after it.</summary>
    public void Served(int shard) => Volatile.Write(ref _lastServed, shard);
}
