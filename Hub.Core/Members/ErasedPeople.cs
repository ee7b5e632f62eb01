using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Hub.Core.Audiences;
using Hub.Core.Jobs;
using Hub.Core.Mailchimp;
using Hub.Core.Security;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using StackExchange.Redis;

namespace Hub.Core.Members;

/// <summary>
/// The people erased for a tenant (see Hub.Core/People), which no write of Hub sends to Mailchimp again: a full sync, a
/// single upsert and an inline batch report such a member as <see cref="Code"/> instead. Hub remembers them only as a
/// mark: the HMAC-SHA256 of the normalised address (<see cref="Normalize"/>) under a random key of the tenant's own, kept
/// encrypted with its other secrets (<see cref="SecretNames.PersonHashKey"/>). Without the key the mark tells nothing,
/// and the same address has another mark in every other tenant.
/// </summary>
public sealed class ErasedPeople(IConnectionMultiplexer redis, RedisKeys keys, TenantSecrets secrets) : ITenantDataOwner
{
    /// <summary>The outcome, problem type and member error code of a write of an erased address.</summary>
    public const string Code = "erased";

    // A tenant's key never changes once stored, so a replica keeps it once read.
    private readonly ConcurrentDictionary<TenantId, byte[]> _keys = new();

    private IDatabase Db => redis.GetDatabase();

    /// <summary>An address as Mailchimp identifies its contact (its subscriber hash is the MD5 of this): trimmed and lower-cased.</summary>
    public static string Normalize(string email) => email.Trim().ToLowerInvariant();

    /// <summary>The mark of <paramref name="email"/> for the tenant: 64 hex characters.</summary>
    public async Task<string> MarkAsync(TenantId tenant, string email) => Mark(await KeyAsync(tenant), email);

    /// <summary>Marks addresses for the tenant (one read of its key for many addresses).</summary>
    public async Task<Func<string, string>> MarkerAsync(TenantId tenant)
    {
        var key = await KeyAsync(tenant);
        return email => Mark(key, email);
    }

    /// <summary>Whether anyone was ever erased for the tenant (one cheap read, to skip marking when no one was).</summary>
    public Task<bool> AnyAsync(TenantId tenant) => Db.KeyExistsAsync(keys.ErasedPeople(tenant));

    /// <summary>For each address, the id of the erasure that erased it for the tenant, or null (one round trip).</summary>
    public async Task<string?[]> ErasuresAsync(TenantId tenant, IReadOnlyList<string> emails)
    {
        if (emails.Count == 0)
        {
            return [];
        }

        // A tenant that never erased anyone has no key yet (only an erasure makes one): nothing to mark or look up.
        if (await StoredKeyAsync(tenant) is not { } key)
        {
            return new string?[emails.Count];
        }

        var found = await Db.HashGetAsync(keys.ErasedPeople(tenant), [.. emails.Select(email => (RedisValue)Mark(key, email))]);
        return [.. found.Select(value => value.IsNullOrEmpty ? null : value.ToString())];
    }

    /// <summary>The erasure that erased the person with this mark, or null.</summary>
    public async Task<string?> ErasureOfAsync(TenantId tenant, string mark) => await Db.HashGetAsync(keys.ErasedPeople(tenant), mark);

    /// <summary>Remembers the person as erased by <paramref name="erasure"/>, from now on.</summary>
    public Task RememberAsync(TenantId tenant, string mark, JobId erasure) => Db.HashSetAsync(keys.ErasedPeople(tenant), mark, erasure.ToString());

    /// <summary>A member error for an erased address. It never names the address: job errors are stored.</summary>
    public static MemberError ErrorFor(string erasureId, string? row = null) =>
        new("", $"{row}This address was erased at the person's request (erasure {erasureId}); Hub does not write it to Mailchimp again. Remove the person from the host list.",
            Retryable: false, Code: Code);

    /// <summary>The problem for an erased address in a single write; it does not name the address either.</summary>
    public static MailchimpError ProblemFor(string erasureId) =>
        FacadeErrors.Create(Code, "Person erased", ErrorFor(erasureId).Reason);

    public Task DeleteTenantDataAsync(TenantId tenant, CancellationToken cancellationToken) => Db.KeyDeleteAsync(keys.ErasedPeople(tenant));

    private static string Mark(byte[] key, string email) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(Normalize(email))));

    /// <summary>The tenant's HMAC key, made on first use (one replica's stays when two make one at once).</summary>
    private async Task<byte[]> KeyAsync(TenantId tenant)
    {
        if (await StoredKeyAsync(tenant) is { } key)
        {
            return key;
        }

        await secrets.SetIfAbsentAsync(tenant, SecretNames.PersonHashKey, new Secret(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))));
        return await StoredKeyAsync(tenant)
            ?? throw new InvalidOperationException("The tenant's person hash key was deleted while it was made (the tenant is being deleted).");
    }

    /// <summary>The tenant's HMAC key if it has one (kept once read: it never changes), without making one.</summary>
    private async Task<byte[]?> StoredKeyAsync(TenantId tenant)
    {
        if (_keys.TryGetValue(tenant, out var cached))
        {
            return cached;
        }

        return await secrets.GetAsync(tenant, SecretNames.PersonHashKey) is { } stored
            ? _keys.GetOrAdd(tenant, Convert.FromBase64String(stored.Reveal()))
            : null;
    }
}
