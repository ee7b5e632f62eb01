using System.Security.Cryptography;
using System.Text.Json;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using StackExchange.Redis;

namespace Hub.Core.Events;

public enum AudienceHookState
{
    /// <summary>Mailchimp accepted the webhook (and, when last checked, still had it).</summary>
    Registered,

    /// <summary>The last try to register it failed; it is tried again (see <see cref="AudienceHook.LastError"/>).</summary>
    Failed,
}

/// <summary>The list webhook Hub keeps on one managed audience of a tenant.</summary>
public sealed record AudienceHook
{
    public required string AudienceId { get; init; }

    public required AudienceHookState State { get; init; }

    /// <summary>Mailchimp's id of the webhook.</summary>
    public string? WebhookId { get; init; }

    /// <summary>SHA-256 (hex) of the secret in the webhook's URL; the secret itself is never stored.</summary>
    public string? SecretHash { get; init; }

    /// <summary>Whether Mailchimp gave a signing secret (kept encrypted with the tenant's secrets), so every event must carry a valid signature.</summary>
    public bool Signed { get; init; }

    public DateTimeOffset? RegisteredAt { get; init; }

    /// <summary>When Hub last saw the webhook exist in Mailchimp (registration counts).</summary>
    public DateTimeOffset? CheckedAt { get; init; }

    /// <summary>Why the last registration failed (Mailchimp's error code and detail).</summary>
    public string? LastError { get; init; }

    public DateTimeOffset? FailedAt { get; init; }
}

/// <summary>
/// The webhooks Hub registered, per tenant (a hash of audience id to <see cref="AudienceHook"/>), the lookup from a URL
/// secret's hash to its tenant and audience, and the schedule of tenants whose webhooks are due to be brought in line.
/// </summary>
public sealed class AudienceHookStore(IConnectionMultiplexer redis, RedisKeys keys, TimeProvider time) : ITenantDataOwner
{
    private static readonly RedisScript ClaimScript = RedisScript.Load("Events", "claim_tenants");
    private static readonly RedisScript RescheduleScript = RedisScript.Load("Events", "reschedule_tenant");

    private IDatabase Db => redis.GetDatabase();

    private readonly ShardTurns _turns = new();

    /// <summary>A new URL secret: 32 random bytes, base64url.</summary>
    public static string NewSecret() => Security.Base64Url.Encode(RandomNumberGenerator.GetBytes(32));

    public static string HashOf(string secret) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)));

    public async Task<IReadOnlyDictionary<string, AudienceHook>> GetAllAsync(TenantId tenant) =>
        (await Db.HashGetAllAsync(keys.AudienceHooks(tenant)))
            .Select(entry => JsonSerializer.Deserialize(entry.Value.ToString(), HubJsonContext.Default.AudienceHook)!)
            .ToDictionary(hook => hook.AudienceId, StringComparer.Ordinal);

    public async Task<AudienceHook?> GetAsync(TenantId tenant, string audienceId) =>
        (await Db.HashGetAsync(keys.AudienceHooks(tenant), audienceId)) is { HasValue: true } value
            ? JsonSerializer.Deserialize(value.ToString(), HubJsonContext.Default.AudienceHook)
            : null;

    /// <summary>The tenant and audience a URL secret belongs to, or null (unknown or revoked).</summary>
    public async Task<(TenantId Tenant, string AudienceId)?> FindAsync(string secret)
    {
        var value = (string?)await Db.StringGetAsync(keys.AudienceHookSecret(HashOf(secret)));
        return value?.Split(' ') is [var tenant, var audience] && TenantId.TryParse(tenant, out var id) ? (id, audience) : null;
    }

    /// <summary>Makes a URL secret known before Mailchimp is asked to register it (Mailchimp checks the URL with a GET first).</summary>
    public Task AllowAsync(TenantId tenant, string audienceId, string secretHash) =>
        Db.StringSetAsync(keys.AudienceHookSecret(secretHash), $"{tenant} {audienceId}");

    /// <summary>Forgets a URL secret: events sent to it get 404 from then on.</summary>
    public Task RevokeAsync(string? secretHash) =>
        secretHash is null ? Task.CompletedTask : Db.KeyDeleteAsync(keys.AudienceHookSecret(secretHash));

    public Task SaveAsync(TenantId tenant, AudienceHook hook) =>
        Db.HashSetAsync(keys.AudienceHooks(tenant), hook.AudienceId, JsonSerializer.Serialize(hook, HubJsonContext.Default.AudienceHook));

    public Task RemoveAsync(TenantId tenant, string audienceId) => Db.HashDeleteAsync(keys.AudienceHooks(tenant), audienceId);

    /// <summary>
    /// Takes the tenant's webhook lock for <paramref name="lease"/> (waiting up to <paramref name="wait"/> for another holder);
    /// answers the token to release it with, or null when it stayed taken.
    /// </summary>
    public async Task<string?> LockAsync(TenantId tenant, TimeSpan lease, TimeSpan wait, CancellationToken cancellationToken)
    {
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var deadline = time.GetUtcNow() + wait;
        while (!await Db.LockTakeAsync(keys.AudienceHooksLock(tenant), token, lease))
        {
            if (time.GetUtcNow() >= deadline)
            {
                return null;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), time, cancellationToken);
        }

        return token;
    }

    /// <summary>Extends the lock while this token holds it; false when it was lost.</summary>
    public Task<bool> RenewLockAsync(TenantId tenant, string token, TimeSpan lease) => Db.LockExtendAsync(keys.AudienceHooksLock(tenant), token, lease);

    /// <summary>Releases the lock if this token still holds it.</summary>
    public Task UnlockAsync(TenantId tenant, string token) => Db.LockReleaseAsync(keys.AudienceHooksLock(tenant), token);

    /// <summary>Schedules the tenant's webhooks to be brought in line with its managed audiences at <paramref name="at"/> (now when null).</summary>
    public Task ScheduleAsync(TenantId tenant, DateTimeOffset? at = null) =>
        Db.SortedSetAddAsync(keys.AudienceHooksDue(RedisKeys.ShardOf(tenant)), tenant.ToString(), (at ?? time.GetUtcNow()).ToUnixTimeMilliseconds());

    /// <summary>Schedules every tenant not scheduled yet, now (at start-up: deployments from before list webhooks catch up).</summary>
    public async Task ScheduleUnscheduledAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var shard in RedisKeys.AllShards)
        {
            var page = new List<SortedSetEntry>(500);
            await foreach (var entry in Db.SortedSetScanAsync(keys.Tenants(shard), pageSize: 500).WithCancellation(cancellationToken))
            {
                page.Add(new SortedSetEntry(entry.Element, now));
                if (page.Count == 500)
                {
                    await Db.SortedSetAddAsync(keys.AudienceHooksDue(shard), [.. page], SortedSetWhen.NotExists);
                    page.Clear();
                }
            }

            if (page.Count > 0)
            {
                await Db.SortedSetAddAsync(keys.AudienceHooksDue(shard), [.. page], SortedSetWhen.NotExists);
            }
        }
    }

    /// <summary>Claims up to <paramref name="max"/> due tenants for <paramref name="lease"/>; <c>ClaimedUntil</c> goes back to <see cref="RescheduleAsync"/>.</summary>
    public async Task<(IReadOnlyList<TenantId> Tenants, long ClaimedUntil)> ClaimDueAsync(int max, TimeSpan lease)
    {
        var now = time.GetUtcNow();
        var claimedUntil = (now + lease).ToUnixTimeMilliseconds();
        var claimed = new List<TenantId>();
        foreach (var shard in await _turns.DueAsync(Db, keys.AudienceHooksDue, now.ToUnixTimeMilliseconds()))
        {
            if (claimed.Count >= max)
            {
                break;
            }

            _turns.Served(shard);
            var ids = (RedisResult[])(await ClaimScript.EvaluateAsync(Db, [keys.AudienceHooksDue(shard)], now.ToUnixTimeMilliseconds(), claimedUntil, max - claimed.Count))!;
            claimed.AddRange(ids.Select(id => TenantId.TryParse(id.ToString(), out var tenant) ? tenant : default).Where(tenant => tenant != default));
        }

        return (claimed, claimedUntil);
    }

    /// <summary>
    /// Schedules a claimed tenant's next check at <paramref name="next"/>, unless it was scheduled again while it was checked
    /// (then that earlier time stands: a change made during the check is brought in line at once, not at the next check).
    /// </summary>
    public async Task<bool> RescheduleAsync(TenantId tenant, long claimedUntil, DateTimeOffset next) =>
        (long)await RescheduleScript.EvaluateAsync(Db, [keys.AudienceHooksDue(RedisKeys.ShardOf(tenant))], tenant.ToString(), claimedUntil, next.ToUnixTimeMilliseconds()) == 1;

    public async Task DeleteTenantDataAsync(TenantId tenant, CancellationToken cancellationToken)
    {
        foreach (var hook in (await GetAllAsync(tenant)).Values)
        {
            await RevokeAsync(hook.SecretHash);
        }

        await Db.KeyDeleteAsync(keys.AudienceHooks(tenant));
        await Db.SortedSetRemoveAsync(keys.AudienceHooksDue(RedisKeys.ShardOf(tenant)), tenant.ToString());
    }
}
