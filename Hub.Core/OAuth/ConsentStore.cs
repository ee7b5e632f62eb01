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

/// <summary>What an OAuth state carries: whose consent it is (the browser cookie it is bound to is kept beside it, as a hash).</summary>
public sealed record ConsentState(TenantId Tenant, string ClientId, string? ReturnUrl, string? Locale);

/// <summary>A state found by <see cref="ConsentStore.TakeStateAsync"/>: taken when the cookie matched, left in place when it did not.</summary>
public sealed record TakenState(ConsentState State, bool CookieMatched);

/// <summary>
/// Consent links and OAuth states in Redis. Both are random values shown once; Redis keeps them
/// under their SHA-256 with a TTL, and both are consumed atomically so a second use fails. A state is
/// stored as <c>{cookie hash} {json}</c> and consumed only by the browser holding its cookie, so a
/// state seen by someone else (in a URL, a log) cannot be used to spoil the consent.
/// </summary>
public sealed class ConsentStore(IConnectionMultiplexer redis, RedisKeys keys, IOptions<OAuthOptions> options)
{
    /// <summary>How long a consent's result waits for its page: the browser follows the redirect at once.</summary>
    public static readonly TimeSpan ResultLifetime = TimeSpan.FromMinutes(5);

    private static readonly RedisScript TakeScript = RedisScript.Load("OAuth", "take");
    private static readonly RedisScript TakeStateScript = RedisScript.Load("OAuth", "take_state");

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
        var stored = new ConsentState(tenant, clientId, returnUrl, locale);
        await Db.StringSetAsync(keys.OAuthState(Hash(state.Reveal())),
            $"{Hash(cookie.Reveal())} {JsonSerializer.Serialize(stored, HubJsonContext.Default.ConsentState)}", options.Value.StateLifetime);
        return (state, cookie);
    }

    /// <summary>
    /// Consumes a state when <paramref name="cookie"/> is the one bound to it: the first such caller gets it
    /// (<see cref="TakenState.CookieMatched"/>), every later one gets null, and so does anyone after expiry.
    /// Without the cookie the state is returned but left in place for its own browser.
    /// </summary>
    public async Task<TakenState?> TakeStateAsync(string state, string? cookie, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("consent.state.take");
        var result = await TakeStateScript.EvaluateAsync(Db, [keys.OAuthState(Hash(state))], string.IsNullOrEmpty(cookie) ? "-" : Hash(cookie));
        if (result.IsNull)
        {
            return null;
        }

        var parts = (RedisResult[])result!;
        var stored = JsonSerializer.Deserialize(parts[1].ToString(), HubJsonContext.Default.ConsentState)!;
        return new TakenState(stored, (long)parts[0] == 1);
    }

    /// <summary>Keeps a consent's result under a new random value (256 bits) for <see cref="ResultLifetime"/>; Redis holds only its hash.</summary>
    public async Task<Secret> CreateResultAsync(ConsentResult result, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("consent.result.create");
        var value = Secret.Generate("");
        await Db.StringSetAsync(keys.ConsentResult(Hash(value.Reveal())), JsonSerializer.Serialize(result, HubJsonContext.Default.ConsentResult), ResultLifetime);
        return value;
    }

    /// <summary>The result kept under <paramref name="value"/>, taken atomically: a second read gets null.</summary>
    public async Task<ConsentResult?> TakeResultAsync(string value, CancellationToken cancellationToken)
    {
        using var span = HubTelemetry.StartRedis("consent.result.take");
        var stored = await TakeAsync(keys.ConsentResult(Hash(value)));
        return stored is null ? null : JsonSerializer.Deserialize(stored, HubJsonContext.Default.ConsentResult);
    }

    private async Task<string?> TakeAsync(RedisKey key)
    {
        var result = await TakeScript.EvaluateAsync(Db, [key]);
        return result.IsNull ? null : result.ToString();
    }

    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
}
