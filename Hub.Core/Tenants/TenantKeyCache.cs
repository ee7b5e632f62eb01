using System.Collections.Concurrent;
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
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Authenticated tenant API keys remembered per replica, so a request does not wait on Redis to learn
/// who is calling. Whatever can change an answer (a key revoked; a tenant updated, disabled or deleted)
/// calls <see cref="ChangedAsync"/>: it drops the tenant's entries here and, through a Redis channel, on
/// every other replica. An entry is stored only while this replica listens on that channel and no change
/// arrived while it was read, and it expires after <see cref="TenantKeyOptions.CacheDuration"/> anyway.
/// Entries are keyed by the key's SHA-256, never by the key.
/// </summary>
public sealed partial class TenantKeyCache : IDisposable
{
    private const int MaxEntries = 10_000;

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisChannel _channel;
    private readonly TimeSpan _duration;
    private readonly TimeProvider _time;
    private readonly ILogger<TenantKeyCache> _logger;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private volatile bool _subscribed;
    private volatile bool _connected = true;
    private int _subscribing;
    private long _nextSubscribeAttempt;
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

    /// <summary>The caller behind <paramref name="keyHash"/>, when remembered and not yet expired.</summary>
    public bool TryGet(string keyHash, out AuthenticatedTenant caller)
    {
        if (_entries.TryGetValue(keyHash, out var entry) && _time.GetTimestamp() < entry.ExpiresAt)
        {
            caller = entry.Caller;
            return true;
        }

        caller = null!;
        return false;
    }

    /// <summary>Taken before reading a key from Redis and handed to <see cref="Remember"/> with the answer.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>Remembers an answer read from Redis, unless a change arrived since <paramref name="generationBeforeRead"/>.</summary>
    public void Remember(string keyHash, AuthenticatedTenant caller, long generationBeforeRead)
    {
        if (_duration <= TimeSpan.Zero || !Listening())
        {
            return;
        }

        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }

        var entry = new Entry(caller, _time.GetTimestamp() + (long)(_duration.TotalSeconds * _time.TimestampFrequency));
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
        Forget(tenant.ToString());
        try
        {
            await _redis.GetSubscriber().PublishAsync(_channel, tenant.ToString());
        }
        catch (RedisException e)
        {
            LogPublishFailed(_logger, tenant.ToString(), _duration.TotalSeconds, e);
        }
    }

    public void Dispose()
    {
        _redis.ConnectionFailed -= OnConnectionFailed;
        _redis.ConnectionRestored -= OnConnectionRestored;
    }

    /// <summary>Subscribes on first use (and again a second after a failed try); true while the subscription stands.</summary>
    private bool Listening()
    {
        if (!_subscribed && _time.GetTimestamp() >= Interlocked.Read(ref _nextSubscribeAttempt)
            && Interlocked.CompareExchange(ref _subscribing, 1, 0) == 0)
        {
            _ = SubscribeAsync();
        }

        return _subscribed && _connected;
    }

    private async Task SubscribeAsync()
    {
        try
        {
            await _redis.GetSubscriber().SubscribeAsync(_channel, (_, tenant) => Forget(tenant.ToString()));
            _subscribed = true;
        }
        catch (RedisException e)
        {
            LogSubscribeFailed(_logger, e);
            Interlocked.Exchange(ref _nextSubscribeAttempt, _time.GetTimestamp() + _time.TimestampFrequency);
        }
        finally
        {
            Interlocked.Exchange(ref _subscribing, 0);
        }
    }

    // Notices may be missed while a connection is down: remember nothing until it is back, then start over
    // (the client subscribes again by itself when it reconnects).
    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        _connected = false;
        Forget(tenant: null);
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        Forget(tenant: null);
        _connected = true;
    }

    private void Forget(string? tenant)
    {
        Interlocked.Increment(ref _generation);
        foreach (var (hash, entry) in _entries)
        {
            if (tenant is null || entry.Caller.Tenant.Id.ToString() == tenant)
            {
                _entries.TryRemove(new KeyValuePair<string, Entry>(hash, entry));
            }
        }
    }

    private sealed record Entry(AuthenticatedTenant Caller, long ExpiresAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not tell other replicas that tenant {TenantId} changed; they may answer for its old keys for up to {Seconds} s.")]
    private static partial void LogPublishFailed(ILogger logger, string tenantId, double seconds, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not subscribe to tenant changes; tenant API keys are checked in Redis on every request until it works.")]
    private static partial void LogSubscribeFailed(ILogger logger, Exception exception);
}
