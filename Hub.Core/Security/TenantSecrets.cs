using Hub.Core.Diagnostics;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using StackExchange.Redis;

namespace Hub.Core.Security;

/// <summary>Names of the secrets a tenant can hold. Each is one field of the tenant's secrets hash.</summary>
public static class SecretNames
{
    public const string WebhookSigning = "webhook-signing";

    /// <summary>The client secret of the tenant's own Mailchimp OAuth app.</summary>
    public const string MailchimpClientSecret = "mailchimp-client-secret";

    /// <summary>The Mailchimp OAuth access token obtained at consent (never expires).</summary>
    public const string MailchimpAccessToken = "mailchimp-access-token";

    /// <summary>A Mailchimp API key (<c>&lt;hex&gt;-&lt;dc&gt;</c>) handed over instead of OAuth.</summary>
    public const string MailchimpApiKey = "mailchimp-api-key";

    /// <summary>The key of the HMAC under which Hub remembers the people erased for the tenant (see <c>Members.ErasedPeople</c>).</summary>
    public const string PersonHashKey = "person-hash-key";
}

/// <summary>
/// Every secret Hub must be able to read back (signing secrets, Mailchimp tokens and keys, OAuth
/// client secrets) lives here: one Redis hash per tenant, each field an AES-GCM ciphertext bound
/// to its tenant and name. One place to store them means one place to re-encrypt them.
/// </summary>
public sealed class TenantSecrets(IConnectionMultiplexer redis, RedisKeys keys, SecretProtector protector)
{
    // Replace a ciphertext only if it is still the one we re-encrypted, so a concurrent write wins.
    private static readonly RedisScript CompareAndSet = RedisScript.Load("Security", "compare_and_set_secret");

    private IDatabase Db => redis.GetDatabase();

    public async Task SetAsync(TenantId tenant, string name, Secret value)
    {
        using var span = HubTelemetry.StartRedis("secret.set");
        await Db.HashSetAsync(keys.TenantSecrets(tenant), name, protector.Protect(value, Context(tenant, name)));
    }

    /// <summary>Stores the secret unless one is stored under the name already; answers whether this call stored it.</summary>
    public async Task<bool> SetIfAbsentAsync(TenantId tenant, string name, Secret value)
    {
        using var span = HubTelemetry.StartRedis("secret.set");
        return await Db.HashSetAsync(keys.TenantSecrets(tenant), name, protector.Protect(value, Context(tenant, name)), When.NotExists);
    }

    /// <summary>Adds the write to a transaction that also creates or changes the owner.</summary>
    internal Task SetAsync(ITransaction transaction, TenantId tenant, string name, Secret value) =>
        transaction.HashSetAsync(keys.TenantSecrets(tenant), name, protector.Protect(value, Context(tenant, name)));

    public async Task<Secret?> GetAsync(TenantId tenant, string name)
    {
        using var span = HubTelemetry.StartRedis("secret.get");
        var stored = await Db.HashGetAsync(keys.TenantSecrets(tenant), name);
        return stored.IsNullOrEmpty ? null : protector.Unprotect(stored.ToString(), Context(tenant, name));
    }

    /// <summary>
    /// Reads several stored secrets in one round trip without decrypting them, so a caller that needs only
    /// one of them (chosen by data read at the same time) decrypts just that one with <see cref="Unprotect"/>.
    /// </summary>
    internal Task<RedisValue[]> ReadProtectedAsync(TenantId tenant, RedisValue[] names) =>
        Db.HashGetAsync(keys.TenantSecrets(tenant), names);

    /// <summary>Decrypts a value read by <see cref="ReadProtectedAsync"/>; null when it was not stored.</summary>
    internal Secret? Unprotect(TenantId tenant, string name, RedisValue stored) =>
        stored.IsNullOrEmpty ? null : protector.Unprotect(stored.ToString(), Context(tenant, name));

    public async Task DeleteAsync(TenantId tenant, string name)
    {
        using var span = HubTelemetry.StartRedis("secret.delete");
        await Db.HashDeleteAsync(keys.TenantSecrets(tenant), name);
    }

    /// <summary>Re-encrypts every stored secret of every tenant under the active key. Admin-only; walks the tenant index.</summary>
    public async Task<ReEncryptionReport> ReEncryptAllAsync(CancellationToken cancellationToken)
    {
        using var activity = HubTelemetry.Source.StartActivity("secrets.re-encrypt");
        int reEncrypted = 0, alreadyCurrent = 0;
        await foreach (var tenant in TenantIndex.AllAsync(Db, keys, cancellationToken))
        {
            var hash = keys.TenantSecrets(tenant);
            foreach (var entry in await Db.HashGetAllAsync(hash))
            {
                var ciphertext = entry.Value.ToString();
                if (protector.IsCurrent(ciphertext))
                {
                    alreadyCurrent++;
                    continue;
                }

                var context = Context(tenant, entry.Name.ToString());
                var renewed = protector.Protect(protector.Unprotect(ciphertext, context), context);
                var replaced = (long)await CompareAndSet.EvaluateAsync(Db, [hash], entry.Name, ciphertext, renewed);
                if (replaced == 1)
                {
                    reEncrypted++;
                }
            }
        }

        return new ReEncryptionReport(reEncrypted, alreadyCurrent, protector.ActiveKeyId);
    }

    private static string Context(TenantId tenant, string name) => $"tenant/{tenant}/{name}";
}

public sealed record ReEncryptionReport(int ReEncrypted, int AlreadyCurrent, string ActiveKeyId);
