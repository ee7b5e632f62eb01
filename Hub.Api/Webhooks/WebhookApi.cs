using Hub.Api.Hosting;
using Hub.Core.Webhooks;
using Hub.Core.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Hub.Api.Webhooks;

/// <summary>The tenant's webhook deliveries under <c>/api/v1/webhooks</c>.</summary>
public static class WebhookApi
{
    public static RouteGroupBuilder MapWebhookApi(this RouteGroupBuilder v1)
    {
        v1.MapGet("/webhooks/deliveries", ListDeliveries).WithTags("Webhooks").ProducesValidationProblem()
            .WithSummary("Recent webhook deliveries, newest first, with every attempt.");
        return v1;
    }

    public static async Task<Results<Ok<List<WebhookDeliveryResponse>>, ValidationProblem>> ListDeliveries(
        Tenant tenant, WebhookStore store, CancellationToken cancellationToken, int limit = 50)
    {
        if (limit is < 1 or > WebhookStore.MaxDeliveriesPerTenant)
        {
            return Problems.Validation(new Dictionary<string, string[]> { ["limit"] = [$"Must be between 1 and {WebhookStore.MaxDeliveriesPerTenant}."] });
        }

        var deliveries = await store.ListAsync(tenant.Id, limit, cancellationToken);
        return TypedResults.Ok(deliveries.Select(WebhookDeliveryResponse.From).ToList());
    }
}

/// <summary>One delivery: <c>status</c> is pending, delivered or failed.</summary>
public sealed record WebhookDeliveryResponse(
    string Id, string EventType, string Status, DateTimeOffset CreatedAt, DateTimeOffset? NextAttemptAt, IReadOnlyList<WebhookAttempt> Attempts)
{
    public static WebhookDeliveryResponse From(WebhookDelivery delivery) => new(
        delivery.Id,
        delivery.EventType,
        delivery.Status.ToString().ToLowerInvariant(),
        delivery.CreatedAt,
        delivery.NextAttemptAt,
        delivery.Attempts);
}
