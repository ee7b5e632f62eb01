using Hub.Core.Diagnostics;
using Hub.Core.Lists;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Hub.Core.Webhooks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hub.Core.Events;

/// <summary>
/// Runs on every replica: claims received Mailchimp events with a lease and, for each, applies it to Hub's ledger and
/// logs it for the tenant (one script, once per event: <see cref="MemberEventLog"/>), then queues the signed webhook to the
/// tenant under the event's id (queued once however often this runs). Every step can be repeated, so an event whose
/// replica dies half-way is simply processed again after its lease. Events of different members run side by side; the
/// events of one member in the order Mailchimp fired them.
/// </summary>
public sealed partial class MailchimpEventProcessor(
    EventInbox inbox,
    MemberEventLog log,
    ListStore lists,
    TenantStore tenants,
    IWebhookPublisher publisher,
    StoreLayout layout,
    IOptions<EventsOptions> options,
    TimeProvider time,
    ILogger<MailchimpEventProcessor> logger) : BackgroundService
{
    private const int ClaimBatch = 200;
    private const int Parallelism = 8;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.ProcessReceived)
        {
            return;
        }

        await layout.WaitAsync(stoppingToken);

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var (events, lease) = await inbox.ClaimDueAsync(ClaimBatch, stoppingToken);
                if (events.Count > 0)
                {
                    await ProcessAsync(events, lease, stoppingToken);
                    if (events.Count == ClaimBatch)
                    {
                        continue;
                    }
                }
            }
            catch (Exception exception) when (StoreFaults.IsStoreFault(exception))
            {
                // Redis is restarting or failing over; claimed events are due again when their lease ends.
                LogInboxUnavailable(logger, exception);
            }

            if (!await inbox.Accepted.WaitAsync(options.Value.PollInterval, stoppingToken))
            {
                return;
            }
        }
    }

    private Task ProcessAsync(IReadOnlyList<ClaimedEvent> events, string lease, CancellationToken cancellationToken)
    {
        var byMember = events
            .Select(claimed => (Claimed: claimed, Inbound: InboundEvent.Read(claimed.Fields, claimed.AudienceId, out _, out _)))
            .GroupBy(item => $"{item.Claimed.Tenant} {item.Claimed.AudienceId} {item.Inbound?.SubscriberHash}");
        // The tenant and its lists in the audience are read once per claim for all its events there, not once per event.
        var audiences = events.Select(claimed => (claimed.Tenant, claimed.AudienceId)).Distinct()
            .ToDictionary(audience => audience, audience => new Lazy<Task<ListKey[]?>>(() => ListsInAudienceAsync(audience.Tenant, audience.AudienceId, cancellationToken)));
        return Parallel.ForEachAsync(byMember, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (member, token) =>
            {
                foreach (var (claimed, inbound) in member.OrderBy(item => item.Inbound?.FiredAt).ThenBy(item => item.Claimed.ReceivedAt))
                {
                    await ProcessOneAsync(claimed, inbound, audiences[(claimed.Tenant, claimed.AudienceId)].Value, lease, token);
                }
            });
    }

    /// <summary>The tenant's lists in the audience; null when the tenant is gone (its events are dropped).</summary>
    private async Task<ListKey[]?> ListsInAudienceAsync(TenantId tenant, string audienceId, CancellationToken cancellationToken) =>
        await tenants.GetAsync(tenant, cancellationToken) is null
            ? null
            : [.. (await lists.ListInAudienceAsync(tenant, audienceId, cancellationToken)).Select(list => list.Key)];

    private async Task ProcessOneAsync(ClaimedEvent claimed, InboundEvent? inbound, Task<ListKey[]?> listsInAudience, string lease, CancellationToken cancellationToken)
    {
        try
        {
            if (inbound is not null && await listsInAudience is { } inAudience)
            {
                var recorded = await log.RecordAsync(claimed, inbound, inAudience, cancellationToken);
                if (recorded.ValueKind == System.Text.Json.JsonValueKind.Object)
                {
                    await publisher.PublishAsync(claimed.Tenant, inbound.Type, recorded, claimed.Id, cancellationToken);
                }
            }

            if (await inbox.CompleteAsync(claimed, lease) && inbound is not null)
            {
                HubTelemetry.Events.Processed.Add(1, new KeyValuePair<string, object?>(HubTelemetry.Events.TypeTag, inbound.Type));
                HubTelemetry.Events.Delay.Record((time.GetUtcNow() - claimed.ReceivedAt).TotalSeconds);
            }
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            if (StoreFaults.IsStoreFault(exception))
            {
                LogInboxUnavailable(logger, exception);
                return;
            }

            var wait = TimeSpan.FromSeconds(Math.Min(300, Math.Pow(2, Math.Min(claimed.Attempt, 9))));
            LogProcessingFailed(logger, exception, claimed.Id, claimed.Tenant.ToString(), claimed.Attempt, wait);
            try
            {
                await inbox.RetryAtAsync(claimed, lease, time.GetUtcNow() + wait);
            }
            catch (Exception retryFailure) when (StoreFaults.IsStoreFault(retryFailure))
            {
                // The lease ends and the event is due again anyway.
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The Mailchimp event inbox is unavailable; claimed events are taken up again after their lease.")]
    private static partial void LogInboxUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Processing Mailchimp event {EventId} of tenant {TenantId} failed (attempt {Attempt}); trying again in {Wait}.")]
    private static partial void LogProcessingFailed(ILogger logger, Exception exception, string eventId, string tenantId, int attempt, TimeSpan wait);
}
