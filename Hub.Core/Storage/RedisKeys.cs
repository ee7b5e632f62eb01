using Hub.Core.Tenants;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Core.Storage;

/// <summary>
/// Every Redis key Hub uses, built in one place under the configured prefix.
/// <para><b>Cluster layout.</b> Every key that belongs to a tenant (its record, keys, lists, ledgers, jobs, webhook deliveries,
/// received events) carries the hash tag of the tenant's <i>shard</i>, one of <see cref="ShardCount"/>: <c>hub:{s3k}:tenant:…</c>.
/// The structures that used to be global (the job ring, leases, queued count and notify set; the webhook due set; the
/// received-events and list-webhook due sets; the tenant index) exist once per shard, in the shard's slot. So every script
/// and transaction touches one slot, on Redis Cluster as on a standalone Redis, Sentinel or Garnet, and the work spreads over
/// as many slots as there are shards; the shard tags are chosen so that shard <c>i</c> hashes into the <c>i</c>-th
/// sixteenth of the 16,384 slots, which a cluster splits evenly between its masters. Keys found by a hash of a secret (an
/// API key, a list webhook's URL, an OAuth state or consent link) and a Mailchimp account's concurrency slots are single
/// keys without a tag: each lands in its own slot. <see cref="KeyLayoutMigration"/> moves a store written before this
/// layout.</para>
/// </summary>
public sealed class RedisKeys
{
    /// <summary>How many shards the tenants are spread over. Fixed: changing it moves every tenant's keys.</summary>
    public const int ShardCount = 16;

    private readonly string _prefix;
    private readonly string[] _shardPrefixes;

    public RedisKeys(IOptions<StorageOptions> options)
    {
        _prefix = options.Value.KeyPrefix;
        _shardPrefixes = [.. Enumerable.Range(0, ShardCount).Select(shard => $"{_prefix}{{{ShardTags[shard]}}}:")];
    }

    /// <summary>The hash tag of each shard: the shortest <c>s{shard}-{n}</c> whose slot lies in the shard's sixteenth of the slot space.</summary>
    internal static readonly string[] ShardTags = [.. Enumerable.Range(0, ShardCount).Select(TagOf)];

    public string Prefix => _prefix;

    /// <summary>Every shard number, 0 to <see cref="ShardCount"/> - 1.</summary>
    public static IEnumerable<int> AllShards => Enumerable.Range(0, ShardCount);

    /// <summary>The shard a tenant's keys live in: a stable hash of its id.</summary>
    public static int ShardOf(TenantId tenant)
    {
        // Built for every key of a tenant: the id's UTF-8 bytes on the stack (ids are short ASCII), no allocation.
        var id = tenant.ToString();
        var most = System.Text.Encoding.UTF8.GetMaxByteCount(id.Length);
        Span<byte> bytes = most <= 256 ? stackalloc byte[256] : new byte[most];
        var length = System.Text.Encoding.UTF8.GetBytes(id, bytes);
        return (int)(System.IO.Hashing.XxHash32.HashToUInt32(bytes[..length]) % ShardCount);
    }

    /// <summary>The start of every key of a shard, e.g. <c>hub:{s3-12}:</c>.</summary>
    public string ShardPrefix(int shard) => _shardPrefixes[shard];

    private string In(TenantId tenant) => _shardPrefixes[ShardOf(tenant)];

    /// <summary>Marks which key layout the store has (<see cref="KeyLayoutMigration"/>); absent in a store written before shards.</summary>
    public RedisKey Layout => _prefix + "layout";

    /// <summary>A lease token while one replica migrates the store to the current layout.</summary>
    public RedisKey LayoutMigrationLock => _prefix + "layout:migrating";

    /// <summary>Sorted set of the tenant ids of one shard, scored by creation time (unix microseconds).</summary>
    public RedisKey Tenants(int shard) => _shardPrefixes[shard] + "tenants";

    /// <summary>JSON document of one tenant.</summary>
    public RedisKey Tenant(TenantId id) => $"{In(id)}tenant:{id}";

    /// <summary>Hash of key id to API key metadata (never the key itself) for one tenant.</summary>
    public RedisKey TenantApiKeys(TenantId id) => $"{In(id)}tenant:{id}:apikeys";

    /// <summary>Hash of secret name to ciphertext for one tenant.</summary>
    public RedisKey TenantSecrets(TenantId id) => $"{In(id)}tenant:{id}:secrets";

    /// <summary>Lookup from the SHA-256 of a tenant API key to "tenantId keyId".</summary>
    public RedisKey ApiKeyIndex(string keyHashHex) => $"{_prefix}apikey:{keyHashHex}";

    /// <summary>Pub/sub channel carrying the id of a tenant whose keys or settings changed (replicas drop what they remember of it).</summary>
    public string TenantChangedChannel => _prefix + "tenant-changed";

    // Lists (host mailing lists linked to audiences or tags).

    /// <summary>Hash of list key to the list (JSON) for one tenant.</summary>
    public RedisKey TenantLists(TenantId id) => $"{In(id)}tenant:{id}:lists";

    /// <summary>Hash of "audience id:merge id" to merge tag: the merge fields Hub created in the tenant's audiences (only those it may change).</summary>
    public RedisKey TenantCreatedFields(TenantId id) => $"{In(id)}tenant:{id}:created-fields";

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
    public RedisKey Job(int shard, JobId id) => $"{_shardPrefixes[shard]}job:{id}";

    /// <summary>One job of a tenant (<see cref="Job(int, JobId)"/> in the tenant's shard).</summary>
    public RedisKey Job(TenantId tenant, JobId id) => Job(ShardOf(tenant), id);

    /// <summary>List: the first per-member errors of one job (JSON each), capped; the job hash holds the total.</summary>
    public RedisKey JobErrors(int shard, JobId id) => $"{_shardPrefixes[shard]}job:{id}:errors";

    /// <summary>The kept errors of a tenant's job (<see cref="JobErrors(int, JobId)"/> in the tenant's shard).</summary>
    public RedisKey JobErrors(TenantId tenant, JobId id) => JobErrors(ShardOf(tenant), id);

    /// <summary>
    /// The input staged for one job before it was queued (for a sync, a hash of subscriber hash to member JSON: the
    /// desired set). The job scripts delete it when the job ends, is cancelled or is superseded. The key keeps its old
    /// name (<c>:desired</c>, from when only syncs had input) so jobs queued by an older version keep their input
    /// across an upgrade.
    /// </summary>
    public RedisKey JobInput(int shard, JobId id) => $"{_shardPrefixes[shard]}job:{id}:desired";

    /// <summary>The input of a tenant's job (<see cref="JobInput(int, JobId)"/> in the tenant's shard).</summary>
    public RedisKey JobInput(TenantId tenant, JobId id) => JobInput(ShardOf(tenant), id);

    /// <summary>
    /// Sorted set: finished jobs whose listeners (the sync webhook, the list's last-sync status) have not all been told
    /// yet, scored by when a replica may tell them (again). Written in the same script that ends the job.
    /// </summary>
    public RedisKey JobsToNotify(int shard) => _shardPrefixes[shard] + "jobs:notify";

    /// <summary>Sorted set: a tenant's job ids scored by creation time (unix microseconds).</summary>
    public RedisKey TenantJobs(TenantId tenant) => $"{In(tenant)}jobs:tenant:{tenant}";

    /// <summary>List: a tenant's queued job ids, oldest first.</summary>
    public RedisKey TenantJobQueue(TenantId tenant) => $"{In(tenant)}jobs:tenant:{tenant}:queue";

    /// <summary>Hash: list key to the id of the one queued job for that list (a newer request supersedes it).</summary>
    public RedisKey TenantQueuedJobByList(TenantId tenant) => $"{In(tenant)}jobs:tenant:{tenant}:queued-by-list";

    /// <summary>Hash: list key to the id of the one running job for that list.</summary>
    public RedisKey TenantRunningJobByList(TenantId tenant) => $"{In(tenant)}jobs:tenant:{tenant}:running-by-list";

    /// <summary>List: the tenants that have queued jobs, each once; claiming serves the head and moves it to the tail.</summary>
    public RedisKey JobTenantRing(int shard) => _shardPrefixes[shard] + "jobs:ring";

    /// <summary>Sorted set: running job ids scored by lease expiry (unix milliseconds).</summary>
    public RedisKey JobLeases(int shard) => _shardPrefixes[shard] + "jobs:leases";

    /// <summary>String: number of queued jobs across all tenants (for the queue-depth metric).</summary>
    public RedisKey JobQueueDepth(int shard) => _shardPrefixes[shard] + "jobs:queued-count";

    // ---- Member ledger (Hub.Core/Members) ---------------------------------------------------------
    // What Hub synced into each list, for diffing the next desired set against.

    /// <summary>
    /// Hash: per member Hub synced to this list, the fingerprint of what it last wrote and whether Hub added the contact (the
    /// only ones Hub removes), in bytes (see <see cref="Hub.Core.Members.LedgerEntry"/>).
    /// </summary>
    public RedisKey ListLedger(TenantId tenant, Hub.Core.Lists.ListKey listKey) => $"{In(tenant)}sync:{tenant}:{listKey}:ledger";

    /// <summary>Hash: subscriber hash to the fingerprint at which Mailchimp refused the member (not sent again until it changes).</summary>
    public RedisKey ListRefused(TenantId tenant, Hub.Core.Lists.ListKey listKey) => $"{In(tenant)}sync:{tenant}:{listKey}:refused";

    /// <summary>
    /// Hash: subscriber hash of an address that changed in Mailchimp (an <c>upemail</c> event) to <c>new email \n unix ms</c>;
    /// a full sync that still lists the old address writes it as the new one.
    /// </summary>
    public RedisKey ListMoved(TenantId tenant, Hub.Core.Lists.ListKey listKey) => $"{In(tenant)}sync:{tenant}:{listKey}:moved";

    /// <summary>Hash: the host's own id of a member (<c>externalId</c>) to <c>subscriber hash \n email</c> of its current address in this list.</summary>
    public RedisKey ListExternalIds(TenantId tenant, Hub.Core.Lists.ListKey listKey) => $"{In(tenant)}sync:{tenant}:{listKey}:external";

    /// <summary>Set: the list keys of a tenant that have sync ledger data (so tenant deletion finds them without SCAN).</summary>
    public RedisKey TenantSyncedLists(TenantId tenant) => $"{In(tenant)}sync:{tenant}:lists";

    /// <summary>
    /// Hash: the people erased for a tenant (<c>POST /api/v1/people/erasures</c>), each only as the HMAC of the normalised
    /// address under the tenant's own key (never the address or its subscriber hash), to the id of its erasure job. No write
    /// of Hub sends such an address to Mailchimp again.
    /// </summary>
    public RedisKey ErasedPeople(TenantId tenant) => $"{In(tenant)}sync:{tenant}:erased";
    // Connections, OAuth consent and webhooks (issue 4).

    /// <summary>Hash of one tenant's Mailchimp connection (state, mode, dc, account); secrets live in <see cref="TenantSecrets"/>.</summary>
    public RedisKey Connection(TenantId id) => $"{In(id)}tenant:{id}:connection";

    /// <summary>Set of audience ids Hub may write to for one tenant.</summary>
    public RedisKey ManagedAudiences(TenantId id) => $"{In(id)}tenant:{id}:audiences:managed";

    /// <summary>
    /// Set of the managed audience ids Hub created itself for one tenant (the only ones it deletes). Audiences
    /// managed before Hub recorded this are not in it, so they count as adopted.
    /// </summary>
    public RedisKey CreatedAudiences(TenantId id) => $"{In(id)}tenant:{id}:audiences:created";

    /// <summary>One consent link (JSON), keyed by the SHA-256 of its session value; expires with the link.</summary>
    public RedisKey ConsentSession(string sessionHashHex) => $"{_prefix}oauth:session:{sessionHashHex}";

    /// <summary>One OAuth state (JSON), keyed by the SHA-256 of the state value; 10-minute TTL.</summary>
    public RedisKey OAuthState(string stateHashHex) => $"{_prefix}oauth:state:{stateHashHex}";

    /// <summary>One completed consent's result page (JSON), keyed by the SHA-256 of the browser's result cookie; 5-minute TTL, read once.</summary>
    public RedisKey ConsentResult(string resultHashHex) => $"{_prefix}oauth:result:{resultHashHex}";

    /// <summary>Sorted set of webhook delivery ids scored by when they are due (unix ms); a claim moves the score past the lease.</summary>
    public RedisKey WebhookQueue(int shard) => _shardPrefixes[shard] + "webhooks:due";

    /// <summary>Hash of one webhook delivery: tenant, event, body, status, attempts, lease.</summary>
    public RedisKey WebhookDelivery(int shard, string deliveryId) => $"{_shardPrefixes[shard]}webhook:{deliveryId}";

    /// <summary>List of attempt records (JSON) of one webhook delivery, oldest first.</summary>
    public RedisKey WebhookAttempts(int shard, string deliveryId) => $"{_shardPrefixes[shard]}webhook:{deliveryId}:attempts";

    /// <summary>Sorted set of one tenant's recent webhook delivery ids, scored by creation time (unix ms).</summary>
    public RedisKey TenantWebhookDeliveries(TenantId id) => $"{In(id)}tenant:{id}:webhooks";

    // ---- Audience events (Hub.Core/Events) ------------------------------------------------------
    // Mailchimp list webhooks Hub registers, the events they bring in, and the member events kept for the tenant.

    /// <summary>Hash: audience id to the list webhook Hub registered there (JSON, see <c>AudienceHook</c>) for one tenant.</summary>
    public RedisKey AudienceHooks(TenantId tenant) => $"{In(tenant)}tenant:{tenant}:audience-hooks";

    /// <summary>String: <c>tenant audience</c> of the webhook whose secret URL part has this SHA-256 (never the secret itself).</summary>
    public RedisKey AudienceHookSecret(string secretHashHex) => $"{_prefix}events:hook:{secretHashHex}";

    /// <summary>String: a lease token while one replica changes a tenant's list webhooks (so two never register one twice).</summary>
    public RedisKey AudienceHooksLock(TenantId tenant) => $"{In(tenant)}events:hooks:lock:{tenant}";

    /// <summary>Sorted set: tenant ids whose webhooks are to be brought in line with their managed audiences, by when (unix ms).</summary>
    public RedisKey AudienceHooksDue(int shard) => _shardPrefixes[shard] + "events:hooks:due";

    /// <summary>Hash: one received Mailchimp event, until it is processed (tenant, audience, form fields as JSON, attempts).</summary>
    public RedisKey InboundEvent(int shard, string eventId) => $"{_shardPrefixes[shard]}events:inbound:{eventId}";

    /// <summary>String: marks an event id as received, so a repeated delivery is recognised; expires after the event retention.</summary>
    public RedisKey InboundEventSeen(int shard, string eventId) => $"{_shardPrefixes[shard]}events:seen:{eventId}";

    /// <summary>Sorted set: received event ids by when they are due for processing (unix ms); a claim moves them past a lease.</summary>
    public RedisKey InboundEventsDue(int shard) => _shardPrefixes[shard] + "events:inbound:due";

    /// <summary>Sorted set: a tenant's member events (JSON) scored by their cursor (unix ms x 1000 + sequence), oldest trimmed.</summary>
    public RedisKey TenantEvents(TenantId tenant) => $"{In(tenant)}tenant:{tenant}:events";

    /// <summary>String: the cursor a tenant's member event was recorded at (so recording it again changes nothing).</summary>
    public RedisKey TenantEventRecorded(TenantId tenant, string eventId) => $"{In(tenant)}tenant:{tenant}:event:{eventId}";

    /// <summary>
    /// A tag for <paramref name="shard"/> whose slot (CRC16 mod 16384, as Redis Cluster computes it) is in the shard's
    /// sixteenth of the slot space, so the shards spread evenly over a cluster's masters.
    /// </summary>
    private static string TagOf(int shard)
    {
        var width = 16384 / ShardCount;
        for (var n = 0; ; n++)
        {
            var tag = $"s{shard}-{n}";
            if (ClusterSlot(tag) / width == shard)
            {
                return tag;
            }
        }
    }

    /// <summary>The Redis Cluster slot of a key without a hash tag: CRC16 (XMODEM) of its bytes, mod 16384.</summary>
    internal static int ClusterSlot(string key)
    {
        var crc = 0;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(key))
        {
            crc ^= b << 8;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
            }
        }

        return (crc & 0xFFFF) % 16384;
    }
}
