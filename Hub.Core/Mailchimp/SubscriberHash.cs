using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Hub.Core.Mailchimp;

/// <summary>
/// Mailchimp's id of a contact within an audience: the lowercase hex MD5 of the lower-cased email (FACTS.md §4, from
/// Mailchimp's docs <c>api-concepts/methods-and-parameters.mdx</c> and <c>concepts/audiences/contacts.mdx</c>).
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
        // Trimmed, lower-cased and encoded on the stack for an address of any ordinary length (one is at most 254 characters).
        var trimmed = email.AsSpan().Trim();
        Span<char> lower = trimmed.Length <= 512 ? stackalloc char[trimmed.Length] : new char[trimmed.Length];
        trimmed.ToLowerInvariant(lower);
        var length = Encoding.UTF8.GetByteCount(lower);
        Span<byte> utf8 = length <= 1536 ? stackalloc byte[length] : new byte[length];
        Encoding.UTF8.GetBytes(lower, utf8);
        Span<byte> hash = stackalloc byte[Md5.HashSizeInBytes];
        Md5.HashData(utf8, hash);
        return new(Convert.ToHexStringLower(hash));
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
