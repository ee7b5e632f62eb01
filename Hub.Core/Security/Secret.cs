using System.Security.Cryptography;

namespace Hub.Core.Security;

/// <summary>
/// A secret value (API key, token, client secret, signing secret). Its <see cref="ToString"/>
/// redacts, so it never reaches a log, a trace or an exception message by accident.
/// </summary>
public sealed class Secret : IEquatable<Secret>
{
    private readonly string _value;

    public Secret(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        _value = value;
    }

    /// <summary>The plain value, for the one place that must send or show it.</summary>
    public string Reveal() => _value;

    public override string ToString() => "[redacted]";

    public bool Equals(Secret? other) =>
        other is not null &&
        CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.UTF8.GetBytes(_value), System.Text.Encoding.UTF8.GetBytes(other._value));

    public override bool Equals(object? obj) => obj is Secret other && Equals(other);

    public override int GetHashCode() => _value.GetHashCode(StringComparison.Ordinal);

    /// <summary>A new random secret: <paramref name="prefix"/> then <paramref name="bytes"/> random bytes, base64url.</summary>
    public static Secret Generate(string prefix, int bytes = 32) =>
        new(prefix + Base64Url.Encode(RandomNumberGenerator.GetBytes(bytes)));
}

/// <summary>Base64url without padding, for tokens that travel in URLs and headers.</summary>
public static class Base64Url
{
    public static string Encode(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}
