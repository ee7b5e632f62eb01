using Hub.Core.Tenants;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Core.Storage;

/// <summary>Every Redis key Hub uses, built in one place under the configured prefix.</summary>
public sealed class RedisKeys(IOptions<StorageOptions> options)
{
    private readonly string _prefix = options.Value.KeyPrefix;

    public string Prefix => _prefix;

    /// <summary>Sorted set of tenant ids, scored by creation time (unix microseconds).</summary>
    public RedisKey Tenants => _prefix + "tenants";

    /// <summary>JSON document of one tenant.</summary>
    public RedisKey Tenant(TenantId id) => $"{_prefix}tenant:{id}";

    /// <summary>Hash of key id to API key metadata (never the key itself) for one tenant.</summary>
    public RedisKey TenantApiKeys(TenantId id) => $"{_prefix}tenant:{id}:apikeys";

    /// <summary>Hash of secret name to ciphertext for one tenant.</summary>
    public RedisKey TenantSecrets(TenantId id) => $"{_prefix}tenant:{id}:secrets";

    /// <summary>Lookup from the SHA-256 of a tenant API key to "tenantId keyId".</summary>
    public RedisKey ApiKeyIndex(string keyHashHex) => $"{_prefix}apikey:{keyHashHex}";

    /// <summary>Pub/sub channel carrying the id of a tenant whose keys or settings changed (replicas drop what they remember of it).</summary>
    public string TenantChangedChannel => _prefix + "tenant-changed";

    // Lists (host mailing lists linked to audiences or tags).

    /// <summary>Hash of list key to the list (JSON) for one tenant.</summary>
    public RedisKey TenantLists(TenantId id) => $"{_prefix}tenant:{id}:lists";

    /// <summary>Hash of "audience id:merge id" to merge tag: the merge fields Hub created in the tenant's audiences (only those it may change).</summary>
    public RedisKey TenantCreatedFields(TenantId id) => $"{_prefix}tenant:{id}:created-fields";

    // ---- Mailchimp client ----

    /// <summary>
    /// Sorted set of concurrency-slot holder ids for one Mailchimp account, scored by lease expiry
    /// (unix ms); shared by every replica.
    /// </summary>
    public RedisKey MailchimpConcurrency(string accountKey) => $"{_prefix}mailchimp:concurrency:{accountKey}";

    // ---- Jobs (Hub.Core/Jobs) ----------------------------------------------------------------
    // A job is a hash plus a capped error list; queued jobs sit in one list per tenant and the
    // tenants with queued jobs in a ring (round-robin); running jobs hold a lease in one sorted set.

    /// <summary>Pub/sub channel: a job may have become claimable (queued, released, or its list's running job ended); idle workers look at once.</summary>
    public string JobsClaimableChannel => _prefix + "jobs-claimable";

    /// <summary>Hash: one job record (state, counts, timings, lease, checkpoint). Expires after the retention once finished.</summary>
    public RedisKey Job(JobId id) => $"{_prefix}job:{id}";

    /// <summary>List: the first per-member errors of one job (JSON each), capped; the job hash holds the total.</summary>
    public RedisKey JobErrors(JobId id) => $"{_prefix}job:{id}:errors";

    /// <summary>
    /// The input staged for one job before it was queued (for a sync, a hash of subscriber hash to member JSON: the
    /// desired set). The job scripts delete it when the job ends, is cancelled or is superseded. The key keeps its old
    /// name (<c>:desired</c>, from when only syncs had input) so jobs queued by an older version keep their input
    /// across an upgrade.
    /// </summary>
    public RedisKey JobInput(JobId id) => $"{_prefix}job:{id}:desired";

    /// <summary>
    /// Sorted set: finished jobs whose listeners (the sync webhook, the list's last-sync status) have not all been told
    /// yet, scored by when a replica may tell them (again). Written in the same script that ends the job.
    /// </summary>
    public RedisKey JobsToNotify => _prefix + "jobs:notify";

    /// <summary>Sorted set: a tenant's job ids scored by creation time (unix microseconds).</summary>
    public RedisKey TenantJobs(TenantId tenant) => $"{_prefix}jobs:tenant:{tenant}";

    /// <summary>List: a tenant's queued job ids, oldest first.</summary>
    public RedisKey TenantJobQueue(TenantId tenant) => $"{_prefix}jobs:tenant:{tenant}:queue";

    /// <summary>Hash: list key to the id of the one queued job for that list (a newer request supersedes it).</summary>
    public RedisKey TenantQueuedJobByList(TenantId tenant) => $"{_prefix}jobs:tenant:{tenant}:queued-by-list";

    /// <summary>Hash: list key to the id of the one running job for that list.</summary>
    public RedisKey TenantRunningJobByList(TenantId tenant) => $"{_prefix}jobs:tenant:{tenant}:running-by-list";

    /// <summary>List: the tenants that have queued jobs, each once; claiming serves the head and moves it to the tail.</summary>
    public RedisKey JobTenantRing => _prefix + "jobs:ring";

    /// <summary>Sorted set: running job ids scored by lease expiry (unix milliseconds).</summary>
    public RedisKey JobLeases => _prefix + "jobs:leases";

    /// <summary>String: number of queued jobs across all tenants (for the queue-depth metric).</summary>
    public RedisKey JobQueueDepth => _prefix + "jobs:queued-count";

    // ---- Member ledger (Hub.Core/Members) ---------------------------------------------------------
    // What Hub synced into each list, for diffing the next desired set against.

    /// <summary>Hash: subscriber hash to the fingerprint of the member as Hub last synced it to this list.</summary>
    public RedisKey ListFingerprints(TenantId tenant, Hub.Core.Lists.ListKey listKey) => $"{_prefix}sync:{tenant}:{listKey}:fingerprints";

    /// <summary>Set: subscriber hashes of members Hub itself added to this list (the only ones Hub removes).</summary>
    public RedisKey ListHubAdded(TenantId tenant, Hub.Core.Lists.ListKey listKey) => $"{_prefix}sync:{tenant}:{listKey}:hub-added";

    /// <summary>Hash: subscriber hash to the fingerprint at which Mailchimp refused the member (not sent again until it changes).</summary>
    public RedisKey ListRefused(TenantId tenant, Hub.Core.Lists.ListKey listKey) => $"{_prefix}sync:{tenant}:{listKey}:refused";

    /// <summary>
    /// Hash: subscriber hash of an address that changed in Mailchimp (an <c>upemail</c> event) to <c>new email \n unix ms</c>;
    /// a full sync that still lists the old address writes it as the new one.
    /// </summary>
    public RedisKey ListMoved(TenantId tenant, Hub.Core.Lists.ListKey listKey) => $"{_prefix}sync:{tenant}:{listKey}:moved";

    /// <summary>Hash: the host's own id of a member (<c>externalId</c>) to <c>subscriber hash \n email</c> of its current address in this list.</summary>
    public RedisKey ListExternalIds(TenantId tenant, Hub.Core.Lists.ListKey listKey) => $"{_prefix}sync:{tenant}:{listKey}:external";

    /// <summary>Set: the list keys of a tenant that have sync ledger data (so tenant deletion finds them without SCAN).</summary>
    public RedisKey TenantSyncedLists(TenantId tenant) => $"{_prefix}sync:{tenant}:lists";

    /// <summary>
    /// Hash: the people erased for a tenant (<c>POST /api/v1/people/erasures</c>), each only as the HMAC of the normalised
    /// address under the tenant's own key (never the address or its subscriber hash), to the id of its erasure job. No write
    /// of Hub sends such an address to Mailchimp again.
    /// </summary>
    public RedisKey ErasedPeople(TenantId tenant) => $"{_prefix}sync:{tenant}:erased";
    // Connections, OAuth consent and webhooks (issue 4).

    /// <summary>Hash of one tenant's Mailchimp connection (state, mode, dc, account); secrets live in <see cref="TenantSecrets"/>.</summary>
    public RedisKey Connection(TenantId id) => $"{_prefix}tenant:{id}:connection";

    /// <summary>Set of audience ids Hub may write to for one tenant.</summary>
    public RedisKey ManagedAudiences(TenantId id) => $"{_prefix}tenant:{id}:audiences:managed";

    /// <summary>
    /// Set of the managed audience ids Hub created itself for one tenant (the only ones it deletes). Audiences
    /// managed before Hub recorded this are not in it, so they count as adopted.
    /// </summary>
    public RedisKey CreatedAudiences(TenantId id) => $"{_prefix}tenant:{id}:audiences:created";

    /// <summary>One consent link (JSON), keyed by the SHA-256 of its session value; expires with the link.</summary>
    public RedisKey ConsentSession(string sessionHashHex) => $"{_prefix}oauth:session:{sessionHashHex}";

    /// <summary>One OAuth state (JSON), keyed by the SHA-256 of the state value; 10-minute TTL.</summary>
    public RedisKey OAuthState(string stateHashHex) => $"{_prefix}oauth:state:{stateHashHex}";

    /// <summary>One completed consent's result page (JSON), keyed by the SHA-256 of the browser's result cookie; 5-minute TTL, read once.</summary>
    public RedisKey ConsentResult(string resultHashHex) => $"{_prefix}oauth:result:{resultHashHex}";

    /// <summary>Sorted set of webhook delivery ids scored by when they are due (unix ms); a claim moves the score past the lease.</summary>
    public RedisKey WebhookQueue => _prefix + "webhooks:due";

    /// <summary>Hash of one webhook delivery: tenant, event, body, status, attempts, lease.</summary>
    public RedisKey WebhookDelivery(string deliveryId) => $"{_prefix}webhook:{deliveryId}";

    /// <summary>List of attempt records (JSON) of one webhook delivery, oldest first.</summary>
    public RedisKey WebhookAttempts(string deliveryId) => $"{_prefix}webhook:{deliveryId}:attempts";

    /// <summary>Sorted set of one tenant's recent webhook delivery ids, scored by creation time (unix ms).</summary>
    public RedisKey TenantWebhookDeliveries(TenantId id) => $"{_prefix}tenant:{id}:webhooks";

    // ---- Audience events (Hub.Core/Events) ------------------------------------------------------
    // Mailchimp list webhooks Hub registers, the events they bring in, and the member events kept for the tenant.

    /// <summary>Hash: audience id to the list webhook Hub registered there (JSON, see <c>AudienceHook</c>) for one tenant.</summary>
    public RedisKey AudienceHooks(TenantId tenant) => $"{_prefix}tenant:{tenant}:audience-hooks";

    /// <summary>String: <c>tenant audience</c> of the webhook whose secret URL part has this SHA-256 (never the secret itself).</summary>
    public RedisKey AudienceHookSecret(string secretHashHex) => $"{_prefix}events:hook:{secretHashHex}";

    /// <summary>String: a lease token while one replica changes a tenant's list webhooks (so two never register one twice).</summary>
    public RedisKey AudienceHooksLock(TenantId tenant) => $"{_prefix}events:hooks:lock:{tenant}";

    /// <summary>Sorted set: tenant ids whose webhooks are to be brought in line with their managed audiences, by when (unix ms).</summary>
    public RedisKey AudienceHooksDue => _prefix + "events:hooks:due";

    /// <summary>Hash: one received Mailchimp event, until it is processed (tenant, audience, form fields as JSON, attempts).</summary>
    public RedisKey InboundEvent(string eventId) => $"{_prefix}events:inbound:{eventId}";

    /// <summary>String: marks an event id as received, so a repeated delivery is recognised; expires after the event retention.</summary>
    public RedisKey InboundEventSeen(string eventId) => $"{_prefix}events:seen:{eventId}";

    /// <summary>Sorted set: received event ids by when they are due for processing (unix ms); a claim moves them past a lease.</summary>
    public RedisKey InboundEventsDue => _prefix + "events:inbound:due";

    /// <summary>Sorted set: a tenant's member events (JSON) scored by their cursor (unix ms x 1000 + sequence), oldest trimmed.</summary>
    public RedisKey TenantEvents(TenantId tenant) => $"{_prefix}tenant:{tenant}:events";

    /// <summary>String: the cursor a tenant's member event was recorded at (so recording it again changes nothing).</summary>
    public RedisKey TenantEventRecorded(TenantId tenant, string eventId) => $"{_prefix}tenant:{tenant}:event:{eventId}";
}
