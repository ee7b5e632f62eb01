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
