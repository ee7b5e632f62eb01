using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using Hub.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Core.Tenants;

/// <summary>How long a replica may answer for a tenant API key without asking Redis. Bound from <c>Hub:TenantKeys</c>.</summary>
public sealed class TenantKeyOptions
{
    public const string SectionName = "Hub:TenantKeys";

    /// <summary>
    /// How long an authenticated key is remembered. A change to the key or its tenant reaches every
    /// replica at once through Redis; this only bounds how long a lost notice could go unnoticed.
    /// Zero reads Redis on every request.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Authenticated tenant API keys remembered per replica, so a request does not wait on Redis to learn
/// who is calling. Whatever can change an answer (a key revoked; a tenant updated, disabled or deleted)
/// calls <see cref="ChangedAsync"/>: it drops the tenant's entries here and, through a Redis channel, on
/// every other replica. An answer is served from memory only while notices are known to arrive (the
/// subscription stands, and after a dropped connection this replica's own probe came back through the
/// channel), only if no change arrived while it was read, and for at most
/// <see cref="TenantKeyOptions.CacheDuration"/>. Entries are keyed by the key's SHA-256, never by the key.
/// </summary>
public sealed partial class TenantKeyCache : IDisposable
{
    private const int MaxEntries = 10_000;

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisChannel _channel;
    private readonly TimeSpan _duration;
    private readonly TimeProvider _time;
    private readonly ILogger<TenantKeyCache> _logger;
    private readonly string _probePrefix = "probe:" + Guid.NewGuid().ToString("N") + ":";
    private long _probe;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private volatile bool _subscribed;
    private volatile bool _delivering = true;
    private int _subscribing;
    private long _nextAttempt;
    private long _generation;

    public TenantKeyCache(IConnectionMultiplexer redis, RedisKeys keys, IOptions<TenantKeyOptions> options, TimeProvider time, ILogger<TenantKeyCache> logger)
    {
        _redis = redis;
        _channel = RedisChannel.Literal(keys.TenantChangedChannel);
        _duration = options.Value.CacheDuration;
        _time = time;
        _logger = logger;
        _redis.ConnectionFailed += OnConnectionFailed;
        _redis.ConnectionRestored += OnConnectionRestored;
    }

    /// <summary>The caller behind <paramref name="keyHash"/>, when remembered and still fresh.</summary>
    public bool TryGet(string keyHash, out AuthenticatedTenant caller)
    {
        if (_entries.TryGetValue(keyHash, out var entry) && _time.GetTimestamp() < entry.FreshUntil)
        {
            caller = entry.Caller;
            return true;
        }

        caller = null!;
        return false;
    }

    /// <summary>The tenant <paramref name="keyHash"/> belonged to when last read, fresh or not: lets its record be read alongside the key.</summary>
    public TenantId? LastTenant(string keyHash) => _entries.TryGetValue(keyHash, out var entry) ? entry.Caller.Tenant.Id : null;

    /// <summary>Taken before reading a key from Redis and handed to <see cref="Remember"/> with the answer.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>Remembers an answer read from Redis, unless a change arrived since <paramref name="generationBeforeRead"/>.</summary>
    public void Remember(string keyHash, AuthenticatedTenant caller, long generationBeforeRead)
    {
        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }

        // Fresh only while notices arrive; otherwise kept just as a hint for the next read.
        var fresh = _duration > TimeSpan.Zero && Delivering();
        var entry = new Entry(caller, fresh ? _time.GetTimestamp() + (long)(_duration.TotalSeconds * _time.TimestampFrequency) : 0);
        _entries[keyHash] = entry;

        // A change counted after the read began may have swept the entries before this one was stored.
        if (Generation != generationBeforeRead)
        {
            _entries.TryRemove(new KeyValuePair<string, Entry>(keyHash, entry));
        }
    }

    /// <summary>Forgets <paramref name="tenant"/>'s keys here at once and tells the other replicas to do the same.</summary>
    public async Task ChangedAsync(TenantId tenant)
    {
        Forget(tenant);
        try
        {
            await _redis.GetSubscriber().PublishAsync(_channel, tenant.ToString());
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogPublishFailed(_logger, tenant.ToString(), _duration.TotalSeconds, e);
        }
    }

    public void Dispose()
    {
        _redis.ConnectionFailed -= OnConnectionFailed;
        _redis.ConnectionRestored -= OnConnectionRestored;
    }

    /// <summary>
    /// Whether notices are known to arrive. Subscribes on first use; after a dropped connection, sends a
    /// probe through the channel and answers true once it comes back. Retries at most once a second.
    /// </summary>
    private bool Delivering()
    {
        if (_subscribed && _delivering)
        {
            return true;
        }

        if (_time.GetTimestamp() >= Interlocked.Read(ref _nextAttempt) && Interlocked.CompareExchange(ref _subscribing, 1, 0) == 0)
        {
            Interlocked.Exchange(ref _nextAttempt, _time.GetTimestamp() + _time.TimestampFrequency);
            _ = _subscribed ? ProbeAsync() : SubscribeAsync();
        }

        return false;
    }

    private async Task SubscribeAsync()
    {
        try
        {
            await _redis.GetSubscriber().SubscribeAsync(_channel, (_, message) => OnNotice(message.ToString()));
            _subscribed = true;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogSubscribeFailed(_logger, e);
        }
        finally
        {
            Interlocked.Exchange(ref _subscribing, 0);
        }
    }

    private async Task ProbeAsync()
    {
        try
        {
            await _redis.GetSubscriber().PublishAsync(_channel, _probePrefix + Interlocked.Increment(ref _probe));
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Still cut off; the next attempt probes again.
        }
        finally
        {
            Interlocked.Exchange(ref _subscribing, 0);
        }
    }

    private void OnNotice(string message)
    {
        if (message == _probePrefix + Interlocked.Read(ref _probe))
        {
            _delivering = true;
        }
        else if (TenantId.TryParse(message, out var tenant))
        {
            Forget(tenant);
        }
    }

    // Notices may be missed while a connection is down: answer nothing from memory until a probe proves the
    // channel delivers again (the client subscribes again by itself when it reconnects).
    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e) => Reset();

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) => Reset();

    private void Reset()
    {
        Interlocked.Increment(ref _probe); // a probe still on its way proves nothing about the new connection
        _delivering = false;
        Forget(tenant: null);
    }

    private void Forget(TenantId? tenant)
    {
        Interlocked.Increment(ref _generation);
        foreach (var (hash, entry) in _entries)
        {
            if (tenant is null || entry.Caller.Tenant.Id == tenant)
            {
                _entries.TryRemove(new KeyValuePair<string, Entry>(hash, entry));
            }
        }
    }

    /// <summary>An answer read from Redis; served from memory until <see cref="FreshUntil"/> (a timestamp; 0 for a hint only).</summary>
    private sealed record Entry(AuthenticatedTenant Caller, long FreshUntil);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not tell other replicas that tenant {TenantId} changed; they may answer for its old keys for up to {Seconds} s.")]
    private static partial void LogPublishFailed(ILogger logger, string tenantId, double seconds, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not subscribe to tenant changes; tenant API keys are checked in Redis on every request until it works.")]
    private static partial void LogSubscribeFailed(ILogger logger, Exception exception);
}
