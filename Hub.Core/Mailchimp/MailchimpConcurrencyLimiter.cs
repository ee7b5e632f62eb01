using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Hub.Core.Diagnostics;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Core.Mailchimp;

/// <summary>
/// The per-Mailchimp-account concurrency cap shared by every Hub replica: a Redis lease semaphore.
/// Holders sit in a sorted set scored by lease expiry; acquiring first drops expired holders (a
/// replica that died mid-call) and then joins only while fewer than the cap hold a slot. Holders
/// renew while they run and leave on release. Uses only Lua with plain sorted-set commands, keys
/// through KEYS and time through ARGV (from <see cref="TimeProvider"/>), so Redis 7 and Garnet agree.
/// </summary>
public sealed partial class MailchimpConcurrencyLimiter(
    IConnectionMultiplexer redis, RedisKeys keys, IOptions<MailchimpOptions> options, TimeProvider time, ILogger<MailchimpConcurrencyLimiter> logger)
{
    private static readonly RedisScript AcquireScript = RedisScript.Load("Mailchimp", "acquire_slot");
    private static readonly RedisScript RenewScript = RedisScript.Load("Mailchimp", "renew_slot");

    private const int MaxRememberedAccounts = 10_000;

    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMilliseconds(200);

    private static readonly Histogram<double> WaitDuration = HubTelemetry.Meter.CreateHistogram<double>(
        HubTelemetry.Mailchimp.SlotWait, "s", "Time spent waiting for a per-account Mailchimp concurrency slot.");

    private static readonly UpDownCounter<long> InUse = HubTelemetry.Meter.CreateUpDownCounter<long>(
        HubTelemetry.Mailchimp.SlotsInUse, "{slot}", "Mailchimp concurrency slots this replica holds.");

    private readonly MailchimpOptions _options = options.Value;

    // Per account key, completed when this replica gives a slot back, so local waiters retry at once
    // instead of sleeping out their backoff (slots freed by other replicas are found by the backoff).
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _released = new(StringComparer.Ordinal);

    // The account each tenant called last, so its next request can take a slot before its credential is read.
    private readonly ConcurrentDictionary<TenantId, string> _accounts = new();

    /// <summary>
    /// Waits (short jittered backoff, honouring <paramref name="cancellationToken"/>) until a slot of
    /// <paramref name="accountKey"/> is free and takes it. Dispose the lease to give the slot back.
    /// </summary>
    public async Task<MailchimpConcurrencyLease> AcquireAsync(string accountKey, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountKey);
        var key = keys.MailchimpConcurrency(accountKey);
        var holder = Guid.NewGuid().ToString("N");
        var started = time.GetTimestamp();
        var delay = FirstRetryDelay;
        var waited = false;
        while (true)
        {
            // Taken before the attempt, so a release between a failed attempt and the wait is not missed.
            var released = _released.GetOrAdd(accountKey, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            if (await TryAcquireAsync(key, holder))
            {
                break;
            }

            waited = true;
            var jittered = TimeSpan.FromTicks((long)(delay.Ticks * (0.5 + Random.Shared.NextDouble())));
            using var pause = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var backoff = Task.Delay(jittered, time, pause.Token);
            var woken = await Task.WhenAny(backoff, released) == released;
            await pause.CancelAsync();
            cancellationToken.ThrowIfCancellationRequested();
            if (!woken)
            {
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }

        var wait = time.GetElapsedTime(started);
        if (waited)
        {
            LogWaited(logger, accountKey, (long)wait.TotalMilliseconds, _options.MaxConcurrentCallsPerAccount);
        }

        return Granted(accountKey, key, holder, wait);
    }

    /// <summary>
    /// Starts taking a slot of the account <paramref name="tenant"/> called last, without waiting, so the
    /// request's other Redis reads share its round trip. Null when the tenant's account is not known yet.
    /// The caller hands the reservation to its first Mailchimp call through
    /// <see cref="MailchimpCredential.ReservedSlot"/> and disposes it when done (freeing an unused slot).
    /// </summary>
    public MailchimpSlotReservation? Reserve(TenantId tenant) =>
        _accounts.TryGetValue(tenant, out var accountKey) ? new MailchimpSlotReservation(accountKey, TryTakeAsync(accountKey)) : null;

    /// <summary>Notes the account a tenant's credential names (null: the tenant has none now), for <see cref="Reserve"/>.</summary>
    public void RememberAccount(TenantId tenant, string? accountKey)
    {
        if (accountKey is null)
        {
            _accounts.TryRemove(tenant, out _);
            return;
        }

        if (_accounts.Count >= MaxRememberedAccounts && !_accounts.ContainsKey(tenant))
        {
            _accounts.Clear();
        }

        _accounts[tenant] = accountKey;
    }

    /// <summary>One attempt at a slot of <paramref name="accountKey"/>; null when all are taken or Redis failed (the call then waits for one as usual).</summary>
    private async Task<MailchimpConcurrencyLease?> TryTakeAsync(string accountKey)
    {
        var key = keys.MailchimpConcurrency(accountKey);
        var holder = Guid.NewGuid().ToString("N");
        try
        {
            return await TryAcquireAsync(key, holder) ? Granted(accountKey, key, holder, TimeSpan.Zero) : null;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return null;
        }
    }

    private MailchimpConcurrencyLease Granted(string accountKey, RedisKey key, string holder, TimeSpan wait)
    {
        var account = new KeyValuePair<string, object?>(HubTelemetry.Tags.MailchimpAccount, accountKey);
        WaitDuration.Record(wait.TotalSeconds, account);
        InUse.Add(1, account);
        Activity.Current?.AddEvent(new ActivityEvent(HubTelemetry.Mailchimp.SlotAcquiredEvent, tags: new ActivityTagsCollection
        {
            [HubTelemetry.Tags.MailchimpAccount] = accountKey,
            [HubTelemetry.Mailchimp.SlotWaitedTag] = (long)wait.TotalMilliseconds,
        }));
        return new MailchimpConcurrencyLease(this, key, holder, accountKey);
    }

    /// <summary>One attempt to join the holders of <paramref name="key"/>; true when a slot was taken.</summary>
    internal async Task<bool> TryAcquireAsync(RedisKey key, string holder)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var lease = (long)_options.ConcurrencyLeaseDuration.TotalMilliseconds;
        var taken = (long)await AcquireScript.EvaluateAsync(redis.GetDatabase(), [key], now, _options.MaxConcurrentCallsPerAccount, now + lease, holder, lease * 2);
        return taken == 1;
    }

    internal async Task RenewAsync(RedisKey key, string holder)
    {
        try
        {
            var lease = (long)_options.ConcurrencyLeaseDuration.TotalMilliseconds;
            var expiry = time.GetUtcNow().ToUnixTimeMilliseconds() + lease;
            await RenewScript.EvaluateAsync(redis.GetDatabase(), [key], expiry, holder, lease * 2);
        }
        catch (RedisException e)
        {
            LogRenewFailed(logger, e);
        }
    }

    internal async Task ReleaseAsync(RedisKey key, string holder, string accountKey)
    {
        InUse.Add(-1, new KeyValuePair<string, object?>(HubTelemetry.Tags.MailchimpAccount, accountKey));
        Activity.Current?.AddEvent(new ActivityEvent(HubTelemetry.Mailchimp.SlotReleasedEvent, tags: new ActivityTagsCollection
        {
            [HubTelemetry.Tags.MailchimpAccount] = accountKey,
        }));
        try
        {
            await redis.GetDatabase().SortedSetRemoveAsync(key, holder);
            if (_released.TryRemove(accountKey, out var waiters))
            {
                waiters.TrySetResult();
            }
        }
        catch (RedisException e)
        {
            // The lease runs out on its own; until then the slot stays taken.
            LogReleaseFailed(logger, accountKey, e);
        }
    }

    /// <summary>How often a holder renews, and for how long at most (a leaked lease then lapses).</summary>
    internal TimeSpan RenewEvery => _options.ConcurrencyLeaseDuration / 3;

    internal TimeSpan MaxHold => _options.Timeout + _options.ConcurrencyLeaseDuration;

    internal TimeProvider Time => time;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Waited {WaitMs} ms for a Mailchimp concurrency slot of account {AccountKey} (cap {Cap}).")]
    private static partial void LogWaited(ILogger logger, string accountKey, long waitMs, int cap);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not renew a Mailchimp concurrency lease; it may lapse early.")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release a Mailchimp concurrency slot of account {AccountKey}; it frees itself when the lease runs out.")]
    private static partial void LogReleaseFailed(ILogger logger, string accountKey, Exception exception);
}

/// <summary>
/// One held concurrency slot. It renews itself while held (up to the overall call timeout plus one
/// lease) and gives the slot back when disposed.
/// </summary>
public sealed class MailchimpConcurrencyLease : IAsyncDisposable, IDisposable
{
    private readonly MailchimpConcurrencyLimiter _limiter;
    private readonly RedisKey _key;
    private readonly string _holder;
    private readonly string _accountKey;
    private readonly long _acquiredAt;
    private readonly ITimer _renewal;
    private int _released;

    internal MailchimpConcurrencyLease(MailchimpConcurrencyLimiter limiter, RedisKey key, string holder, string accountKey)
    {
        _limiter = limiter;
        _key = key;
        _holder = holder;
        _accountKey = accountKey;
        _acquiredAt = limiter.Time.GetTimestamp();
        _renewal = limiter.Time.CreateTimer(_ => Renew(), null, limiter.RenewEvery, limiter.RenewEvery);
    }

    /// <summary>The id this holder has in the sorted set.</summary>
    public string HolderId => _holder;

    private void Renew()
    {
        if (_limiter.Time.GetElapsedTime(_acquiredAt) > _limiter.MaxHold)
        {
            // Held far longer than any call may take: a leaked response. Let the lease lapse.
            _renewal.Dispose();
            return;
        }

        _ = _limiter.RenewAsync(_key, _holder);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            await _renewal.DisposeAsync();
            await _limiter.ReleaseAsync(_key, _holder, _accountKey);
        }
    }

    /// <summary>Releases without waiting (for synchronous disposal of a response); failures are logged.</summary>
    public void Dispose() => _ = DisposeAsync().AsTask();
}

/// <summary>
/// A slot being taken ahead of a request's first Mailchimp call (see <see cref="MailchimpConcurrencyLimiter.Reserve"/>).
/// The first call for the same account takes it; any later call, or a retry, waits for a slot as usual.
/// Disposing frees the slot when no call took it.
/// </summary>
public sealed class MailchimpSlotReservation : IAsyncDisposable
{
    private readonly Task<MailchimpConcurrencyLease?> _taking;
    private int _claimed;

    internal MailchimpSlotReservation(string accountKey, Task<MailchimpConcurrencyLease?> taking)
    {
        AccountKey = accountKey;
        _taking = taking;
    }

    /// <summary>The account whose slot is being taken.</summary>
    public string AccountKey { get; }

    /// <summary>The slot, for the first caller asking for <see cref="AccountKey"/>; null otherwise or when none was free.</summary>
    internal async ValueTask<MailchimpConcurrencyLease?> TakeAsync(string accountKey) =>
        accountKey == AccountKey && Interlocked.Exchange(ref _claimed, 1) == 0 ? await _taking : null;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _claimed, 1) == 0 && await _taking is { } unused)
        {
            await unused.DisposeAsync();
        }
    }

    public override string ToString() => $"slot reservation for {AccountKey}";
}
