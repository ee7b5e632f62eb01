using System.Net;
using System.Net.Sockets;

namespace Hub.Core.Webhooks;

/// <summary>
/// Where Hub may send webhooks: absolute http(s) URLs, and outside Development never loopback,
/// link-local or private ranges, so a tenant cannot aim Hub at the inside of its own network.
/// </summary>
public static class WebhookTargetRules
{
    public static string? Check(string url, bool allowPrivateTargets)
    {
        // Line breaks and other control characters have no place in a URL Hub calls.
        if (url.Any(char.IsControl))
        {
            return "Must not contain control characters.";
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            return "Must be an absolute http or https URL.";
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            return "Must not carry credentials in the URL.";
        }

        if (allowPrivateTargets)
        {
            return null;
        }

        if (uri.IsLoopback || uri.Host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
        {
            return "Must not point at loopback.";
        }

        return IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IsPrivate(address)
            ? "Must not point at a private, loopback or link-local address."
            : null;
    }

    /// <summary>True for addresses a public webhook must never resolve to.</summary>
    public static bool IsPrivate(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return true;
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal || address.IsIPv6Multicast;
        }

        var b = address.GetAddressBytes();
        return b[0] == 10
            || (b[0] == 172 && b[1] is >= 16 and <= 31)
            || (b[0] == 192 && b[1] == 168)
            || (b[0] == 169 && b[1] == 254)
            || (b[0] == 100 && b[1] is >= 64 and <= 127)
            || b[0] == 0
            || b[0] >= 224;
    }
}
