using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hub.Sandbox;

/// <summary>
/// What a list-webhook delivery looks like (FACTS.md §9): a form-encoded POST with <c>type</c>, <c>fired_at</c>
/// (<c>YYYY-MM-DD HH:MM:SS</c>, UTC) and <c>data[...]</c> keys in the order of Mailchimp's examples, signed with
/// <c>X-Mailchimp-Signature: t=&lt;unix&gt;,v1=&lt;hex HMAC-SHA256 of "&lt;t&gt;.&lt;body&gt;"&gt;</c>.
/// </summary>
internal static class WebhookPayload
{
    public const string SignatureHeader = "X-Mailchimp-Signature";
    public const string ValidatorUserAgent = "MailChimp.com WebHook Validator";
    public const string ContentType = "application/x-www-form-urlencoded";

    /// <summary>subscribe and profile: the member's id, list, address, format, merge fields and opt-in addresses.</summary>
    public static string Member(string type, DateTimeOffset firedAt, string listId, Member member, IReadOnlyDictionary<string, JsonNode?> merges) =>
        Encode(Head(type, firedAt).Concat(MemberData(listId, member, merges)));

    /// <summary>unsubscribe: <c>action</c> (unsub, or delete when the contact was deleted), <c>reason</c>, the member, <c>campaign_id</c>.</summary>
    public static string Unsubscribe(DateTimeOffset firedAt, string listId, Member member, IReadOnlyDictionary<string, JsonNode?> merges, string action, string reason, string campaignId) =>
        Encode(Head(WebhookEventTypes.Unsubscribe, firedAt)
            .Append(Pair("data[action]", action))
            .Append(Pair("data[reason]", reason))
            .Concat(MemberData(listId, member, merges))
            .Append(Pair("data[campaign_id]", campaignId)));

    public static string Cleaned(DateTimeOffset firedAt, string listId, string campaignId, string reason, string email) =>
        Flat(WebhookEventTypes.Cleaned, firedAt, ("list_id", listId), ("campaign_id", campaignId), ("reason", reason), ("email", email));

    public static string Upemail(DateTimeOffset firedAt, string listId, string newId, string newEmail, string oldEmail) =>
        Flat(WebhookEventTypes.Upemail, firedAt, ("list_id", listId), ("new_id", newId), ("new_email", newEmail), ("old_email", oldEmail));

    /// <summary>The header value for <paramref name="body"/> sent at <paramref name="unixSeconds"/>.</summary>
    public static string Sign(string secret, long unixSeconds, string body)
    {
        var prefix = unixSeconds.ToString(CultureInfo.InvariantCulture);
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(prefix + "." + body));
        return $"t={prefix},v1={Convert.ToHexStringLower(mac)}";
    }

    public static ByteArrayContent Content(string body)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = new MediaTypeHeaderValue(ContentType);
        return content;
    }

    private static IEnumerable<KeyValuePair<string, string>> Head(string type, DateTimeOffset firedAt) =>
        [Pair("type", type), Pair("fired_at", firedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture))];

    /// <summary>An event whose data is flat: <c>data[name]=value</c> for each pair, in order.</summary>
    private static string Flat(string type, DateTimeOffset firedAt, params (string Name, string Value)[] data) =>
        Encode(Head(type, firedAt).Concat(data.Select(d => Pair($"data[{d.Name}]", d.Value))));

    private static IEnumerable<KeyValuePair<string, string>> MemberData(string listId, Member member, IReadOnlyDictionary<string, JsonNode?> merges)
    {
        yield return Pair("data[id]", member.Hash);
        yield return Pair("data[list_id]", listId);
        yield return Pair("data[email]", member.Email);
        yield return Pair("data[email_type]", member.EmailType);
        yield return Pair("data[merges][EMAIL]", member.Email);
        foreach (var (tag, value) in merges)
            foreach (var pair in Flatten($"data[merges][{tag}]", value))
                yield return pair;
        yield return Pair("data[ip_opt]", member.IpOpt);
        yield return Pair("data[ip_signup]", member.IpSignup);
    }

    /// <summary>A merge value as form keys: an object (an address) or array nests as <c>key[part]</c>, anything else is its text.</summary>
    private static IEnumerable<KeyValuePair<string, string>> Flatten(string key, JsonNode? value) => value switch
    {
        JsonObject obj => obj.SelectMany(p => Flatten($"{key}[{p.Key}]", p.Value)),
        JsonArray array => array.SelectMany((item, i) => Flatten($"{key}[{i}]", item)),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => [Pair(key, v.GetValue<string>())],
        null => [Pair(key, "")],
        _ => [Pair(key, value.ToJsonString())],
    };

    private static KeyValuePair<string, string> Pair(string key, string value) => KeyValuePair.Create(key, value);

    /// <summary>application/x-www-form-urlencoded: percent-encoding (brackets too) with '+' for spaces.</summary>
    private static string Encode(IEnumerable<KeyValuePair<string, string>> pairs) =>
        string.Join('&', pairs.Select(p => Escape(p.Key) + "=" + Escape(p.Value)));

    private static string Escape(string text) => Uri.EscapeDataString(text).Replace("%20", "+", StringComparison.Ordinal);
}
