using System.Text;
using System.Text.Json;
using Hub.Core.Tenants;

namespace Hub.Core.Webhooks;

/// <summary>
/// Queues events in Redis; <see cref="WebhookDeliveryService"/> on any replica sends them. The body is
/// fixed at publish time (<c>{"id","type","createdAt","tenantId","data"}</c>) so every attempt signs the same bytes.
/// </summary>
public sealed class WebhookPublisher(TenantStore tenants, WebhookStore store, TimeProvider time) : IWebhookPublisher
{
    public async Task<string?> PublishAsync(TenantId tenant, string eventType, JsonElement data, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(eventType);
        if (await tenants.GetAsync(tenant, cancellationToken) is not { WebhookUrl: { Length: > 0 } })
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
