using Hub.Api.Hosting;
using Hub.Core.Storage;
using Hub.Core.Webhooks;
using Hub.Core.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Hub.Api.Webhooks;

/// <summary>The tenant's webhook deliveries under <c>/api/v1/webhooks</c>.</summary>
public static class WebhookApi
{
    public static RouteGroupBuilder MapWebhookApi(this RouteGroupBuilder v1)
    {
        v1.MapGet("/webhooks/deliveries", ListDeliveries).WithTags("Webhooks").ProducesValidationProblem();
        return v1;
    }

    /// <summary>List recent webhook deliveries, newest first.</summary>
    /// <remarks>
    /// Each delivery of an event to the tenant's <c>webhookUrl</c> with every attempt: pending (waiting for its next try), delivered
    /// (the receiver answered 2xx) or failed (given up). Events are signed with the tenant's secret (<c>Hub-Signature</c>).
    /// </remarks>
    /// <param name="limit">How many, 1 to the number kept.</param>
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
/// <param name="Id">The delivery's id (also the event's <c>id</c>).</param>
/// <param name="EventType">The event, e.g. <c>sync.completed</c>.</param>
/// <param name="Status">Where the delivery stands.</param>
/// <param name="CreatedAt">When the event was queued.</param>
/// <param name="NextAttemptAt">When it is tried next, while pending.</param>
/// <param name="Attempts">Every attempt so far.</param>/// <summary>One delivery: <c>status</c> is pending, delivered or failed.</summary>
public sealed record WebhookDeliveryResponse(
    string Id, string EventType, [OneOf<WebhookDeliveryStatus>] string Status, DateTimeOffset CreatedAt, DateTimeOffset? NextAttemptAt, IReadOnlyList<WebhookAttempt> Attempts)
{
    public static WebhookDeliveryResponse From(WebhookDelivery delivery) => new(
        delivery.Id,
        delivery.EventType,
        delivery.Status.ToString().ToLowerInvariant(),
        delivery.CreatedAt,
        delivery.NextAttemptAt,
        delivery.Attempts);
}
