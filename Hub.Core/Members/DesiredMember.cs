using System.Net.Mail;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Hub.Core.Lists;
using Hub.Core.Storage;
using StackExchange.Redis;

namespace Hub.Core.Members;

/// <summary>
/// One member of a desired set, normalized: merge field names upper-cased and sorted, tags trimmed,
/// de-duplicated and sorted. Its JSON is what is staged in Redis; its <see cref="Fingerprint()"/> is a
/// short stable hash of everything Hub sends for it, so an unchanged member is not sent again.
/// </summary>
public sealed partial record DesiredMember
{
    public static readonly IReadOnlySet<string> Statuses = new HashSet<string>(StringComparer.Ordinal) { "subscribed", "pending", "unsubscribed", "transactional" };

    public required string Email
    {
        get;
        init
        {
            // A copy made with `with` keeps the hash when only the case changes (the fingerprint's lower-cased copy).
            if (field is null || !string.Equals(field.ToLowerInvariant(), value.ToLowerInvariant(), StringComparison.Ordinal))
            {
                SubscriberHash = SubscriberHashOf(value);
            }

            field = value;
        }
    }

    public MergeFieldValues? MergeFields { get; init; }
    public IReadOnlyList<string>? Tags { get; init; }
    public string? Language { get; init; }
    public bool? Vip { get; init; }

    /// <summary>The status a new member gets (Mailchimp's <c>status_if_new</c>); null leaves it to the list's policy.</summary>
    public string? Status { get; init; }

    /// <summary>
    /// The host's own stable id of the person (at most <see cref="MaxExternalIdLength"/> characters): when it arrives with
    /// another address than Hub knows for it in the list, Hub changes the contact's address instead of adding a new one
    /// (<see cref="MemberRenamer"/>). Not part of the <see cref="Fingerprint()"/>: it is never sent to Mailchimp.
    /// </summary>
    public string? ExternalId { get; init; }

    public const int MaxExternalIdLength = 100;

    /// <summary>Mailchimp's member id: the MD5 of the lower-cased email, in hex (computed once, when the email is set: a sync asks for it several times a member).</summary>
    [JsonIgnore]
    public string SubscriberHash { get; private init; } = "";

    public static string SubscriberHashOf(string email) => Mailchimp.SubscriberHash.FromEmail(email).Value;

    /// <summary>16 hex digits of SHA-256 over the normalized member with the email lower-cased.</summary>
    public string Fingerprint() =>
        FingerprintOf(JsonSerializer.SerializeToUtf8Bytes(this with { Email = Email.ToLowerInvariant(), ExternalId = null }, HubJsonContext.Default.DesiredMember));

    /// <summary>
    /// The <see cref="Fingerprint()"/> of this member as read from <paramref name="stagedJson"/> (its <see cref="ToUtf8Json"/>):
    /// those bytes are hashed as they are when they already are what the fingerprint hashes (the email lower-case, no external
    /// id), instead of serializing the member again; a sync plans every member this way.
    /// </summary>
    public string Fingerprint(ReadOnlySpan<byte> stagedJson) =>
        ExternalId is null && string.Equals(Email, Email.ToLowerInvariant(), StringComparison.Ordinal) ? FingerprintOf(stagedJson) : Fingerprint();

    private static string FingerprintOf(ReadOnlySpan<byte> json)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(json, hash);
        return Convert.ToHexStringLower(hash[..8]);
    }

    public string ToJson() => JsonSerializer.Serialize(this, HubJsonContext.Default.DesiredMember);

    /// <summary>The member's JSON as UTF-8, as staged in Redis (no string to transcode on the way).</summary>
    public byte[] ToUtf8Json() => JsonSerializer.SerializeToUtf8Bytes(this, HubJsonContext.Default.DesiredMember);

    public static DesiredMember FromJson(string json) =>
        JsonSerializer.Deserialize(json, HubJsonContext.Default.DesiredMember) ?? throw new JsonException("Empty staged member.");

    /// <summary>A staged member from the UTF-8 JSON Redis answered (read in place, without a string in between).</summary>
    public static DesiredMember FromJson(RedisValue utf8) => FromJson(((ReadOnlyMemory<byte>)utf8).Span);

    /// <summary>
    /// A staged member from its UTF-8 JSON (<see cref="ToUtf8Json"/>). The shape Hub stages is read by <see cref="TryReadStaged"/>;
    /// anything else (another casing, a property Hub does not write, a duplicate) goes to the serializer, which reads both the same.
    /// </summary>
    public static DesiredMember FromJson(ReadOnlySpan<byte> utf8) =>
        TryReadStaged(utf8, out var member) ? member
            : JsonSerializer.Deserialize(utf8, HubJsonContext.Default.DesiredMember) ?? throw new JsonException("Empty staged member.");

    /// <summary>
    /// Reads exactly the JSON <see cref="ToUtf8Json"/> writes, in one pass with no argument array: the serializer's path for a
    /// record with init-only properties collects every value in a boxed argument array first, and was 7 % of Hub's CPU in a
    /// first sync, which reads every member back once. Returns false, having built nothing, at anything else.
    /// </summary>
    internal static bool TryReadStaged(ReadOnlySpan<byte> utf8, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out DesiredMember? member)
    {
        member = null;
        string? email = null, language = null, status = null, externalId = null;
        bool? vip = null;
        MergeFieldValues? mergeFields = null;
        List<string>? tags = null;
        var seen = StagedProperty.None;
        var reader = new Utf8JsonReader(utf8);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var property = reader.ValueTextEquals("email"u8) ? StagedProperty.Email
                    : reader.ValueTextEquals("mergeFields"u8) ? StagedProperty.MergeFields
                    : reader.ValueTextEquals("tags"u8) ? StagedProperty.Tags
                    : reader.ValueTextEquals("language"u8) ? StagedProperty.Language
                    : reader.ValueTextEquals("vip"u8) ? StagedProperty.Vip
                    : reader.ValueTextEquals("status"u8) ? StagedProperty.Status
                    : reader.ValueTextEquals("externalId"u8) ? StagedProperty.ExternalId
                    : StagedProperty.None;
                if (property == StagedProperty.None || (seen & property) != 0 || !reader.Read()) return false;
                seen |= property;
                var isNull = reader.TokenType == JsonTokenType.Null;
                switch (property)
                {
                    case StagedProperty.Email when reader.TokenType == JsonTokenType.String:
                        email = reader.GetString();
                        break;
                    case StagedProperty.MergeFields when reader.TokenType == JsonTokenType.StartObject:
                        mergeFields = MergeFieldsConverter.ReadSorted(ref reader);
                        break;
                    case StagedProperty.Tags when reader.TokenType == JsonTokenType.StartArray:
                        tags = [];
                        while (reader.Read() && reader.TokenType == JsonTokenType.String) tags.Add(reader.GetString()!);
                        if (reader.TokenType != JsonTokenType.EndArray) return false;
                        break;
                    case StagedProperty.Language when reader.TokenType == JsonTokenType.String:
                        language = reader.GetString();
                        break;
                    case StagedProperty.Vip when reader.TokenType is JsonTokenType.True or JsonTokenType.False:
                        vip = reader.GetBoolean();
                        break;
                    case StagedProperty.Status when reader.TokenType == JsonTokenType.String:
                        status = reader.GetString();
                        break;
                    case StagedProperty.ExternalId when reader.TokenType == JsonTokenType.String:
                        externalId = reader.GetString();
                        break;
                    case not StagedProperty.Email when isNull:
                        break;
                    default:
                        return false;
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read() || email is null) return false;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return false; // not JSON, or a string that is not readable text: the serializer says why
        }

        member = new DesiredMember
        {
            Email = email, MergeFields = mergeFields, Tags = tags, Language = language, Vip = vip, Status = status, ExternalId = externalId,
        };
        return true;
    }

    /// <summary>The properties <see cref="TryReadStaged"/> knows, as flags, so a second one of a name is noticed.</summary>
    [Flags]
    private enum StagedProperty
    {
        None = 0,
        Email = 1,
        MergeFields = 2,
        Tags = 4,
        Language = 8,
        Vip = 16,
        Status = 32,
        ExternalId = 64,
    }

    /// <summary>
    /// Validates one element of a desired set: <c>{ "email", "mergeFields": {NAME: string|number|object},
    /// "tags": [string], "language", "vip": bool, "status", "externalId" }</c>, nothing else. On failure <paramref name="error"/>
    /// says why and <paramref name="email"/> holds whatever email could be read.
    /// </summary>
    public static bool TryCreate(JsonElement element, out DesiredMember? member, out string email, out string? error)
    {
        member = null;
        email = "";
        if (!IsReadableText(element))
        {
            // The parser checks structure, not text: invalid UTF-8 or half a surrogate pair only fails when read.
            error = "Not readable as text: a row must be valid UTF-8, and a \\u escape may not name half a surrogate pair.";
            return false;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            error = "A member must be a JSON object.";
            return false;
        }

        if (element.TryGetProperty("email", out var emailElement) && emailElement.ValueKind == JsonValueKind.String)
        {
            email = emailElement.GetString()!.Trim();
        }

        if (!IsValidEmail(email))
        {
            error = email.Length == 0 ? "The email is missing." : "The email is not a valid address.";
            return false;
        }

        MergeFieldValues.Builder? mergeFields = null;
        List<string>? tags = null;
        string? language = null;
        bool? vip = null;
        string? status = null;
        string? externalId = null;
        foreach (var property in element.EnumerateObject())
        {
            switch (property.Name)
            {
                case "email":
                    break;
                case "mergeFields" when property.Value.ValueKind == JsonValueKind.Object:
                    var fields = new MergeFieldValues.Builder(property.Value.GetPropertyCount());
                    foreach (var field in property.Value.Clone().EnumerateObject()) // one copy for all the values, not one each
                    {
                        if (!MergeTag().IsMatch(field.Name))
                        {
                            error = $"Merge field '{field.Name}' is not a merge tag (1 to 10 letters, digits or _).";
                            return false;
                        }

                        if (field.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Number or JsonValueKind.Object))
                        {
                            error = $"Merge field '{field.Name}' must be a string, a number or an address object.";
                            return false;
                        }

                        fields.Add(field.Name.ToUpperInvariant(), field.Value);
                    }

                    mergeFields = fields;

                    break;
                case "tags" when property.Value.ValueKind == JsonValueKind.Array:
                    tags = [];
                    foreach (var tag in property.Value.EnumerateArray())
                    {
                        if (tag.ValueKind != JsonValueKind.String || tag.GetString()!.Trim() is not { Length: > 0 and <= 100 } name)
                        {
                            error = "Tags must be non-empty strings of at most 100 characters.";
                            return false;
                        }

                        tags.Add(name);
                    }

                    break;
                case "language" when property.Value.ValueKind == JsonValueKind.String && LanguageCode().IsMatch(property.Value.GetString()!):
                    language = property.Value.GetString();
                    break;
                case "vip" when property.Value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                    vip = property.Value.GetBoolean();
                    break;
                case "status" when property.Value.ValueKind == JsonValueKind.String && Statuses.Contains(property.Value.GetString()!):
                    status = property.Value.GetString();
                    break;
                case "externalId" when property.Value.ValueKind == JsonValueKind.String && IsExternalId(property.Value.GetString()!):
                    externalId = property.Value.GetString();
                    break;
                case "mergeFields" or "tags" or "language" or "vip" or "status" or "externalId" when property.Value.ValueKind == JsonValueKind.Null:
                    break;
                case "mergeFields" or "tags" or "language" or "vip" or "status" or "externalId":
                    error = property.Name switch
                    {
                        "mergeFields" => "mergeFields must be an object.",
                        "tags" => "tags must be an array of strings.",
                        "language" => "language must be a language code such as 'en' or 'pt_BR'.",
                        "vip" => "vip must be true or false.",
                        "externalId" => $"externalId must be a string of 1 to {MaxExternalIdLength} characters without control characters.",
                        _ => "status must be one of subscribed, pending, unsubscribed, transactional.",
                    };
                    return false;
                default:
                    error = $"Unknown property '{property.Name}'.";
                    return false;
            }
        }

        member = new DesiredMember
        {
            Email = email,
            MergeFields = mergeFields is { Count: > 0 } fieldsRead ? fieldsRead.Build() : null,
            Tags = tags is { Count: > 0 } ? tags.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList() : null,
            Language = language,
            Vip = vip,
            Status = status,
            ExternalId = externalId,
        };
        error = null;
        return true;
    }

    private static bool IsExternalId(string value) =>
        value.Length is > 0 and <= MaxExternalIdLength && !value.Any(char.IsControl) && value.Trim().Length == value.Length;

    /// <summary>The same syntax check the facade uses before anything reaches Mailchimp.</summary>
    public static bool IsValidEmail(string email) => Mailchimp.MailchimpEmail.IsValid(email);

    [GeneratedRegex("^[A-Za-z0-9_]{1,10}$")]
    private static partial Regex MergeTag();

    [GeneratedRegex("^[A-Za-z]{2}([_-][A-Za-z]{2,4})?$")]
    private static partial Regex LanguageCode();

    private static bool IsPlainAscii(ReadOnlySpan<byte> raw) => !raw.ContainsAnyExceptInRange((byte)0x20, (byte)0x7E) && !raw.Contains((byte)'\\');

    /// <summary>
    /// Whether every string and property name in <paramref name="element"/> can be read as text. JSON that is not valid
    /// UTF-8, or escapes half a surrogate pair, parses; only reading such a string fails.
    /// </summary>
    public static bool IsReadableText(JsonElement element)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    // Plain ASCII without escapes (nearly every value) is readable as it is; anything else is decoded to find out.
                    if (!IsPlainAscii(JsonMarshal.GetRawUtf8Value(element)))
                    {
                        _ = element.GetString();
                    }

                    return true;
                case JsonValueKind.Object:
                    // Loops, not LINQ: this runs for every member of a sync, and All() would box the enumerator each time.
                    foreach (var property in element.EnumerateObject())
                    {
                        if (!(IsPlainAscii(JsonMarshal.GetRawUtf8PropertyName(property)) || property.Name is not null) || !IsReadableText(property.Value))
                        {
                            return false;
                        }
                    }

                    return true;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                    {
                        if (!IsReadableText(item))
                        {
                            return false;
                        }
                    }

                    return true;
                default:
                    return true;
            }
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
