using Microsoft.Extensions.Options;

namespace Hub.Core.Security;

/// <summary>Keys that encrypt secrets at rest. Bound from <c>Hub:Encryption</c>; never stored in Redis.</summary>
public sealed class EncryptionOptions
{
    public const string SectionName = "Hub:Encryption";

    /// <summary>Key id to base64 of 32 random bytes (AES-256). Keep retired keys here until re-encryption has run.</summary>
    public Dictionary<string, string> Keys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The key id new ciphertexts are written with.</summary>
    public string? ActiveKeyId { get; set; }
}

/// <summary>Fails start-up with a message naming the setting when the keys are missing or malformed.</summary>
public sealed class EncryptionOptionsValidator : IValidateOptions<EncryptionOptions>
{
    public ValidateOptionsResult Validate(string? name, EncryptionOptions options)
    {
        if (options.Keys.Count == 0)
        {
            return ValidateOptionsResult.Fail(
                "Hub:Encryption:Keys is empty. Configure at least one key as Hub:Encryption:Keys:<id> = base64 of 32 random bytes " +
                "(e.g. `openssl rand -base64 32`) and set Hub:Encryption:ActiveKeyId to its id.");
        }

        var failures = new List<string>();
        foreach (var (id, value) in options.Keys)
        {
            if (!KeyId.IsValid(id))
            {
                failures.Add($"Hub:Encryption:Keys:{id}: a key id may only contain letters, digits, '-' and '_' (at most 32).");
            }
            else if (!TryDecodeKey(value, out _))
            {
                failures.Add($"Hub:Encryption:Keys:{id} must be base64 of exactly 32 bytes.");
            }
        }

        if (string.IsNullOrWhiteSpace(options.ActiveKeyId))
        {
            failures.Add("Hub:Encryption:ActiveKeyId is empty. Set it to the id of one of Hub:Encryption:Keys.");
        }
        else if (!options.Keys.ContainsKey(options.ActiveKeyId))
        {
            failures.Add($"Hub:Encryption:ActiveKeyId '{options.ActiveKeyId}' is not one of Hub:Encryption:Keys.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static bool TryDecodeKey(string? base64, out byte[] key)
    {
        key = [];
        if (string.IsNullOrWhiteSpace(base64))
        {
            return false;
        }

        var buffer = new byte[48];
        if (!Convert.TryFromBase64String(base64.Trim(), buffer, out var written) || written != 32)
        {
            return false;
        }

        key = buffer[..32];
        return true;
    }
}

internal static class KeyId
{
    public static bool IsValid(string id) =>
        id.Length is > 0 and <= 32 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
