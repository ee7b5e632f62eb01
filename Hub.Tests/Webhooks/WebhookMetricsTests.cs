using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Hub.Core.Diagnostics;
using Hub.Core.Tenants;
using Hub.Core.Webhooks;
using Hub.Tests.OAuth;
using Microsoft.Extensions.DependencyInjection;

namespace Hub.Tests.Webhooks;

/// <summary>The webhook delivery instruments an operator's dashboard and alerts read, measured as a real Hub delivers.</summary>
[TestFixture]
public sealed class WebhookMetricsTests
{
    [Test]
    public async Task Delivery_attempts_are_counted_by_outcome_and_pending_deliveries_are_sampled()
    {
        using var metrics = new WebhookMetrics();
        await using var env = await ConsentEnvironment.StartAsync(new()
        {
            ["Hub:Webhooks:MaxAttempts"] = "3",
            ["Hub:Webhooks:InitialRetryDelay"] = "00:00:02",
        });
        var tenant = await env.CreateTenantAsync();
        var publisher = env.Hub.Services.GetRequiredService<IWebhookPublisher>();
        var tenantId = TenantId.Parse(tenant.Id);

        // The gauge is the process's: wait until this Hub's loop sampled its empty queue.
        await metrics.WaitForPendingAsync(0);

        // Three failed attempts, 2 s and 4 s apart: pending from the first until Hub gives up.
        env.Receiver.FailNext(3);
        await publisher.PublishAsync(tenantId, "sync.failed", JsonDocument.Parse("{}").RootElement, CancellationToken.None);
        await metrics.WaitForPendingAsync(1);
        await metrics.WaitForCountAsync(HubTelemetry.Webhooks.GivenUp, 1);
        await metrics.WaitForPendingAsync(0);

        await publisher.PublishAsync(tenantId, "sync.completed", JsonDocument.Parse("{}").RootElement, CancellationToken.None);
        await env.Receiver.WaitForAsync("sync.completed");
        await metrics.WaitForCountAsync(HubTelemetry.Webhooks.Delivered, 1);

        Assert.That(metrics.Counts, Is.EquivalentTo(new Dictionary<string, long>
        {
            [HubTelemetry.Webhooks.FailedAttempt] = 2,
            [HubTelemetry.Webhooks.GivenUp] = 1,
            [HubTelemetry.Webhooks.Delivered] = 1,
        }));
    }

    /// <summary>Listens to <c>hub.webhooks.deliveries</c> (by outcome) and reads <c>hub.webhooks.pending</c>.</summary>
    private sealed class WebhookMetrics : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, long> _counts = new();
        private long _pending = -1;

        public WebhookMetrics()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument == HubTelemetry.Webhooks.Deliveries || instrument == HubTelemetry.Webhooks.Pending)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                if (instrument == HubTelemetry.Webhooks.Pending)
                {
                    Interlocked.Exchange(ref _pending, value);
                    return;
                }

                foreach (var tag in tags)
                {
                    if (tag.Key == HubTelemetry.Webhooks.OutcomeTag)
                    {
                        _counts.AddOrUpdate((string)tag.Value!, value, (_, count) => count + value);
                    }
                }
            });
            _listener.Start();
        }

        public IReadOnlyDictionary<string, long> Counts => new Dictionary<string, long>(_counts);

        public Task WaitForCountAsync(string outcome, long count) =>
            WaitAsync(() => _counts.GetValueOrDefault(outcome) >= count, $"{count} deliveries {outcome}");

        public Task WaitForPendingAsync(long pending) => WaitAsync(() =>
        {
            _listener.RecordObservableInstruments();
            return Interlocked.Read(ref _pending) == pending;
        }, $"{pending} pending");

        public void Dispose() => _listener.Dispose();

        private async Task WaitAsync(Func<bool> condition, string what)
        {
            var deadline = DateTimeOffset.UtcNow.AddSeconds(20);
            while (!condition())
            {
                if (DateTimeOffset.UtcNow > deadline)
                {
                    Assert.Fail($"Waited 20 s for {what}; counts: {string.Join(", ", Counts)}, pending: {Interlocked.Read(ref _pending)}");
                }

                await Task.Delay(50);
            }
        }
    }
}
