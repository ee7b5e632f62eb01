using System.Security.Cryptography;
using Hub.Core.Members;
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
/// <para>Then each list's ledger, a hash of fingerprints and a set of the members Hub added (in hex), becomes one hash in bytes
/// (<see cref="Members.LedgerEntry"/>); a store of the shard layout (<c>sharded-16</c>) goes through the same steps and only
/// this one changes anything.</para>
/// <para>Old replicas must not run while the store is migrated (they would go on writing the old layout): upgrade with
/// every replica stopped, or the Kubernetes <c>Recreate</c> strategy, for this one version.</para>
/// </summary>
public sealed partial class KeyLayoutMigration(IConnectionMultiplexer redis, RedisKeys keys, TimeProvider time, ILogger<KeyLayoutMigration> logger)
{
    /// <summary>The value of <see cref="RedisKeys.Layout"/> once the store has the current layout.</summary>
    public const string CurrentLayout = "sharded-16,ledger-bytes";

    private static readonly TimeSpan LockLease = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(5);
    private const int Chunk = 500;
    private static readonly TimeSpan WaitStep = TimeSpan.FromMilliseconds(250);

    // Keys whose names do not change: looked up by a hash of a secret, or by a Mailchimp account (single keys, any slot).
    private static readonly string[] Unchanged = ["apikey:", "events:hook:", "oauth:", "mailchimp:", "layout"];

    private IDatabase Db => redis.GetDatabase();

    // For the migration run (a nested class cannot see the primary constructor's parameters).
    private IConnectionMultiplexer Redis => redis;
    private TimeProvider Time => time;
    private ILogger Logger => logger;
    private RedisKeys Keys => keys;

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
                        await new Run(this, token).MigrateAsync(cancellationToken);
                        await Db.StringSetAsync(keys.Layout, CurrentLayout);
                    }

                    return;
                }
                catch (LockLostException)
                {
                    // Another replica took the lock over (this one stalled past the lease): it finishes; wait for its mark.
                    LogLockLost(logger);
                }
                finally
                {
                    await ReleaseLockAsync(token);
                }
            }

            if (!waited)
            {
                LogWaiting(logger);
                waited = true;
            }

            await Task.Delay(WaitStep, time, cancellationToken);
        }
    }

    /// <summary>
    /// Gives the lock back; a store fault here does not turn a finished migration into a failed one (nor hide why one failed):
    /// the lock expires by itself within <see cref="LockLease"/>, and the others read the mark before they take it.
    /// </summary>
    private async Task ReleaseLockAsync(string token)
    {
        try
        {
            await Db.LockReleaseAsync(keys.LayoutMigrationLock, token);
        }
        catch (Exception exception) when (StoreFaults.IsStoreFault(exception))
        {
            LogLockNotReleased(logger, exception);
        }
    }

    /// <summary>One migration under the lock: renews it at least every <see cref="RenewEvery"/> and stops when it is lost.</summary>
    private sealed class Run(KeyLayoutMigration migration, string token)
    {
        private long _renewedAt = migration.Time.GetTimestamp();

        private IDatabase Db => migration.Db;
        private RedisKeys Keys => migration.Keys;

        public async Task MigrateAsync(CancellationToken cancellationToken)
        {
            var moved = 0;
            var started = migration.Time.GetTimestamp();
            // Every primary must answer: one skipped would keep its share of the old keys invisible once the store is marked.
            var primaries = migration.Redis.GetServers().Where(server => !server.IsReplica).ToList();
            if (primaries.Count == 0 || primaries.Any(server => !server.IsConnected))
            {
                throw new StoreUnavailableException("Not every Redis primary is connected; the key layout migration waits for all of them.");
            }

            // 1. The global structures, split by shard. Their members' tenants are read from the hashes under their old names,
            //    so this comes before the keys move; each chunk leaves the old structure once it is in its shards'.
            moved += await SplitSortedSetAsync("tenants", Keys.Tenants, member => Task.FromResult(TenantShard(member)), cancellationToken);
            moved += await SplitSortedSetAsync("events:hooks:due", Keys.AudienceHooksDue, member => Task.FromResult(TenantShard(member)), cancellationToken);
            moved += await SplitSortedSetAsync("jobs:leases", Keys.JobLeases, member => migration.OwnerShardAsync("job:" + member), cancellationToken);
            moved += await SplitSortedSetAsync("jobs:notify", Keys.JobsToNotify, member => migration.OwnerShardAsync("job:" + member), cancellationToken);
            moved += await SplitSortedSetAsync("webhooks:due", Keys.WebhookQueue, member => migration.OwnerShardAsync("webhook:" + member), cancellationToken);
            moved += await SplitSortedSetAsync("events:inbound:due", Keys.InboundEventsDue, member => migration.OwnerShardAsync("events:inbound:" + member), cancellationToken);
            moved += await SplitRingAsync(cancellationToken);

            // 2. Every other key of the old layout: renamed into its tenant's shard (its name after the prefix unchanged).
            //    A name Hub does not know is left alone: it may be another deployment's under a longer prefix.
            var unknown = 0;
            foreach (var server in primaries)
            {
                await foreach (var key in server.KeysAsync(Db.Database, Keys.Prefix + "*", pageSize: 1000).WithCancellation(cancellationToken))
                {
                    await RenewIfDueAsync();
                    var name = key.ToString().Substring(Keys.Prefix.Length);
                    if (name.StartsWith('{') || Unchanged.Any(name.StartsWith))
                    {
                        continue;
                    }

                    switch (await migration.ShardOfKeyAsync(name))
                    {
                        case { } shard:
                            moved += await migration.RenameAsync(key, Keys.ShardPrefix(shard) + name) ? 1 : 0;
                            break;
                        case null when IsOrphanOfHub(name):
                            await Db.KeyDeleteAsync(key);
                            LogDropped(migration.Logger, name);
                            break;
                        default:
                            unknown++;
                            break;
                    }
                }
            }

            // 3. Each shard's queued-jobs count, from the queues of the tenants in its ring (the old count was global).
            await Db.KeyDeleteAsync(migration.Old("jobs:queued-count"));
            foreach (var shard in RedisKeys.AllShards)
            {
                await RenewIfDueAsync();
                long queued = 0;
                foreach (var tenant in await Db.ListRangeAsync(Keys.JobTenantRing(shard)))
                {
                    queued += TenantId.TryParse(tenant.ToString(), out var id) ? await Db.ListLengthAsync(Keys.TenantJobQueue(id)) : 0;
                }

                await (queued > 0 ? Db.StringSetAsync(Keys.JobQueueDepth(shard), queued) : Db.KeyDeleteAsync(Keys.JobQueueDepth(shard)));
            }

            // 4. The lists' ledgers, from a hash of fingerprints and a set of the members Hub added (both in hex) to one hash in
            //    bytes (Members/LedgerEntry). A list converted half-way is converted again: the writes repeat the same entries.
            foreach (var server in primaries)
            {
                await foreach (var key in server.KeysAsync(Db.Database, Keys.Prefix + "{*}:sync:*:fingerprints", pageSize: 1000).WithCancellation(cancellationToken))
                {
                    await RenewIfDueAsync();
                    moved += await ConvertLedgerAsync(key.ToString(), cancellationToken);
                }

                // A hub-added set without its hash of fingerprints (never written so; a ledger deleted half-way): nothing to convert.
                await foreach (var key in server.KeysAsync(Db.Database, Keys.Prefix + "{*}:sync:*:hub-added", pageSize: 1000).WithCancellation(cancellationToken))
                {
                    await RenewIfDueAsync();
                    await Db.KeyDeleteAsync(key);
                    LogDropped(migration.Logger, key.ToString()[Keys.Prefix.Length..]);
                }
            }

            if (unknown > 0)
            {
                LogUnknownLeft(migration.Logger, unknown, Keys.Prefix);
            }

            LogMigrated(migration.Logger, moved, (long)migration.Time.GetElapsedTime(started).TotalMilliseconds);
        }

        /// <summary>Converts one list's ledger written in hex (<c>…:fingerprints</c> and <c>…:hub-added</c>) into <c>…:ledger</c>, a page at a time.</summary>
        private async Task<int> ConvertLedgerAsync(string fingerprints, CancellationToken cancellationToken)
        {
            var stem = fingerprints[..^"fingerprints".Length];
            RedisKey hubAdded = stem + "hub-added", ledger = stem + "ledger";
            var added = new HashSet<string>(StringComparer.Ordinal);
            await foreach (var member in Db.SetScanAsync(hubAdded, pageSize: Chunk).WithCancellation(cancellationToken))
            {
                added.Add(member.ToString());
            }

            var page = new List<HashEntry>(Chunk);
            var (converted, dropped) = (0, 0);
            await foreach (var entry in Db.HashScanAsync(fingerprints, pageSize: Chunk).WithCancellation(cancellationToken))
            {
                var (hash, fingerprint) = (entry.Name.ToString(), entry.Value.ToString());
                if (fingerprint == "tags-pending")
                {
                    fingerprint = MemberService.TagsPending; // a contact written without its tags, in the hex ledger's words
                }

                if (hash.Length != 32 || fingerprint.Length != 16 || !IsHex(hash) || !IsHex(fingerprint))
                {
                    dropped++;
                    continue;
                }

                page.Add(new HashEntry(LedgerEntry.Field(hash), LedgerEntry.Value(fingerprint, added.Contains(hash))));
                if (page.Count == Chunk)
                {
                    await FlushAsync();
                }
            }

            await FlushAsync();
            await Db.KeyDeleteAsync([fingerprints, hubAdded]);
            if (dropped > 0)
            {
                LogEntriesDropped(migration.Logger, dropped, fingerprints);
            }

            return converted;

            async Task FlushAsync()
            {
                await RenewIfDueAsync();
                if (page.Count > 0)
                {
                    await Db.HashSetAsync(ledger, [.. page]);
                    converted += page.Count;
                    page.Clear();
                }
            }
        }

        private static bool IsHex(string text) => text.All(char.IsAsciiHexDigit);

        /// <summary>
        /// A key of Hub's old layout that belongs to no tenant Hub can find: a received event's de-duplication mark (its tenant
        /// is not in it), or a job's, delivery's or event's key whose record is gone.
        /// </summary>
        private static bool IsOrphanOfHub(string name) => name.Split(':') switch
        {
            ["events", "seen", _] => true,
            ["job", _, ..] or ["webhook", _, ..] or ["events", "inbound", _] => true,
            _ => false,
        };

        /// <summary>Moves each member of an old sorted set (with its score) into its shard's set, a chunk at a time, each chunk then leaving the old set.</summary>
        private async Task<int> SplitSortedSetAsync(string name, Func<int, RedisKey> target, Func<string, Task<int?>> shardOf, CancellationToken cancellationToken)
        {
            var old = migration.Old(name);
            var moved = 0;
            while (true)
            {
                var entries = await Db.SortedSetRangeByRankWithScoresAsync(old, 0, Chunk - 1);
                if (entries.Length == 0)
                {
                    return moved;
                }

                foreach (var entry in entries)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    await RenewIfDueAsync();
                    if (await shardOf(entry.Element.ToString()) is { } shard)
                    {
                        await Db.SortedSetAddAsync(target(shard), entry.Element, entry.Score);
                    }
                }

                await RenewIfDueAsync();
                await Db.SortedSetRemoveAsync(old, [.. entries.Select(entry => entry.Element)]);
                moved += entries.Length;
            }
        }

        /// <summary>Moves the old ring of tenants with queued jobs into the shards' rings, in its order, each tenant once.</summary>
        private async Task<int> SplitRingAsync(CancellationToken cancellationToken)
        {
            var old = migration.Old("jobs:ring");
            var tenants = await Db.ListRangeAsync(old);
            foreach (var group in tenants.GroupBy(tenant => TenantShard(tenant.ToString())))
            {
                cancellationToken.ThrowIfCancellationRequested();
                await RenewIfDueAsync();
                if (group.Key is not { } shard)
                {
                    continue;
                }

                var present = (await Db.ListRangeAsync(Keys.JobTenantRing(shard))).Select(tenant => tenant.ToString()).ToHashSet(StringComparer.Ordinal);
                foreach (var tenant in group.Where(tenant => present.Add(tenant.ToString())))
                {
                    await Db.ListRightPushAsync(Keys.JobTenantRing(shard), tenant);
                }
            }

            await Db.KeyDeleteAsync(old);
            return tenants.Length;
        }

        /// <summary>Extends the lock when the last renewal is <see cref="RenewEvery"/> old; throws <see cref="LockLostException"/> when another replica holds it.</summary>
        private async Task RenewIfDueAsync()
        {
            if (migration.Time.GetElapsedTime(_renewedAt) < RenewEvery)
            {
                return;
            }

            if (!await Db.LockExtendAsync(Keys.LayoutMigrationLock, token, LockLease))
            {
                throw new LockLostException();
            }

            _renewedAt = migration.Time.GetTimestamp();
        }
    }

    private sealed class LockLostException : Exception;

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

        var batch = Db.CreateBatch();
        var moved = RedisKeys.AllShards.Select(shard => batch.HashGetAsync(keys.ShardPrefix(shard) + hashName, "tenant")).ToList();
        batch.Execute();
        var owners = await Task.WhenAll(moved);
        return RedisKeys.AllShards.Cast<int?>().FirstOrDefault(shard => !owners[shard!.Value].IsNullOrEmpty && TenantShard(owners[shard.Value].ToString()) == shard);
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Another replica is moving the store to the current key layout; waiting for it before serving.")]
    private static partial void LogWaiting(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Moved the store to the current key layout: {Moved} keys and entries in {ElapsedMs} ms.")]
    private static partial void LogMigrated(ILogger logger, int moved, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped '{Key}' while moving the store to the current key layout: it belongs to no tenant Hub can find (an orphan or a de-duplication mark).")]
    private static partial void LogDropped(ILogger logger, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Left {Count} keys under '{Prefix}' alone while moving the store to the current key layout: Hub does not know their names (another deployment's under a longer prefix?).")]
    private static partial void LogUnknownLeft(ILogger logger, int count, string prefix);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not give the key layout migration lock back (the store did not answer); it expires by itself.")]
    private static partial void LogLockNotReleased(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped {Count} entries of '{Key}' that are not a subscriber hash and a fingerprint in hex while converting the list's ledger.")]
    private static partial void LogEntriesDropped(ILogger logger, int count, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the key layout migration lock (this replica stalled past its lease); the replica that holds it now finishes the migration.")]
    private static partial void LogLockLost(ILogger logger);
}
