using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Hub.Core.Diagnostics;

/// <summary>Telemetry names in one place: the ActivitySource, the Meter and the tag names Hub emits.</summary>
public static class HubTelemetry
{
    public const string ServiceName = "hub";
    public const string SourceName = "Hub";
    public const string MeterName = "Hub";

    /// <summary>
    /// Series per per-tenant instrument and replica (job and webhook-delivery metrics carry <c>hub.tenant.id</c>): with a
    /// handful of kinds, states and outcomes this covers some hundreds of active tenants exactly; beyond, OpenTelemetry
    /// folds new series into its overflow series.
    /// </summary>
    public const int MaxTenantSeries = 4000;

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
        public const string HttpRoute = "http.route";
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
    /// <paramref name="lookingForWork"/>: an idle loop's look for work (claiming a job or a webhook delivery), recorded only
    /// inside a trace that is already going. On its own it would be a one-span trace several times a second per replica,
    /// nearly always finding nothing; what it finds gets a trace of its own (the job's run, the delivery).
    /// </summary>
    public static Activity? StartRedis(string operation, bool lookingForWork = false)
    {
        if (lookingForWork && Activity.Current is null)
        {
            return null;
        }

        var activity = Source.StartActivity($"redis {operation}", ActivityKind.Client);
        activity?.SetTag(Tags.DbSystem, "redis");
        activity?.SetTag(Tags.DbOperation, operation);
        return activity;
    }

    /// <summary>Instruments of tenant API key checks.</summary>
    public static class TenantKeys
    {
        public const string SourceTag = "hub.tenant_key.source";
        public const string FromMemory = "memory";
        public const string FromRedis = "redis";

        /// <summary>Tenant API keys checked, by where the answer came from (a low share from memory after a Redis outage shows the replica still catching up).</summary>
        public static readonly Counter<long> Lookups = Meter.CreateCounter<long>("hub.tenant_keys.lookups", "{lookup}", "Tenant API keys checked, by where the answer came from.");
    }

    /// <summary>Instruments of store (Redis) outages as requests meet them.</summary>
    public static class Store
    {
        /// <summary>Requests answered 503 store_unavailable, by route pattern: how many callers an outage turned away.</summary>
        public static readonly Counter<long> UnavailableAnswers = Meter.CreateCounter<long>("hub.store.unavailable_answers", "{request}", "Requests answered 503 store_unavailable because the store did not answer.");
    }

    /// <summary>Instruments of the events Mailchimp's list webhooks bring in (Hub.Core/Events).</summary>
    public static class Events
    {
        public const string OutcomeTag = "hub.event.outcome";
        public const string TypeTag = "hub.event.type";

        /// <summary>Deliveries at the receiver, by outcome: accepted, duplicate, ignored, invalid, unknown_webhook, invalid_signature.</summary>
        public static readonly Counter<long> Received = Meter.CreateCounter<long>("hub.mailchimp_events.received", "{event}", "Mailchimp list webhook deliveries at the receiver, by outcome.");

        /// <summary>Events applied and told to the tenant, by member event type.</summary>
        public static readonly Counter<long> Processed = Meter.CreateCounter<long>("hub.mailchimp_events.processed", "{event}", "Received Mailchimp events applied, logged and queued as tenant webhooks, by type.");

        /// <summary>From receiving an event to having processed it.</summary>
        public static readonly Histogram<double> Delay = Meter.CreateHistogram<double>("hub.mailchimp_events.delay", "s", "From receiving a Mailchimp event to having processed it.");

        /// <summary>List webhook registrations, checks and removals, by outcome: registered, checked, failed, removed.</summary>
        public static readonly Counter<long> Registrations = Meter.CreateCounter<long>("hub.audience_hooks.changes", "{change}", "List webhook registrations, checks and removals on managed audiences, by outcome.");
    }

    /// <summary>Instruments of the signed webhooks Hub sends to tenants (Hub.Core/Webhooks).</summary>
    public static class Webhooks
    {
        public const string OutcomeTag = "hub.webhook.outcome";
        public const string Delivered = "delivered";
        public const string FailedAttempt = "failed_attempt";
        public const string GivenUp = "given_up";

        private static long s_pending;

        /// <summary>Recorded delivery attempts, by outcome: delivered, failed_attempt (tried again later), given_up (failed for good).</summary>
        public static readonly Counter<long> Deliveries = Meter.CreateCounter<long>("hub.webhooks.deliveries", "{attempt}", "Webhook delivery attempts, by outcome: delivered, failed_attempt (tried again later) or given_up.");

        /// <summary>Deliveries not yet delivered or given up, across all tenants, as last sampled by the delivery loop on this replica.</summary>
        public static readonly ObservableGauge<long> Pending = Meter.CreateObservableGauge("hub.webhooks.pending", () => Interlocked.Read(ref s_pending), "{delivery}", "Webhook deliveries not yet delivered or given up, across all tenants.");

        public static void RecordPending(long pending) => Interlocked.Exchange(ref s_pending, pending);
    }

    /// <summary>Instruments of tenants' Mailchimp connections (Hub.Core/Connections).</summary>
    public static class Connections
    {
        /// <summary>Connections flipped to reauthorization_required because Mailchimp answered 401 (the log names the tenant).</summary>
        public static readonly Counter<long> Revoked = Meter.CreateCounter<long>("hub.connections.revoked", "{connection}", "Connections Mailchimp revoked (it answered 401): now reauthorization_required until the customer consents again.");
    }

    /// <summary>Names and instruments of the background jobs (Hub.Core/Jobs).</summary>
    public static class Jobs
    {
        public const string KindTag = "hub.job.kind";
        public const string StateTag = "hub.job.state";
        public const string JobIdTag = "hub.job.id";
        public const string AttemptTag = "hub.job.attempt";

        private static long s_queueDepth;

        public static readonly Counter<long> Started = Meter.CreateCounter<long>("hub.jobs.started", "{job}", "Job runs started (including take-overs).");
        public static readonly Counter<long> Finished = Meter.CreateCounter<long>("hub.jobs.finished", "{job}", "Jobs that reached a final state, by state.");
        public static readonly Counter<long> StorePauses = Meter.CreateCounter<long>("hub.jobs.store_pauses", "{pause}", "Pauses of running jobs while Redis did not answer (each resumes from its checkpoint).");
        public static readonly Counter<long> DependencyPauses = Meter.CreateCounter<long>("hub.jobs.dependency_pauses", "{pause}", "Pauses of running jobs while a dependency (e.g. Mailchimp) stayed unavailable after its client's retries (each resumes from its checkpoint).");
        public static readonly Counter<long> MembersProcessed = Meter.CreateCounter<long>("hub.jobs.members_processed", "{member}", "Members a finished job added, updated, removed, left unchanged or failed.");
        public static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("hub.jobs.duration", "s", "From a job's first start to its end.");

        /// <summary>Queued jobs across all tenants as last sampled by a worker on this replica.</summary>
        public static readonly ObservableGauge<long> QueueDepth = Meter.CreateObservableGauge("hub.jobs.queue_depth", () => Interlocked.Read(ref s_queueDepth), "{job}", "Queued jobs across all tenants.");

        public static void RecordQueueDepth(long depth) => Interlocked.Exchange(ref s_queueDepth, depth);
    }
}
