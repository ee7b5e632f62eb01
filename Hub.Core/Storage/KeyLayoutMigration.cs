using System.Security.Cryptography;
using Hub.Core.Tenants;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Hub.Core.Storage;

/// <summary>
/// Moves a store written before the shard layout (<see cref="RedisKeys"/>: keys without a hash tag, one global job ring,
/// lease set, webhook queue and tenant index) to the current one. Runs at start-up, before Hub serves a request or claims
/// work (<see cref="StorageStartup"/>): one replica migrates under a lease lock while the others wait for
/// <see cref="RedisKeys.Layout"/> to name the current layout, so several replicas may start at once. A fresh store is only
/// marked. Every step can be run again: a replica that dies half-way leaves the lock to expire and the next one goes on
/// where it stopped.
/// <para>What moves: every key of a tenant keeps its name after the prefix and gains its shard's tag (<c>hub:tenant:t1</c>
/// becomes <c>hub:{s3-12}:tenant:t1</c>); a job's, a webhook delivery's and a received event's keys follow the tenant named
/// in their hash; the global structures are split by the shard of each member's tenant (a job's, delivery's or event's
/// tenant read from its hash), and each shard's queued-jobs count is counted again from its tenants' queues. Keys found by a
/// hash of a secret (API keys, list webhook URLs, OAuth states and consent links) and Mailchimp concurrency slots keep their
/// names. A received event's de-duplication mark cannot tell its tenant and is dropped: an event Mailchimp delivers again is
/// then recorded again, which changes nothing (a tenant's events are recorded once per id).</para>
/// <para>Old replicas must not run while the store is migrated (they would go on writing the old layout): upgrade with
/// every replica stopped, or the Kubernetes <c>Recreate</c> strategy, for this one version.</para>
/// </summary>
public sealed partial class KeyLayoutMigration(IConnectionMultiplexer redis, RedisKeys keys, TimeProvider time, ILogger<KeyLayoutMigration> logger)
{
    /// <summary>The value of <see cref="RedisKeys.Layout"/> once the store has the current layout.</summary>
    public const string CurrentLayout = "sharded-16";

    private static readonly TimeSpan LockLease = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan WaitStep = TimeSpan.FromMilliseconds(250);

    // Keys whose names do not change: looked up by a hash of a secret, or by a Mailchimp account (single keys, any slot).
    private static readonly string[] Unchanged = ["apikey:", "events:hook:", "oauth:", "mailchimp:", "layout"];

    private IDatabase Db => redis.GetDatabase();

    /// <summary>Returns once the store has the current layout: migrated here, by another replica, or already.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var waited = false;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (await Db.StringGetAsync(keys.Layout) == CurrentLayout)
            {
                return;
            }

            if (await Db.LockTakeAsync(keys.LayoutMigrationLock, token, LockLease))
            {
                try
                {
                    if (await Db.StringGetAsync(keys.Layout) != CurrentLayout)
                    {
                        await MigrateAsync(token, cancellationToken);
                        await Db.StringSetAsync(keys.Layout, CurrentLayout);
                    }
                }
                finally
                {
                    await Db.LockReleaseAsync(keys.LayoutMigrationLock, token);
                }

                return;
            }

            if (!waited)
            {
                LogWaiting(logger);
                waited = true;
            }

            await Task.Delay(WaitStep, time, cancellationToken);
        }
    }

    private async Task MigrateAsync(string token, CancellationToken cancellationToken)
    {
        var moved = 0;
        var started = time.GetTimestamp();

        // 1. The global structures, split by shard. Their members' tenants are read from the hashes under their old names,
        //    so this comes before the keys move; each old structure is deleted once every member is in its shard's.
        moved += await SplitSortedSetAsync("tenants", keys.Tenants, member => Task.FromResult(TenantShard(member)), cancellationToken);
        moved += await SplitSortedSetAsync("events:hooks:due", keys.AudienceHooksDue, member => Task.FromResult(TenantShard(member)), cancellationToken);
        moved += await SplitSortedSetAsync("jobs:leases", keys.JobLeases, member => OwnerShardAsync("job:" + member), cancellationToken);
        moved += await SplitSortedSetAsync("jobs:notify", keys.JobsToNotify, member => OwnerShardAsync("job:" + member), cancellationToken);
        moved += await SplitSortedSetAsync("webhooks:due", keys.WebhookQueue, member => OwnerShardAsync("webhook:" + member), cancellationToken);
        moved += await SplitSortedSetAsync("events:inbound:due", keys.InboundEventsDue, member => OwnerShardAsync("events:inbound:" + member), cancellationToken);
        moved += await SplitRingAsync(cancellationToken);
        await RenewAsync(token);

        // 2. Every other key of the old layout: renamed into its tenant's shard (its name after the prefix unchanged).
        foreach (var server in redis.GetServers().Where(server => server.IsConnected && !server.IsReplica))
        {
            var page = 0;
            await foreach (var key in server.KeysAsync(Db.Database, keys.Prefix + "*", pageSize: 1000).WithCancellation(cancellationToken))
            {
                var name = ((string)key!)[keys.Prefix.Length..];
                if (name.StartsWith('{') || Unchanged.Any(name.StartsWith))
                {
                    continue;
                }

                if (await ShardOfKeyAsync(name) is { } shard)
                {
                    moved += await RenameAsync(key, keys.ShardPrefix(shard) + name) ? 1 : 0;
                }
                else
                {
                    await Db.KeyDeleteAsync(key);
                    LogDropped(logger, name);
                }

                if (++page % 1000 == 0)
                {
                    await RenewAsync(token);
                }
            }
        }

        // 3. Each shard's queued-jobs count, from the queues of the tenants in its ring (the old count was global).
        await Db.KeyDeleteAsync(Old("jobs:queued-count"));
        foreach (var shard in RedisKeys.AllShards)
        {
            long queued = 0;
            foreach (var tenant in await Db.ListRangeAsync(keys.JobTenantRing(shard)))
            {
                queued += TenantId.TryParse(tenant.ToString(), out var id) ? await Db.ListLengthAsync(keys.TenantJobQueue(id)) : 0;
            }

            await (queued > 0 ? Db.StringSetAsync(keys.JobQueueDepth(shard), queued) : Db.KeyDeleteAsync(keys.JobQueueDepth(shard)));
        }

        LogMigrated(logger, moved, (long)time.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>Moves each member of an old sorted set (with its score) into its shard's set, then deletes the old set.</summary>
    private async Task<int> SplitSortedSetAsync(string name, Func<int, RedisKey> target, Func<string, Task<int?>> shardOf, CancellationToken cancellationToken)
    {
        var old = Old(name);
        var entries = await Db.SortedSetRangeByRankWithScoresAsync(old);
        foreach (var entry in entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (await shardOf(entry.Element.ToString()) is { } shard)
            {
                await Db.SortedSetAddAsync(target(shard), entry.Element, entry.Score);
            }
        }

        await Db.KeyDeleteAsync(old);
        return entries.Length;
    }

    /// <summary>Moves the old ring of tenants with queued jobs into the shards' rings, in its order, each tenant once.</summary>
    private async Task<int> SplitRingAsync(CancellationToken cancellationToken)
    {
        var old = Old("jobs:ring");
        var tenants = await Db.ListRangeAsync(old);
        foreach (var group in tenants.GroupBy(tenant => TenantShard(tenant.ToString())))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (group.Key is not { } shard)
            {
                continue;
            }

            var present = (await Db.ListRangeAsync(keys.JobTenantRing(shard))).Select(tenant => tenant.ToString()).ToHashSet(StringComparer.Ordinal);
            foreach (var tenant in group.Where(tenant => present.Add(tenant.ToString())))
            {
                await Db.ListRightPushAsync(keys.JobTenantRing(shard), tenant);
            }
        }

        await Db.KeyDeleteAsync(old);
        return tenants.Length;
    }

    /// <summary>The shard of an old key (its name after the prefix), or null when it belongs to no tenant Hub can find.</summary>
    private Task<int?> ShardOfKeyAsync(string name)
    {
        var parts = name.Split(':');
        return parts switch
        {
            ["tenant", var tenant, ..] => Task.FromResult(TenantShard(tenant)),
            ["jobs", "tenant", var tenant, ..] => Task.FromResult(TenantShard(tenant)),
            ["sync", var tenant, ..] => Task.FromResult(TenantShard(tenant)),
            ["events", "hooks", "lock", var tenant] => Task.FromResult(TenantShard(tenant)),
            ["job", var job, ..] => OwnerShardAsync("job:" + job),
            ["webhook", var delivery, ..] => OwnerShardAsync("webhook:" + delivery),
            ["events", "inbound", var inbound] => OwnerShardAsync("events:inbound:" + inbound),
            _ => Task.FromResult<int?>(null),
        };
    }

    private static int? TenantShard(string tenant) => TenantId.TryParse(tenant, out var id) ? RedisKeys.ShardOf(id) : null;

    /// <summary>
    /// The shard of the tenant named in the <c>tenant</c> field of a job's, a webhook delivery's or a received event's hash: under
    /// its old name, or already moved (its other keys follow it, whether it moved earlier in this run or in one that stopped).
    /// </summary>
    private async Task<int?> OwnerShardAsync(string hashName)
    {
        if (await Db.HashGetAsync(Old(hashName), "tenant") is { IsNullOrEmpty: false } tenant)
        {
            return TenantShard(tenant.ToString());
        }

        foreach (var shard in RedisKeys.AllShards)
        {
            if (await Db.HashGetAsync(keys.ShardPrefix(shard) + hashName, "tenant") is { IsNullOrEmpty: false } moved && TenantShard(moved.ToString()) == shard)
            {
                return shard;
            }
        }

        return null;
    }

    /// <summary>RENAME (keeps the value and its expiry); false when the key vanished since the scan (it expired).</summary>
    private async Task<bool> RenameAsync(RedisKey from, RedisKey to)
    {
        try
        {
            await Db.KeyRenameAsync(from, to);
            return true;
        }
        catch (RedisServerException exception) when (exception.Message.Contains("no such key", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
    }

    private RedisKey Old(string name) => keys.Prefix + name;

    private async Task RenewAsync(string token)
    {
        if (!await Db.LockExtendAsync(keys.LayoutMigrationLock, token, LockLease))
        {
            throw new InvalidOperationException("Lost the key layout migration lock; another replica goes on with the migration.");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Another replica is moving the store to the current key layout; waiting for it before serving.")]
    private static partial void LogWaiting(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Moved the store to the current key layout: {Moved} keys and entries in {ElapsedMs} ms.")]
    private static partial void LogMigrated(ILogger logger, int moved, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped '{Key}' while moving the store to the current key layout: it belongs to no tenant Hub can find (an orphan or a de-duplication mark).")]
    private static partial void LogDropped(ILogger logger, string key);
}
