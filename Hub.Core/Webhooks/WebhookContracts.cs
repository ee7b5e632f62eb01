using System.Text.Json;

namespace Hub.Core.Webhooks;

/// <summary>Event types Hub sends. Sync jobs add their own.</summary>
public static class WebhookEvents
{
    public const string ConnectionConnected = "connection.connected";
    public const string ConnectionFailed = "connection.failed";
    public const string ConnectionRevoked = "connection.revoked";
    public const string SyncCompleted = "sync.completed";
    public const string SyncFailed = "sync.failed";
    public const string ListUnlinked = "list.unlinked";
}

/// <summary>Sends a signed event to a tenant's webhook URL, durably and with retries.</summary>
public interface IWebhookPublisher
{
    /// <summary>
    /// Queues <paramref name="data"/> as event <paramref name="eventType"/> for the tenant. Returns the
    /// delivery id, or null when the tenant has no webhook URL (nothing is queued then). A Redis outage
    /// (restart, failover) is waited out for up to <see cref="WebhookPublisher.StoreOutagePatience"/>
    /// before this throws.
    /// </summary>
    Task<string?> PublishAsync(TenantId tenant, string eventType, JsonElement data, CancellationToken cancellationToken);

    /// <summary>
    /// As <see cref="PublishAsync(TenantId, string, JsonElement, CancellationToken)"/>, for an event that
    /// may be published more than once (again after a failure, or noticed twice): <paramref name="eventKey"/>
    /// names it (e.g. a job id), every publish of the same tenant, type and key gets the same delivery id,
    /// and only the first queues a delivery (while that delivery is kept: <see cref="WebhookOptions.Retention"/>
    /// after it ended).
    /// </summary>
    Task<string?> PublishAsync(TenantId tenant, string eventType, JsonElement data, string eventKey, CancellationToken cancellationToken);
}

public enum WebhookDeliveryStatus
{
    /// <summary>Waiting for its first or next attempt.</summary>
    Pending,

    /// <summary>The receiver answered 2xx.</summary>
    Delivered,

    /// <summary>Given up: attempts exhausted, or the target is not allowed.</summary>
    Failed,
}

/// <summary>One POST to the receiver.</summary>
/// <param name="Attempt">1 for the first try.</param>
/// <param name="At">When it was sent.</param>
/// <param name="StatusCode">The receiver's HTTP status; null when it did not answer.</param>
/// <param name="Error">Why it failed, when it did (no answer, timeout, a non-2xx status).</param>
/// <param name="DurationMs">How long the receiver took, in milliseconds.</param>
public sealed record WebhookAttempt(int Attempt, DateTimeOffset At, int? StatusCode, string? Error, long DurationMs);

/// <summary>A delivery as the tenant sees it.</summary>
public sealed record WebhookDelivery(
    string Id,
    string EventType,
    WebhookDeliveryStatus Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? NextAttemptAt,
    IReadOnlyList<WebhookAttempt> Attempts);
