using System.Globalization;
using System.Text;
using System.Text.Json;
using Hub.Core.Lists;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Core.Events;

/// <summary>
/// A tenant's member events in the order Hub recorded them, kept for <see cref="EventsOptions.Retention"/> (a sorted set
/// of event JSON by cursor), and the ledger changes each one brings, made in the same script (Lua/record_event.lua) so an
/// event is applied and logged exactly once however often it is processed.
/// </summary>
public sealed class MemberEventLog(IConnectionMultiplexer redis, RedisKeys keys, IOptions<EventsOptions> options, TimeProvider time) : ITenantDataOwner
{
    private static readonly RedisScript RecordScript = RedisScript.Load("Events", "record_event");

    private IDatabase Db => redis.GetDatabase();

    /// <summary>
    /// Applies the event to the ledgers of <paramref name="lists"/> (the tenant's lists in the audience) and logs it; answers
    /// the event as logged (JSON, with the list keys that held the member and its cursor). Idempotent per event id.
    /// </summary>
    public async Task<JsonElement> RecordAsync(ClaimedEvent claimed, InboundEvent inbound, IReadOnlyList<ListKey> lists, CancellationToken cancellationToken)
    {
        var (tenant, eventId, now) = (claimed.Tenant, claimed.Id, time.GetUtcNow());
        var listKeys = new List<RedisKey> { keys.TenantEvents(tenant), keys.TenantEventRecorded(tenant, eventId) };
        foreach (var list in lists)
        {
            listKeys.AddRange([keys.ListLedger(tenant, list), keys.ListRefused(tenant, list), keys.ListMoved(tenant, list)]);
        }

        var result = (RedisResult[])(await RecordScript.EvaluateAsync(Db, [.. listKeys],
            [inbound.Kind, inbound.SubscriberHash, inbound.NewSubscriberHash ?? "", MovedValue(inbound.NewEmail, now), now.ToUnixTimeMilliseconds(),
             (long)options.Value.Retention.TotalMilliseconds, JsonHead(eventId, claimed.AudienceId, inbound, claimed.ReceivedAt), .. lists.Select(list => (RedisValue)list.ToString())]))!;
        var json = result[1].ToString();
        return json.Length == 0 ? default : JsonDocument.Parse(json).RootElement.Clone();
    }

    /// <summary>Events after <paramref name="since"/> (a cursor; null: from the oldest kept), at most <paramref name="limit"/>.</summary>
    public async Task<Page<JsonElement>> ReadAsync(TenantId tenant, long? since, int limit, CancellationToken cancellationToken)
    {
        var entries = await Db.SortedSetRangeByScoreWithScoresAsync(keys.TenantEvents(tenant),
            start: since ?? double.NegativeInfinity, exclude: since is null ? Exclude.None : Exclude.Start, take: limit);
        var items = entries.Select(entry => JsonDocument.Parse(entry.Element.ToString()).RootElement.Clone()).ToList();
        var next = entries.Length > 0 ? ((long)entries[^1].Score).ToString(CultureInfo.InvariantCulture) : since?.ToString(CultureInfo.InvariantCulture);
        // A feed, not a snapshot: nextCursor stays set on the last page (where to poll from later), and there is no total.
        return new Page<JsonElement>(items, next, null);
    }

    /// <summary>The tenant's logged events (JSON, as stored) that <paramref name="mentions"/> accepts; for a person's rights (Hub.Core/People).</summary>
    public async Task<IReadOnlyList<string>> EventsMentioningAsync(TenantId tenant, Func<string, bool> mentions, CancellationToken cancellationToken) =>
        [.. (await Db.SortedSetRangeByRankAsync(keys.TenantEvents(tenant))).Select(item => item.ToString()).Where(mentions)];

    /// <summary>Removes logged events (as read by <see cref="EventsMentioningAsync"/>); the cursors of the others stay.</summary>
    public Task RemoveEventsAsync(TenantId tenant, IReadOnlyList<string> events, CancellationToken cancellationToken) =>
        events.Count == 0 ? Task.CompletedTask : Db.SortedSetRemoveAsync(keys.TenantEvents(tenant), [.. events.Select(item => (RedisValue)item)]);

    public Task DeleteTenantDataAsync(TenantId tenant, CancellationToken cancellationToken) => Db.KeyDeleteAsync(keys.TenantEvents(tenant));

    /// <summary>What a list's moved hash keeps for an address that changed: the new address and when.</summary>
    internal static string MovedValue(string? newEmail, DateTimeOffset at) =>
        newEmail is null ? "" : $"{newEmail}\n{at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The event as the tenant reads it, up to the list keys and cursor the script adds: <c>{"id":…, … ,</c>.</summary>
    private static string JsonHead(string eventId, string audienceId, InboundEvent inbound, DateTimeOffset receivedAt)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("id", eventId);
            writer.WriteString("type", inbound.Type);
            writer.WriteString("audienceId", audienceId);
            writer.WriteString("email", inbound.NewEmail ?? inbound.Email);
            if (inbound.NewEmail is { } newEmail)
            {
                writer.WriteString("oldEmail", inbound.Email);
                writer.WriteString("newEmail", newEmail);
            }

            if (inbound.Reason is { } reason)
            {
                writer.WriteString("reason", reason);
            }

            if (inbound.Action is { } action)
            {
                writer.WriteString("action", action);
            }

            if (inbound.MergeFields is { } merges)
            {
                writer.WritePropertyName("mergeFields");
                writer.WriteStartObject();
                foreach (var (tag, value) in merges)
                {
                    writer.WritePropertyName(tag);
                    value.WriteTo(writer);
                }

                writer.WriteEndObject();
            }

            writer.WriteString("occurredAt", inbound.FiredAt);
            writer.WriteString("receivedAt", receivedAt);
            writer.WriteEndObject();
        }

        var json = Encoding.UTF8.GetString(buffer.ToArray());
        return json[..^1] + ",";
    }
}
