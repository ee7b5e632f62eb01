using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Hub.Core.Security;

/// <summary>
/// AES-256-GCM encryption of secrets at rest, with key ids so keys can rotate. A ciphertext reads
/// <c>enc:v1:&lt;key id&gt;:&lt;base64(nonce | tag | ciphertext)&gt;</c>. The caller's context (for example
/// <c>tenant/&lt;id&gt;/webhook-signing</c>) is bound in as associated data, so a ciphertext copied
/// to another slot does not decrypt.
/// </summary>
public sealed class SecretProtector
{
    private const string Prefix = "enc:v1:";
    private const int NonceSize = 12;
    private const int TagSize = 16;

    private readonly Dictionary<string, byte[]> _keys;
    private readonly string _activeKeyId;

    public SecretProtector(IOptions<EncryptionOptions> options)
    {
        var value = options.Value;
        _keys = value.Keys.ToDictionary(
            pair => pair.Key,
            pair => EncryptionOptionsValidator.TryDecodeKey(pair.Value, out var key)
                ? key
                : throw new InvalidOperationException($"Hub:Encryption:Keys:{pair.Key} must be base64 of exactly 32 bytes."),
            StringComparer.Ordinal);
        _activeKeyId = value.ActiveKeyId ?? throw new InvalidOperationException("Hub:Encryption:ActiveKeyId is not set.");
    }

    public string ActiveKeyId => _activeKeyId;

    public string Protect(Secret secret, string context)
    {
        var plaintext = Encoding.UTF8.GetBytes(secret.Reveal());
        var payload = new byte[NonceSize + TagSize + plaintext.Length];
        var nonce = payload.AsSpan(0, NonceSize);
        var tag = payload.AsSpan(NonceSize, TagSize);
        var ciphertext = payload.AsSpan(NonceSize + TagSize);
        RandomNumberGenerator.Fill(nonce);

        using var aes = new AesGcm(_keys[_activeKeyId], TagSize);
        aes.Encrypt(nonce, plaintext, ciphertext, tag, Encoding.UTF8.GetBytes(context));
        CryptographicOperations.ZeroMemory(plaintext);
        return $"{Prefix}{_activeKeyId}:{Convert.ToBase64String(payload)}";
    }

    /// <summary>Decrypts with whichever configured key the ciphertext names. Fails when tampered, moved or the key is gone.</summary>
    public Secret Unprotect(string protectedValue, string context)
    {
        if (!TryParse(protectedValue, out var keyId, out var payload) || payload.Length < NonceSize + TagSize)
        {
            throw new CryptographicException("Not a Hub ciphertext.");
        }

        if (!_keys.TryGetValue(keyId, out var key))
        {
            throw new CryptographicException($"Encryption key '{keyId}' is not configured (Hub:Encryption:Keys:{keyId}); it is needed to read secrets written with it.");
        }

        var plaintext = new byte[payload.Length - NonceSize - TagSize];
        using var aes = new AesGcm(key, TagSize);
        aes.Decrypt(payload.AsSpan(0, NonceSize), payload.AsSpan(NonceSize + TagSize), payload.AsSpan(NonceSize, TagSize), plaintext, Encoding.UTF8.GetBytes(context));
        return new Secret(Encoding.UTF8.GetString(plaintext));
    }

    /// <summary>True when the ciphertext was written with the active key.</summary>
    public bool IsCurrent(string protectedValue) =>
        TryParse(protectedValue, out var keyId, out _) && keyId == _activeKeyId;

    private static bool TryParse(string value, out string keyId, out byte[] payload)
    {
        keyId = "";
        payload = [];
        if (!value.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = value.AsSpan(Prefix.Length);
        var colon = rest.IndexOf(':');
        if (colon <= 0)
        {
            return false;
        }

        keyId = rest[..colon].ToString();
        try
        {
            payload = Convert.FromBase64String(rest[(colon + 1)..].ToString());
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
