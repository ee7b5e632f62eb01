using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Hub.Core.Security;

namespace Hub.Core.Webhooks;

/// <summary>
/// The <c>Hub-Signature</c> header: <c>t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256 of "t.body"&gt;</c>,
/// keyed with the tenant's webhook signing secret (its UTF-8 bytes, <c>whsec_</c> prefix included).
/// </summary>
public static class WebhookSignature
{
    public const string HeaderName = "Hub-Signature";

    public static string Create(Secret signingSecret, long unixSeconds, string body) =>
        $"t={unixSeconds.ToString(CultureInfo.InvariantCulture)},v1={Compute(signingSecret, unixSeconds, body)}";

    /// <summary>Checks a header as a receiver would: the signature matches and the timestamp is within <paramref name="tolerance"/>.</summary>
    public static bool Verify(Secret signingSecret, string header, string body, DateTimeOffset now, TimeSpan tolerance)
    {
        long? timestamp = null;
        string? signature = null;
        foreach (var part in header.Split(',', StringSplitOptions.TrimEntries))
        {
            if (part.StartsWith("t=", StringComparison.Ordinal) && long.TryParse(part[2..], NumberStyles.None, CultureInfo.InvariantCulture, out var t))
            {
                timestamp = t;
            }
            else if (part.StartsWith("v1=", StringComparison.Ordinal))
            {
                signature = part[3..];
            }
        }

        if (timestamp is not { } ts || signature is null || Math.Abs(now.ToUnixTimeSeconds() - ts) > tolerance.TotalSeconds)
        {
            return false;
        }

        var expected = Encoding.ASCII.GetBytes(Compute(signingSecret, ts, body));
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(signature));
    }

    private static string Compute(Secret signingSecret, long unixSeconds, string body)
    {
        var key = Encoding.UTF8.GetBytes(signingSecret.Reveal());
        var message = Encoding.UTF8.GetBytes($"{unixSeconds.ToString(CultureInfo.InvariantCulture)}.{body}");
        var mac = HMACSHA256.HashData(key, message);
        CryptographicOperations.ZeroMemory(key);
        return Convert.ToHexStringLower(mac);
    }
}
