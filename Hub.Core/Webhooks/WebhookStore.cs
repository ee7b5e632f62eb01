using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Hub.Core.Diagnostics;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Core.Webhooks;

/// <summary>
/// The durable webhook queue: a hash per delivery, a sorted set of delivery ids by due time, and a
/// per-tenant index for reading. A claim pushes the due time past a lease, so a delivery whose
/// replica dies becomes due again; completing needs the lease token, so a late replica cannot
/// overwrite a newer attempt.
/// </summary>
public sealed class WebhookStore(IConnectionMultiplexer redis, RedisKeys keys, IOptions<WebhookOptions> options, TimeProvider time) : ITenantDataOwner
{
    /// <summary>Recent deliveries kept readable per tenant.</summary>
    public const int MaxDeliveriesPerTenant = 200;

    private const string IdAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    private static readonly RedisScript ClaimScript = RedisScript.Load("Storage", "claim_due");
    private static readonly RedisScript CompleteScript = RedisScript.Load("Webhooks", "complete_attempt");

    private IDatabase Db => redis.GetDatabase();

    private readonly ShardTurns _turns = new();

    /// <summary>Set when this replica queued a delivery, so its delivery service sends it at once.</summary>
    public WorkSignal Enqueued { get; } = new();

    /// <summary>Queues a delivery, unless one with this id exists already (a repeated publish of the same event): then nothing changes. Returns the id.</summary>
    public async Task<string> EnqueueAsync(TenantId tenant, string eventType, string body, DateTimeOffset createdAt, string id, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("webhook.enqueue");
        var now = createdAt.ToUnixTimeMilliseconds();
        var shard = RedisKeys.ShardOf(tenant);
        var queued = await StoreTransactions.RetryOnConflictAsync(async () =>
        {
            var transaction = Db.CreateTransaction();
            var isNew = transaction.AddCondition(StoreCondition.KeyNotExists(keys.WebhookDelivery(shard, id)));
            _ = transaction.HashSetAsync(keys.WebhookDelivery(shard, id),
                [
                    new("tenant", tenant.ToString()),
                    new("type", eventType),
                    new("body", body),
                    new("status", SnakeCase<WebhookDeliveryStatus>.ToText(WebhookDeliveryStatus.Pending)),
                    new("attempts", 0),
                    new("createdAt", now),
                    new("nextAttemptAt", now),
                ]);
            _ = transaction.SortedSetAddAsync(keys.WebhookQueue(shard), id, now);
            _ = transaction.SortedSetAddAsync(keys.TenantWebhookDeliveries(tenant), id, now);
            _ = transaction.SortedSetRemoveRangeByRankAsync(keys.TenantWebhookDeliveries(tenant), 0, -(MaxDeliveriesPerTenant + 1));
            return await transaction.ExecuteCheckedAsync(isNew);
        });
        if (queued)
        {
            Enqueued.Set();
        }

        return id;
    }

    public static string NewId() => "wh_" + RandomNumberGenerator.GetString(IdAlphabet, 20);

    /// <summary>The delivery id of a named event: the same for every publish with the same tenant, type and key.</summary>
    public static string IdFor(TenantId tenant, string eventType, string eventKey)
    {
        var hash = SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{tenant}\n{eventType}\n{eventKey}"));
        return "wh_" + string.Concat(hash.Take(20).Select(value => IdAlphabet[value % IdAlphabet.Length]));
    }

    /// <summary>Deliveries not yet delivered or given up (due now or later, or being sent), across all tenants.</summary>
    public Task<long> PendingCountAsync(CancellationToken cancellationToken) =>
        ShardReads.SumAsync(Db, (batch, shard) => batch.SortedSetLengthAsync(keys.WebhookQueue(shard)));

    /// <summary>Claims up to <paramref name="max"/> due deliveries for this replica, from the shards that have some, in turn.</summary>
    public async Task<(IReadOnlyList<DeliveryRef> Deliveries, string LeaseToken)> ClaimDueAsync(int max, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("webhook.claim", lookingForWork: true);
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var claimed = new List<DeliveryRef>();
        foreach (var shard in await _turns.DueAsync(Db, keys.WebhookQueue, time.GetUtcNow().ToUnixTimeMilliseconds()))
        {
            var now = time.GetUtcNow();
            var result = (RedisResult[])(await ClaimScript.EvaluateAsync(Db, [keys.WebhookQueue(shard)],
                now.ToUnixTimeMilliseconds(), (now + options.Value.Lease).ToUnixTimeMilliseconds(), max - claimed.Count, keys.WebhookDelivery(shard, "").ToString(), token))!;
            claimed.AddRange(result.Select(item => new DeliveryRef(shard, item.ToString())));
            _turns.Served(shard);
            if (claimed.Count >= max)
            {
                break;
            }
        }

        return (claimed, token);
    }

    /// <summary>The stored delivery for sending; null when it is gone (tenant deleted).</summary>
    public async Task<QueuedWebhook?> GetQueuedAsync(DeliveryRef delivery, CancellationToken cancellationToken)
    {
        var id = delivery.Id;
        var fields = (await Db.HashGetAllAsync(keys.WebhookDelivery(delivery.Shard, id))).ToDictionary(entry => entry.Name.ToString(), entry => entry.Value);
        if (!fields.TryGetValue("tenant", out var tenant) || !TenantId.TryParse(tenant.ToString(), out var tenantId))
        {
            return null;
        }

        return new QueuedWebhook(id, tenantId, fields["type"].ToString(), fields["body"].ToString(), (int)fields["attempts"]);
    }

    /// <summary>Drops a delivery that can no longer be sent (its tenant is gone).</summary>
    public Task DropAsync(DeliveryRef delivery, CancellationToken cancellationToken) => Db.SortedSetRemoveAsync(keys.WebhookQueue(delivery.Shard), delivery.Id);

    /// <summary>Records an attempt and schedules the next one (<paramref name="nextAttemptAt"/>) or ends the delivery. False when the lease was lost.</summary>
    public async Task<bool> CompleteAttemptAsync(
        DeliveryRef delivery, string leaseToken, WebhookAttempt attempt, WebhookDeliveryStatus status, DateTimeOffset? nextAttemptAt, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("webhook.complete");
        var (shard, id) = delivery;
        var result = await CompleteScript.EvaluateAsync(Db,
            [keys.WebhookDelivery(shard, id), keys.WebhookQueue(shard), keys.WebhookAttempts(shard, id)],
            leaseToken,
            SnakeCase<WebhookDeliveryStatus>.ToText(status),
            nextAttemptAt?.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) ?? "",
            JsonSerializer.Serialize(attempt, HubJsonContext.Default.WebhookAttempt),
            id,
            (long)options.Value.Retention.TotalSeconds);
        return (long)result == 1;
    }

    /// <summary>A page of the tenant's recent deliveries (the last <see cref="MaxDeliveriesPerTenant"/>), newest first after <paramref name="after"/>, with every attempt.</summary>
    public async Task<Page<WebhookDelivery>> ListAsync(TenantId tenant, PageCursor? after, int limit, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("webhook.list");
        var shard = RedisKeys.ShardOf(tenant);
        var entries = await Db.RangeAfterAsync(keys.TenantWebhookDeliveries(tenant), after, limit + 1, Order.Descending);
        var ids = entries.Take(limit).Select(entry => entry.Element.ToString()).ToList();
        var batch = Db.CreateBatch();
        var reads = ids.Select(id => (Id: id, Fields: batch.HashGetAllAsync(keys.WebhookDelivery(shard, id)), Attempts: batch.ListRangeAsync(keys.WebhookAttempts(shard, id)))).ToList();
        batch.Execute();
        var deliveries = new List<WebhookDelivery>(reads.Count);
        foreach (var read in reads)
        {
            var fields = (await read.Fields).ToDictionary(entry => entry.Name.ToString(), entry => entry.Value);
            if (!fields.ContainsKey("type"))
            {
                continue;
            }

            var attempts = (await read.Attempts).Select(item => JsonSerializer.Deserialize((string)item!, HubJsonContext.Default.WebhookAttempt)!).ToList();
            deliveries.Add(new WebhookDelivery(
                read.Id,
                fields["type"].ToString(),
                SnakeCase<WebhookDeliveryStatus>.TryParse(fields["status"].ToString(), out var status) ? status : WebhookDeliveryStatus.Failed,
                DateTimeOffset.FromUnixTimeMilliseconds((long)fields["createdAt"]),
                fields.TryGetValue("nextAttemptAt", out var next) && next.HasValue ? DateTimeOffset.FromUnixTimeMilliseconds((long)next) : null,
                attempts));
        }

        // No total: a delivery past its retention stays in the index until the index is trimmed.
        return new Page<WebhookDelivery>(deliveries, entries.Length > limit ? Paging.CursorAfter(entries[limit - 1]) : null, null);
    }

    /// <summary>
    /// The ids of the tenant's deliveries, pending or past, whose body <paramref name="mentions"/> accepts: those in its index
    /// (the most recent <see cref="MaxDeliveriesPerTenant"/>) and every one still queued. For a person's rights (Hub.Core/People).
    /// </summary>
    public async Task<IReadOnlyList<string>> DeliveriesMentioningAsync(TenantId tenant, Func<string, bool> mentions, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("webhook.mentioning");
        var shard = RedisKeys.ShardOf(tenant);
        var ids = (await Db.SortedSetRangeByRankAsync(keys.TenantWebhookDeliveries(tenant)))
            .Concat(await Db.SortedSetRangeByRankAsync(keys.WebhookQueue(shard)))
            .Select(id => id.ToString()).Distinct(StringComparer.Ordinal).ToList();
        var found = new List<string>();
        foreach (var page in ids.Chunk(100))
        {
            var batch = Db.CreateBatch();
            var reads = page.Select(id => batch.HashGetAsync(keys.WebhookDelivery(shard, id), ["tenant", "body"])).ToList();
            batch.Execute();
            for (var i = 0; i < page.Length; i++)
            {
                var fields = await reads[i];
                if (fields[0] == tenant.ToString() && !fields[1].IsNullOrEmpty && mentions(fields[1].ToString()))
                {
                    found.Add(page[i]);
                }
            }
        }

        return found;
    }

    /// <summary>Deletes deliveries of the tenant with their attempts, sent or not.</summary>
    public async Task DeleteDeliveriesAsync(TenantId tenant, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var shard = RedisKeys.ShardOf(tenant);
        var transaction = Db.CreateTransaction();
        foreach (var id in ids)
        {
            _ = transaction.KeyDeleteAsync([keys.WebhookDelivery(shard, id), keys.WebhookAttempts(shard, id)]);
            _ = transaction.SortedSetRemoveAsync(keys.WebhookQueue(shard), id);
            _ = transaction.SortedSetRemoveAsync(keys.TenantWebhookDeliveries(tenant), id);
        }

        await transaction.ExecuteCheckedAsync();
    }

    public async Task DeleteTenantDataAsync(TenantId tenant, CancellationToken cancellationToken)
    {
        var shard = RedisKeys.ShardOf(tenant);
        var ids = await Db.SortedSetRangeByRankAsync(keys.TenantWebhookDeliveries(tenant));
        var transaction = Db.CreateTransaction();
        foreach (var id in ids)
        {
            _ = transaction.KeyDeleteAsync([keys.WebhookDelivery(shard, id.ToString()), keys.WebhookAttempts(shard, id.ToString())]);
            _ = transaction.SortedSetRemoveAsync(keys.WebhookQueue(shard), id);
        }

        _ = transaction.KeyDeleteAsync(keys.TenantWebhookDeliveries(tenant));
        await transaction.ExecuteCheckedAsync();
    }
}

/// <summary>Where a claimed delivery is: its shard (<see cref="RedisKeys.ShardOf"/> of its tenant) and id.</summary>
public readonly record struct DeliveryRef(int Shard, string Id);

/// <summary>A claimed delivery: what to send, and how many attempts this one makes (1-based).</summary>
public sealed record QueuedWebhook(string Id, TenantId Tenant, string EventType, string Body, int Attempt);
