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

    /// <summary>Set when this replica accepted an event, so its processor starts at once.</summary>
    public WorkSignal Accepted { get; } = new();

    /// <summary>Keeps the event; false when an event with this id was received before (nothing changes then).</summary>
    public async Task<bool> AcceptAsync(string id, TenantId tenant, string audienceId, IReadOnlyDictionary<string, string> fields, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.Serialize(fields.ToDictionary(), HubJsonContext.Default.DictionaryStringString);
        var accepted = (long)await AcceptScript.EvaluateAsync(Db, [keys.InboundEventSeen(id), keys.InboundEvent(id), keys.InboundEventsDue],
            id, tenant.ToString(), audienceId, json, time.GetUtcNow().ToUnixTimeMilliseconds(), (long)options.Value.Retention.TotalMilliseconds) == 1;
        if (accepted)
        {
            Accepted.Set();
        }

        return accepted;
    }

    /// <summary>Claims up to <paramref name="max"/> due events, oldest first, under one lease token.</summary>
    public async Task<(IReadOnlyList<ClaimedEvent> Events, string LeaseToken)> ClaimDueAsync(int max, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var ids = (RedisResult[])(await ClaimScript.EvaluateAsync(Db, [keys.InboundEventsDue],
            now.ToUnixTimeMilliseconds(), (now + options.Value.Lease).ToUnixTimeMilliseconds(), max, keys.InboundEvent("").ToString(), token))!;
        if (ids.Length == 0)
        {
            return ([], token);
        }

        var batch = Db.CreateBatch();
        var reads = ids.Select(id => (Id: id.ToString(), Fields: batch.HashGetAllAsync(keys.InboundEvent(id.ToString())))).ToList();
        batch.Execute();
        var claimed = new List<ClaimedEvent>(reads.Count);
        foreach (var read in reads)
        {
            var stored = (await read.Fields).ToDictionary(entry => entry.Name.ToString(), entry => entry.Value);
            if (!stored.TryGetValue("tenant", out var tenant) || !TenantId.TryParse(tenant, out var tenantId))
            {
                await Db.SortedSetRemoveAsync(keys.InboundEventsDue, read.Id);
                continue;
            }

            claimed.Add(new ClaimedEvent(read.Id, tenantId, stored["audience"].ToString(),
                JsonSerializer.Deserialize(stored["fields"].ToString(), HubJsonContext.Default.DictionaryStringString)!,
                DateTimeOffset.FromUnixTimeMilliseconds((long)stored["receivedAt"]),
                (int)stored["attempts"]));
        }

        return (claimed, token);
    }

    /// <summary>Ends a processed event. False when the lease was lost (another replica processes it; that is harmless).</summary>
    public Task<bool> CompleteAsync(string id, string leaseToken) => SettleAsync(id, leaseToken, "");

    /// <summary>Makes a claimed event due again at <paramref name="at"/>.</summary>
    public Task<bool> RetryAtAsync(string id, string leaseToken, DateTimeOffset at) =>
        SettleAsync(id, leaseToken, at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));

    /// <summary>
    /// The received events of the tenant not processed yet whose fields (as stored, JSON) <paramref name="mentions"/> accepts.
    /// For a person's rights (Hub.Core/People); the backlog is seconds of events.
    /// </summary>
    public async Task<IReadOnlyList<string>> WaitingMentioningAsync(TenantId tenant, Func<string, bool> mentions, CancellationToken cancellationToken)
    {
        var ids = (await Db.SortedSetRangeByRankAsync(keys.InboundEventsDue)).Select(id => id.ToString()).ToList();
        var batch = Db.CreateBatch();
        var reads = ids.Select(id => batch.HashGetAsync(keys.InboundEvent(id), ["tenant", "fields"])).ToList();
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
    public async Task DropAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var transaction = Db.CreateTransaction();
        foreach (var id in ids)
        {
            _ = transaction.KeyDeleteAsync(keys.InboundEvent(id));
            _ = transaction.SortedSetRemoveAsync(keys.InboundEventsDue, id);
        }

        await transaction.ExecuteCheckedAsync();
    }

    /// <summary>How many received events wait for processing (for the backlog metric and tests).</summary>
    public Task<long> BacklogAsync() => Db.SortedSetLengthAsync(keys.InboundEventsDue);

    private async Task<bool> SettleAsync(string id, string leaseToken, string nextAt) =>
        (long)await SettleScript.EvaluateAsync(Db, [keys.InboundEvent(id), keys.InboundEventsDue], id, leaseToken, nextAt) == 1;
}
