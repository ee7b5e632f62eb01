using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace Hub.Core.Mailchimp;

/// <summary>
/// Mailchimp's id of a contact within an audience: the lowercase hex MD5 of the lower-cased email.
/// </summary>
public readonly record struct SubscriberHash
{
    private SubscriberHash(string value) => Value = value;

    /// <summary>32 lowercase hex characters.</summary>
    public string Value { get; }

    /// <summary>The hash Mailchimp uses for <paramref name="email"/> (trimmed, lower-cased, MD5, lowercase hex).</summary>
    public static SubscriberHash FromEmail(string email)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(email);
        return new(Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(email.Trim().ToLowerInvariant()))));
    }

    public static bool TryParse([NotNullWhen(true)] string? value, out SubscriberHash hash)
    {
        hash = default;
        if (value is not { Length: 32 } || !value.All(char.IsAsciiHexDigit))
        {
            return false;
        }

        hash = new(value.ToLowerInvariant());
        return true;
    }

    public static SubscriberHash Parse(string value) =>
        TryParse(value, out var hash) ? hash : throw new FormatException("A subscriber hash is 32 hex characters (MD5 of the lower-cased email).");

    public override string ToString() => Value ?? "";
}
