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
    public async Task<string?> PublishAsync(TenantId tenant, string eventType, JsonElement data, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(eventType);
        if ((await redis.GetDatabase().HashGetAsync(keys.Tenant(tenant), TenantFields.WebhookUrl)).IsNullOrEmpty)
        {
            return null;
        }

        var id = WebhookStore.NewId();
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

        return await store.EnqueueAsync(tenant, eventType, Encoding.UTF8.GetString(buffer.ToArray()), now, id, cancellationToken);
    }
}
