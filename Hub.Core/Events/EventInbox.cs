using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Core.Events;

/// <summary>A received event claimed for processing.</summary>
public sealed record ClaimedEvent(string Id, TenantId Tenant, string AudienceId, IReadOnlyDictionary<string, string> Fields, DateTimeOffset ReceivedAt, int Attempt);

/// <summary>
/// Where the receiver keeps what Mailchimp sent before it answers, so that processing can happen after the answer and on
/// any replica: a hash per event, a sorted set by due time (a claim moves an event past a lease, so an event whose replica
/// dies is due again), and a marker per event id for the retention, so a repeated delivery is recognised.
/// </summary>
public sealed class EventInbox(IConnectionMultiplexer redis, RedisKeys keys, IOptions<EventsOptions> options, TimeProvider time)
{
    private static readonly RedisScript AcceptScript = RedisScript.Load("Events", "accept_event");
    private static readonly RedisScript ClaimScript = RedisScript.Load("Storage", "claim_due");
    private static readonly RedisScript SettleScript = RedisScript.Load("Events", "settle_event");

    private IDatabase Db => redis.GetDatabase();

    private readonly ShardTurns _turns = new();

    /// <summary>Set when this replica accepted an event, so its processor starts at once.</summary>
    public WorkSignal Accepted { get; } = new();

    /// <summary>Keeps the event; false when an event with this id was received before (nothing changes then).</summary>
    public async Task<bool> AcceptAsync(string id, TenantId tenant, string audienceId, IReadOnlyDictionary<string, string> fields, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.Serialize(fields.ToDictionary(), HubJsonContext.Default.DictionaryStringString);
        var shard = RedisKeys.ShardOf(tenant);
        var accepted = (long)await AcceptScript.EvaluateAsync(Db, [keys.InboundEventSeen(shard, id), keys.InboundEvent(shard, id), keys.InboundEventsDue(shard)],
            id, tenant.ToString(), audienceId, json, time.GetUtcNow().ToUnixTimeMilliseconds(), (long)options.Value.Retention.TotalMilliseconds) == 1;
        if (accepted)
        {
            Accepted.Set();
        }

        return accepted;
    }

    /// <summary>Claims up to <paramref name="max"/> due events, oldest first within a shard, under one lease token.</summary>
    public async Task<(IReadOnlyList<ClaimedEvent> Events, string LeaseToken)> ClaimDueAsync(int max, CancellationToken cancellationToken)
    {
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var claimed = new List<ClaimedEvent>();
        foreach (var shard in await _turns.DueAsync(Db, keys.InboundEventsDue, time.GetUtcNow().ToUnixTimeMilliseconds()))
        {
            await ClaimDueAsync(shard, max - claimed.Count, token, claimed);
            _turns.Served(shard);
            if (claimed.Count >= max)
            {
                break;
            }
        }

        return (claimed, token);
    }

    private async Task ClaimDueAsync(int shard, int max, string token, List<ClaimedEvent> claimed)
    {
        var now = time.GetUtcNow();
        var ids = (RedisResult[])(await ClaimScript.EvaluateAsync(Db, [keys.InboundEventsDue(shard)],
            now.ToUnixTimeMilliseconds(), (now + options.Value.Lease).ToUnixTimeMilliseconds(), max, keys.InboundEvent(shard, "").ToString(), token))!;
        if (ids.Length == 0)
        {
            return;
        }

        var batch = Db.CreateBatch();
        var reads = ids.Select(id => (Id: id.ToString(), Fields: batch.HashGetAllAsync(keys.InboundEvent(shard, id.ToString())))).ToList();
        batch.Execute();
        foreach (var read in reads)
        {
            var stored = (await read.Fields).ToDictionary(entry => entry.Name.ToString(), entry => entry.Value);
            if (!stored.TryGetValue("tenant", out var tenant) || !TenantId.TryParse(tenant, out var tenantId))
            {
                await Db.SortedSetRemoveAsync(keys.InboundEventsDue(shard), read.Id);
                continue;
            }

            claimed.Add(new ClaimedEvent(read.Id, tenantId, stored["audience"].ToString(),
                JsonSerializer.Deserialize(stored["fields"].ToString(), HubJsonContext.Default.DictionaryStringString)!,
                DateTimeOffset.FromUnixTimeMilliseconds((long)stored["receivedAt"]),
                (int)stored["attempts"]));
        }
    }

    /// <summary>Ends a processed event. False when the lease was lost (another replica processes it; that is harmless).</summary>
    public Task<bool> CompleteAsync(ClaimedEvent claimed, string leaseToken) => SettleAsync(claimed, leaseToken, "");

    /// <summary>Makes a claimed event due again at <paramref name="at"/>.</summary>
    public Task<bool> RetryAtAsync(ClaimedEvent claimed, string leaseToken, DateTimeOffset at) =>
        SettleAsync(claimed, leaseToken, at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));

    /// <summary>
    /// The received events of the tenant not processed yet whose fields (as stored, JSON) <paramref name="mentions"/> accepts.
    /// For a person's rights (Hub.Core/People); the backlog is seconds of events.
    /// </summary>
    public async Task<IReadOnlyList<string>> WaitingMentioningAsync(TenantId tenant, Func<string, bool> mentions, CancellationToken cancellationToken)
    {
        var shard = RedisKeys.ShardOf(tenant);
        var ids = (await Db.SortedSetRangeByRankAsync(keys.InboundEventsDue(shard))).Select(id => id.ToString()).ToList();
        var batch = Db.CreateBatch();
        var reads = ids.Select(id => batch.HashGetAsync(keys.InboundEvent(shard, id), ["tenant", "fields"])).ToList();
        batch.Execute();
        var found = new List<string>();
        for (var i = 0; i < ids.Count; i++)
        {
            var fields = await reads[i];
            if (fields[0] == tenant.ToString() && !fields[1].IsNullOrEmpty && mentions(fields[1].ToString()))
            {
                found.Add(ids[i]);
            }
        }

        return found;
    }

    /// <summary>Drops received events unprocessed (a replica processing one now finds it gone when it settles it).</summary>
    public async Task DropAsync(TenantId tenant, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var shard = RedisKeys.ShardOf(tenant);
        var transaction = Db.CreateTransaction();
        foreach (var id in ids)
        {
            _ = transaction.KeyDeleteAsync(keys.InboundEvent(shard, id));
            _ = transaction.SortedSetRemoveAsync(keys.InboundEventsDue(shard), id);
        }

        await transaction.ExecuteCheckedAsync();
    }

    /// <summary>How many received events wait for processing (for the backlog metric and tests).</summary>
    public Task<long> BacklogAsync() => ShardReads.SumAsync(Db, (batch, shard) => batch.SortedSetLengthAsync(keys.InboundEventsDue(shard)));

    private async Task<bool> SettleAsync(ClaimedEvent claimed, string leaseToken, string nextAt)
    {
        var shard = RedisKeys.ShardOf(claimed.Tenant);
        return (long)await SettleScript.EvaluateAsync(Db, [keys.InboundEvent(shard, claimed.Id), keys.InboundEventsDue(shard)], claimed.Id, leaseToken, nextAt) == 1;
    }
}
