using System.Buffers.Binary;
using System.Numerics;

namespace Hub.Core.Mailchimp;

/// <summary>
/// MD5 (RFC 1321) in managed code, for <see cref="SubscriberHash"/>: Mailchimp names a contact by the MD5 of its address, and
/// Hub hashes every member it stages, plans and writes. The platform's <c>MD5.HashData</c> goes to OpenSSL on Linux, whose
/// one-shot digest costs about 490 ns for an address on Hub's development machine against 155 ns here (no allocation, no
/// native call). Not for anything where MD5's weakness matters: Mailchimp chose it as a name, not as a protection.
/// </summary>
internal static class Md5
{
    // RFC 1321 §3.4: K[i] is the integer part of 2^32 x |sin(i + 1)|; S the per-round shift amounts.
    private static readonly uint[] K = [.. Enumerable.Range(0, 64).Select(i => (uint)(long)Math.Floor(Math.Abs(Math.Sin(i + 1)) * 4294967296.0))];
    private static readonly int[] S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];

    public const int HashSizeInBytes = 16;

    /// <summary>Writes the MD5 of <paramref name="source"/> into the first 16 bytes of <paramref name="destination"/>.</summary>
    public static void HashData(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        uint a0 = 0x67452301, b0 = 0xefcdab89, c0 = 0x98badcfe, d0 = 0x10325476;
        Span<byte> tail = stackalloc byte[128];
        var full = source.Length / 64 * 64;
        for (var offset = 0; offset < full; offset += 64)
        {
            Block(source.Slice(offset, 64), ref a0, ref b0, ref c0, ref d0);
        }

        // The padding: 0x80, zeros, then the length in bits (little-endian), to a whole number of blocks (one or two).
        var rest = source.Length - full;
        source[full..].CopyTo(tail);
        tail[rest] = 0x80;
        var tailLength = rest < 56 ? 64 : 128;
        tail[(rest + 1)..tailLength].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(tail[(tailLength - 8)..], (ulong)source.Length * 8);
        for (var offset = 0; offset < tailLength; offset += 64)
        {
            Block(tail.Slice(offset, 64), ref a0, ref b0, ref c0, ref d0);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(destination, a0);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], b0);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], c0);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], d0);
    }

    private static void Block(ReadOnlySpan<byte> block, ref uint a0, ref uint b0, ref uint c0, ref uint d0)
    {
        Span<uint> m = stackalloc uint[16];
        for (var i = 0; i < 16; i++) m[i] = BinaryPrimitives.ReadUInt32LittleEndian(block[(i * 4)..]);
        uint a = a0, b = b0, c = c0, d = d0;
        for (var i = 0; i < 64; i++)
        {
            uint f;
            int g;
            switch (i >> 4)
            {
                case 0: f = (b & c) | (~b & d); g = i; break;
                case 1: f = (d & b) | (~d & c); g = (5 * i + 1) & 15; break;
                case 2: f = b ^ c ^ d; g = (3 * i + 5) & 15; break;
                default: f = c ^ (b | ~d); g = (7 * i) & 15; break;
            }

            f += a + K[i] + m[g];
            a = d;
            d = c;
            c = b;
            b += BitOperations.RotateLeft(f, S[(i >> 4) * 4 + (i & 3)]);
        }

        a0 += a; b0 += b; c0 += c; d0 += d;
    }
}
