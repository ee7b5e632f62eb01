using System.Security.Cryptography;

namespace Hub.Core.Storage;

/// <summary>Hub's public ids: a type prefix and 20 random lowercase letters and digits (about 103 bits).</summary>
internal static class RandomIds
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    private const int RandomLength = 20;

    public static string New(string prefix) => prefix + RandomNumberGenerator.GetString(Alphabet, RandomLength);

    public static bool IsValid(string? value, string prefix) =>
        value is not null
        && value.Length == prefix.Length + RandomLength
        && value.StartsWith(prefix, StringComparison.Ordinal)
        && value.AsSpan(prefix.Length).IndexOfAnyExcept(Alphabet) < 0;
}
