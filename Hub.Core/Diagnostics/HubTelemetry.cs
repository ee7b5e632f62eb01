using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Hub.Core.Diagnostics;

/// <summary>Telemetry names in one place: the ActivitySource, the Meter and the tag names Hub emits.</summary>
public static class HubTelemetry
{
    public const string ServiceName = "hub";
    public const string SourceName = "Hub";
    public const string MeterName = "Hub";

    /// <summary>The meter StackExchange.Redis publishes its client metrics on.</summary>
    public const string RedisClientMeterName = "StackExchange.Redis";

    public static readonly ActivitySource Source = new(SourceName);
    public static readonly Meter Meter = new(MeterName);

    public static class Tags
    {
        public const string TenantId = "hub.tenant.id";
        public const string Operation = "hub.operation";
        public const string Outcome = "hub.outcome";
        public const string DbSystem = "db.system.name";
        public const string DbOperation = "db.operation.name";
        public const string MailchimpAccount = "hub.mailchimp.account";
        public const string MailchimpErrorCode = "hub.mailchimp.error_code";
        public const string HttpStatus = "http.response.status_code";
    }

    /// <summary>Names for the Mailchimp client: its spans, events and the concurrency-cap instruments.</summary>
    public static class Mailchimp
    {
        /// <summary>Span name prefix of one typed call, e.g. <c>mailchimp upsert_member</c>.</summary>
        public const string OperationPrefix = "mailchimp ";

        /// <summary>Histogram (s) of time spent waiting for a per-account concurrency slot.</summary>
        public const string SlotWait = "hub.mailchimp.concurrency.wait_duration";

        /// <summary>Up-down counter of slots this replica holds right now.</summary>
        public const string SlotsInUse = "hub.mailchimp.concurrency.in_use";

        /// <summary>Span events around a slot.</summary>
        public const string SlotAcquiredEvent = "mailchimp.slot.acquired";
        public const string SlotReleasedEvent = "mailchimp.slot.released";
        public const string SlotWaitedTag = "hub.mailchimp.slot.wait_ms";
    }

    /// <summary>
    /// A client span around one logical Redis operation of a Hub store. The OpenTelemetry Redis
    /// instrumentation package is not available here, so stores mark their own round trips.
    /// </summary>
    public static Activity? StartRedis(string operation)
    {
        var activity = Source.StartActivity($"redis {operation}", ActivityKind.Client);
        activity?.SetTag(Tags.DbSystem, "redis");
        activity?.SetTag(Tags.DbOperation, operation);
        return activity;
    }
}
