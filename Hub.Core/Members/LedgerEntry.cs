using StackExchange.Redis;

namespace Hub.Core.Members;

/// <summary>
/// An entry of a list's ledger (<see cref="Storage.RedisKeys.ListLedger"/>, written by <c>Lua/ledger_entry.lua</c>): the field
/// is the member's subscriber hash as 16 bytes, the value the fingerprint of what Hub last wrote as 8 bytes and then <c>1</c>
/// when Hub created the contact or <c>0</c>. In hex, with the hub-added members in a set of their own, a member cost some 220
/// bytes of Redis; in bytes, in one hash, about 90. Hub itself speaks hex: these convert at the store.
/// </summary>
public static class LedgerEntry
{
    private const int FingerprintBytes = 8;

    /// <summary>The field of a subscriber hash (32 hex digits).</summary>
    public static RedisValue Field(string subscriberHash) => Convert.FromHexString(subscriberHash);

    /// <summary>A fingerprint (16 hex digits) as the 8 bytes an entry stores it as (its value without the hub-added mark).</summary>
    public static RedisValue FingerprintValue(string fingerprint) => Convert.FromHexString(fingerprint);

    /// <summary>The subscriber hash (lower-case hex) of a field.</summary>
    public static string HashOf(RedisValue field) => Convert.ToHexStringLower(((ReadOnlyMemory<byte>)field).Span);

    /// <summary>The fingerprint (16 hex digits) an entry records, or null when there is no entry.</summary>
    public static string? FingerprintOf(RedisValue value) =>
        value.IsNull ? null : Convert.ToHexStringLower(((ReadOnlyMemory<byte>)value).Span[..FingerprintBytes]);

    /// <summary>Whether an entry records <paramref name="fingerprint"/> (16 hex digits), compared as bytes: the planner asks for every member.</summary>
    public static bool Records(RedisValue value, string fingerprint)
    {
        Span<byte> bytes = stackalloc byte[FingerprintBytes];
        return !value.IsNull
            && Convert.FromHexString(fingerprint, bytes, out _, out var written) == System.Buffers.OperationStatus.Done && written == FingerprintBytes
            && ((ReadOnlyMemory<byte>)value).Span[..FingerprintBytes].SequenceEqual(bytes);
    }

    /// <summary>Whether the entry says Hub created the contact.</summary>
    public static bool IsHubAdded(RedisValue value) => !value.IsNull && ((ReadOnlyMemory<byte>)value).Span[FingerprintBytes] == (byte)'1';

    /// <summary>An entry's value (for the migration of ledgers written in hex).</summary>
    public static RedisValue Value(string fingerprint, bool hubAdded) => (byte[])[.. Convert.FromHexString(fingerprint), hubAdded ? (byte)'1' : (byte)'0'];
}
