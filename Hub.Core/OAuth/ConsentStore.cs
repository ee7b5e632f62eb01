using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hub.Core.Diagnostics;
using Hub.Core.Security;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Core.OAuth;

/// <summary>What a consent link carries.</summary>
public sealed record ConsentSession(TenantId Tenant, string? ReturnUrl, string? Locale);

/// <summary>What an OAuth state carries: whose consent it is and the hash of the browser cookie bound to it.</summary>
public sealed record ConsentState(TenantId Tenant, string ClientId, string CookieHash, string? ReturnUrl, string? Locale);

/// <summary>
/// Consent links and OAuth states in Redis. Both are random values shown once; Redis keeps them
/// under their SHA-256 with a TTL, and both are consumed with one atomic GET+DEL so a second use fails.
/// </summary>
public sealed class ConsentStore(IConnectionMultiplexer redis, RedisKeys keys, IOptions<OAuthOptions> options)
{
    // A Lua GET+DEL rather than GETDEL: Garnet's AOF replay mishandled GETDEL in a probe.
    private const string TakeScript = """
        local value = redis.call('GET', KEYS[1])
        if value then redis.call('DEL', KEYS[1]) end
        return value
        """;

    private IDatabase Db => redis.GetDatabase();

    /// <summary>A new single-use consent link value (256 random bits).</summary>
    public async Task<(Secret Session, DateTimeOffset ExpiresAt)> CreateSessionAsync(ConsentSession session, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("consent.session.create");
        var value = Secret.Generate("cs_");
        var lifetime = options.Value.ConsentLinkLifetime;
        await Db.StringSetAsync(keys.ConsentSession(Hash(value.Reveal())), JsonSerializer.Serialize(session, HubJsonContext.Default.ConsentSession), lifetime);
        return (value, now + lifetime);
    }

    public async Task<ConsentSession?> TakeSessionAsync(string session, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("consent.session.take");
        var stored = await TakeAsync(keys.ConsentSession(Hash(session)));
        return stored is null ? null : JsonSerializer.Deserialize(stored, HubJsonContext.Default.ConsentSession);
    }

    /// <summary>A new state (256 random bits) and the cookie value (256 random bits) that binds it to one browser.</summary>
    public async Task<(Secret State, Secret Cookie)> CreateStateAsync(TenantId tenant, string clientId, string? returnUrl, string? locale, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("consent.state.create");
        var state = Secret.Generate("");
        var cookie = Secret.Generate("");
        var stored = new ConsentState(tenant, clientId, Hash(cookie.Reveal()), returnUrl, locale);
        await Db.StringSetAsync(keys.OAuthState(Hash(state.Reveal())), JsonSerializer.Serialize(stored, HubJsonContext.Default.ConsentState), options.Value.StateLifetime);
        return (state, cookie);
    }

    /// <summary>Consumes a state: the first caller gets it, every later one (or after expiry) gets null.</summary>
    public async Task<ConsentState?> TakeStateAsync(string state, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("consent.state.take");
        var stored = await TakeAsync(keys.OAuthState(Hash(state)));
        return stored is null ? null : JsonSerializer.Deserialize(stored, HubJsonContext.Default.ConsentState);
    }

    /// <summary>True when the presented cookie is the one bound to the state (compared as hashes, in constant time).</summary>
    public static bool CookieMatches(ConsentState state, string? cookie) =>
        !string.IsNullOrEmpty(cookie)
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(cookie)), Encoding.ASCII.GetBytes(state.CookieHash));

    private async Task<string?> TakeAsync(RedisKey key)
    {
        var result = await Db.ScriptEvaluateAsync(TakeScript, [key]);
        return result.IsNull ? null : result.ToString();
    }

    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
}
