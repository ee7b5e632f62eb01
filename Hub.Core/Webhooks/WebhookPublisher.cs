using System.Text;
using System.Text.Json;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using StackExchange.Redis;

namespace Hub.Core.Webhooks;

/// <summary>
/// Queues events in Redis; <see cref="WebhookDeliveryService"/> on any replica sends them. The body is
/// fixed at publish time (<c>{"id","type","createdAt","tenantId","data"}</c>) so every attempt signs the same bytes.
/// </summary>
/// <remarks>Reads the tenant's webhook URL straight from its hash: depending on TenantStore would be circular (TenantStore owns the data owners that publish).</remarks>
public sealed class WebhookPublisher(IConnectionMultiplexer redis, RedisKeys keys, WebhookStore store, TimeProvider time) : IWebhookPublisher
{
    /// <summary>How long publishing waits out a Redis outage (a restart, a failover) before it throws.</summary>
    public static readonly TimeSpan StoreOutagePatience = TimeSpan.FromMinutes(1);

    public Task<string?> PublishAsync(TenantId tenant, string eventType, JsonElement data, CancellationToken cancellationToken) =>
        QueueAsync(tenant, eventType, data, WebhookStore.NewId(), cancellationToken);

    public Task<string?> PublishAsync(TenantId tenant, string eventType, JsonElement data, string eventKey, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(eventKey);
        return QueueAsync(tenant, eventType, data, WebhookStore.IdFor(tenant, eventType, eventKey), cancellationToken);
    }

    private async Task<string?> QueueAsync(TenantId tenant, string eventType, JsonElement data, string id, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(eventType);
        var now = time.GetUtcNow();
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("id", id);
            writer.WriteString("type", eventType);
            writer.WriteString("createdAt", now);
            writer.WriteString("tenantId", tenant.ToString());
            writer.WritePropertyName("data");
            data.WriteTo(writer);
            writer.WriteEndObject();
        }

        var body = Encoding.UTF8.GetString(buffer.ToArray());
        // Every try queues the same id, and the store queues an id only once: a try that reached Redis but
        // lost its reply is not queued twice.
        return await StoreRetry.WaitOutAsync(async token =>
        {
            if ((await redis.GetDatabase().HashGetAsync(keys.Tenant(tenant), TenantFields.WebhookUrl)).IsNullOrEmpty)
            {
                return null;
            }

            return await store.EnqueueAsync(tenant, eventType, body, now, id, token);
        }, StoreOutagePatience, time, cancellationToken);
    }
}
