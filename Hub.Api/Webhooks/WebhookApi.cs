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
        v1.MapGet("/webhooks/deliveries", ListDeliveries).WithTags("Webhooks").Produces<Page<WebhookDeliveryResponse>>().ProducesValidationProblem();
        return v1;
    }

    /// <summary>List recent webhook deliveries, newest first.</summary>
    /// <remarks>
    /// Each delivery of an event to the tenant's <c>webhookUrl</c> with every attempt: pending (waiting for its next try), delivered
    /// (the receiver answered 2xx) or failed (given up). Events are signed with the tenant's secret (<c>Hub-Signature</c>).
    /// The last 200 are kept: a page without <c>total</c>, read on with <c>nextCursor</c>; deliveries queued meanwhile never shift a page.
    /// </remarks>
    /// <param name="cursor">The <c>nextCursor</c> of the previous page; absent: the newest deliveries.</param>
    /// <param name="limit">Page size, 1 to 200.</param>
    public static async Task<Results<Ok<Page<WebhookDeliveryResponse>>, ValidationProblem>> ListDeliveries(
        Tenant tenant, WebhookStore store, CancellationToken cancellationToken, string? cursor = null, int limit = 50)
    {
        if (Paging.Check(cursor, limit, WebhookStore.MaxDeliveriesPerTenant, out var after) is { } invalid)
        {
            return Problems.Paging(invalid);
        }

        return TypedResults.Ok((await store.ListAsync(tenant.Id, after, limit, cancellationToken)).Map(WebhookDeliveryResponse.From));
    }
}

/// <summary>One delivery: <c>status</c> is pending, delivered or failed.</summary>
/// <param name="Id">The delivery's id (also the event's <c>id</c>).</param>
/// <param name="EventType">The event, e.g. <c>sync.completed</c>.</param>
/// <param name="Status">Where the delivery stands.</param>
/// <param name="CreatedAt">When the event was queued.</param>
/// <param name="NextAttemptAt">When it is tried next, while pending.</param>
/// <param name="Attempts">Every attempt so far.</param>
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
