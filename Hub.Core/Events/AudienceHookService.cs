using Hub.Core.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hub.Core.Events;

/// <summary>
/// Runs on every replica: takes the tenants whose list webhooks are due (a managed audience or the connection changed, a
/// registration failed, or the daily check is due) and brings them in line (<see cref="AudienceHooks.ReconcileAsync"/>).
/// A tenant is claimed for <see cref="EventsOptions.Lease"/>, so a replica that dies leaves it to another. At start-up,
/// tenants never scheduled (a deployment from before list webhooks) are scheduled once.
/// </summary>
public sealed partial class AudienceHookService(
    AudienceHookStore store, AudienceHooks hooks, StoreLayout layout, IOptions<EventsOptions> options, TimeProvider time, ILogger<AudienceHookService> logger) : BackgroundService
{
    private const int ClaimBatch = 10;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            return;
        }

        await layout.WaitAsync(stoppingToken);

        var scheduled = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!scheduled)
                {
                    await store.ScheduleUnscheduledAsync(stoppingToken);
                    scheduled = true;
                }

                var (tenants, claimedUntil) = await store.ClaimDueAsync(ClaimBatch, settings.Lease);
                foreach (var tenant in tenants)
                {
                    bool inLine;
                    try
                    {
                        inLine = await hooks.ReconcileAsync(tenant, stoppingToken);
                    }
                    catch (Exception exception) when (!stoppingToken.IsCancellationRequested && !StoreFaults.IsStoreFault(exception))
                    {
                        LogReconcileFailed(logger, exception, tenant.ToString());
                        inLine = false;
                    }

                    await store.RescheduleAsync(tenant, claimedUntil, time.GetUtcNow() + (inLine ? settings.VerifyEvery : settings.RetryDelay));
                }
            }
            catch (Exception exception) when (StoreFaults.IsStoreFault(exception))
            {
                LogStoreUnavailable(logger, exception);
            }

            try
            {
                await Task.Delay(settings.PollInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Bringing the list webhooks of tenant {TenantId} in line failed; trying again later.")]
    private static partial void LogReconcileFailed(ILogger logger, Exception exception, string tenantId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis is unavailable; list webhooks are brought in line once it is back.")]
    private static partial void LogStoreUnavailable(ILogger logger, Exception exception);
}
