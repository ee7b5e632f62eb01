using System.Net;
using System.Net.Sockets;
using System.Text;
using Hub.Core.Diagnostics;
using Hub.Core.Security;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hub.Core.Webhooks;

/// <summary>
/// Runs on every replica: claims due deliveries with a lease, POSTs them signed, and records each
/// attempt. Failures are retried with exponential backoff until <see cref="WebhookOptions.MaxAttempts"/>.
/// </summary>
public sealed partial class WebhookDeliveryService(
    WebhookStore store,
    TenantStore tenants,
    TenantSecrets secrets,
    IHttpClientFactory httpClients,
    StoreLayout layout,
    IOptions<WebhookOptions> options,
    TimeProvider time,
    ILogger<WebhookDeliveryService> logger) : BackgroundService
{
    public const string HttpClientName = "hub-webhooks";
    private const int ClaimBatch = 20;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await layout.WaitAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var (deliveries, lease) = await store.ClaimDueAsync(ClaimBatch, stoppingToken);
                await Task.WhenAll(deliveries.Select(delivery => DeliverAsync(delivery, lease, stoppingToken)));
                if (deliveries.Count == ClaimBatch)
                {
                    continue;
                }

                HubTelemetry.Webhooks.RecordPending(await store.PendingCountAsync(stoppingToken));
            }
            catch (Exception exception) when (StoreFaults.IsStoreFault(exception))
            {
                // Redis is restarting, loading or failing over. A claimed delivery whose attempt was not
                // recorded is due again once its lease ends, and is then sent with the same id.
                LogQueueUnavailable(logger, exception);
            }
            catch (StackExchange.Redis.RedisException exception)
            {
                LogQueueFailed(logger, exception);
            }

            if (!await store.Enqueued.WaitAsync(options.Value.PollInterval, stoppingToken))
            {
                return;
            }
        }
    }

    private async Task DeliverAsync(DeliveryRef delivery, string lease, CancellationToken cancellationToken)
    {
        var id = delivery.Id;
        var leaseEnds = time.GetUtcNow() + options.Value.Lease;
        if (await store.GetQueuedAsync(delivery, cancellationToken) is not { } queued
            || await tenants.GetAsync(queued.Tenant, cancellationToken) is not { } tenant)
        {
            await store.DropAsync(delivery, cancellationToken);
            return;
        }

        var settings = options.Value;
        var started = time.GetUtcNow();
        var (statusCode, error, retry) = await SendAsync(queued, tenant, settings, cancellationToken);
        var attempt = new WebhookAttempt(queued.Attempt, started, statusCode, error, (long)(time.GetUtcNow() - started).TotalMilliseconds);

        WebhookDeliveryStatus status;
        DateTimeOffset? next = null;
        if (error is null)
        {
            status = WebhookDeliveryStatus.Delivered;
        }
        else if (retry && queued.Attempt < settings.MaxAttempts)
        {
            status = WebhookDeliveryStatus.Pending;
            next = time.GetUtcNow() + Backoff(settings, queued.Attempt);
        }
        else
        {
            status = WebhookDeliveryStatus.Failed;
        }

        // The POST is done: record it even if Redis is away for a moment, while the lease lasts, so the
        // receiver is not sent the same delivery again. (A try whose reply was lost finds the lease
        // cleared and reports it lost; the attempt was recorded by that try.)
        if (!await StoreRetry.WaitOutAsync(token => store.CompleteAttemptAsync(delivery, lease, attempt, status, next, token), leaseEnds - time.GetUtcNow(), time, cancellationToken))
        {
            LogLeaseLost(logger, id);
            return;
        }

        HubTelemetry.Webhooks.Deliveries.Add(1, new KeyValuePair<string, object?>(HubTelemetry.Webhooks.OutcomeTag, status switch
        {
            WebhookDeliveryStatus.Delivered => HubTelemetry.Webhooks.Delivered,
            WebhookDeliveryStatus.Pending => HubTelemetry.Webhooks.FailedAttempt,
            _ => HubTelemetry.Webhooks.GivenUp,
        }), new KeyValuePair<string, object?>(HubTelemetry.Tags.TenantId, queued.Tenant.ToString()));

        if (status == WebhookDeliveryStatus.Failed)
        {
            LogGaveUp(logger, id, queued.Tenant.ToString(), queued.EventType, queued.Attempt, error);
        }
    }

    /// <summary>Wait before attempt <c>n + 1</c>: the initial delay doubled per earlier attempt, capped.</summary>
    public static TimeSpan Backoff(WebhookOptions settings, int attemptsMade)
    {
        var factor = Math.Pow(2, Math.Min(attemptsMade - 1, 30));
        var delay = TimeSpan.FromMilliseconds(settings.InitialRetryDelay.TotalMilliseconds * factor);
        return delay < settings.MaxRetryDelay ? delay : settings.MaxRetryDelay;
    }

    private async Task<(int? StatusCode, string? Error, bool Retry)> SendAsync(QueuedWebhook queued, Tenant tenant, WebhookOptions settings, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(tenant.WebhookUrl))
        {
            return (null, "The tenant has no webhook URL.", false);
        }

        if (WebhookTargetRules.Check(tenant.WebhookUrl, settings.AllowPrivateTargets == true) is { } refused)
        {
            return (null, "Webhook URL refused: " + refused, false);
        }

        if (await secrets.GetAsync(queued.Tenant, SecretNames.WebhookSigning) is not { } signingSecret)
        {
            return (null, "The tenant has no webhook signing secret.", false);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, tenant.WebhookUrl)
        {
            Content = new StringContent(queued.Body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(WebhookSignature.HeaderName, WebhookSignature.Create(signingSecret, time.GetUtcNow().ToUnixTimeSeconds(), queued.Body));
        request.Headers.Add("Hub-Event", queued.EventType);
        request.Headers.Add("Hub-Delivery", queued.Id);
        request.Headers.Add("Hub-Attempt", queued.Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.RequestTimeout);
        try
        {
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var code = (int)response.StatusCode;
            return response.IsSuccessStatusCode ? (code, null, false) : (code, $"The receiver answered {code}.", true);
        }
        catch (HttpRequestException exception) when (exception.InnerException is WebhookTargetRefusedException refusedAddress)
        {
            return (null, refusedAddress.Message, false);
        }
        catch (HttpRequestException exception)
        {
            return (null, "Could not reach the receiver: " + exception.HttpRequestError, true);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"The receiver did not answer within {settings.RequestTimeout.TotalSeconds:F0} s.", true);
        }
    }

    /// <summary>
    /// Resolves the host and connects only to public addresses, so a name that resolves (or is
    /// re-pointed) to a private range is refused at delivery time, not only when the URL was saved.
    /// </summary>
    internal static async ValueTask<Stream> ConnectToPublicAddressAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(context.DnsEndPoint.Host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, cancellationToken);
        if (addresses.Length == 0 || addresses.Any(WebhookTargetRules.IsPrivate))
        {
            throw new WebhookTargetRefusedException($"Webhook URL refused: {context.DnsEndPoint.Host} resolves to a private, loopback or link-local address.");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook queue unavailable; retrying at the next poll.")]
    private static partial void LogQueueUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook queue failed; retrying at the next poll.")]
    private static partial void LogQueueFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery {DeliveryId} lost its lease before completing; another replica took it over.")]
    private static partial void LogLeaseLost(ILogger logger, string deliveryId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery {DeliveryId} of {EventType} for tenant {TenantId} failed after {Attempts} attempts: {Error}")]
    private static partial void LogGaveUp(ILogger logger, string deliveryId, string tenantId, string eventType, int attempts, string? error);
}

/// <summary>The webhook host resolved to an address Hub must not call.</summary>
public sealed class WebhookTargetRefusedException(string message) : Exception(message);
