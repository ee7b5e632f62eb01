using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Hub.Sandbox;

/// <summary>
/// Mailchimp's rules for merge fields and their values on a contact. Sources (see README "Merge fields"):
/// <list type="bullet">
/// <item>[MF] Mailchimp's merge-field guide (mailchimp.com/developer/marketing/docs/merge-fields, source
/// mailchimp/fern-marketing-api-docs <c>fern/docs/pages/concepts/audiences/merge-fields.mdx</c>): the value table per type,
/// "you can't set a value on a contact for a field the audience doesn't define", and the required-field error.</item>
/// <item>[SPEC] spec 3.0.55: types, <c>options</c>, <c>skip_merge_validation</c>.</item>
/// <item>Mailchimp answers quoted in public trackers: "Please enter a number" (grouparoo fixture), "Please enter the date"
/// (ibericode/mailchimp-for-wordpress#662), "Please enter a month (01-12) and a day (01-31)" (mailchimp/mc-magento2#987),
/// "Please enter a complete address" (verbb/formie#2387), "Data did not match any of the schemas described in anyOf."
/// (VingtCinq/python-mailchimp#146, OperationCode/operationcode_old_site#692), and the duplicate-tag detail
/// 'A Merge Field with the tag "X" already exists for this list.' (API v2 error 254, kept in v3 stubs).</item>
/// </list>
/// Every other message is the sandbox's own wording for a rule the docs state without quoting Mailchimp's text.
/// </summary>
internal static partial class MergeFieldRules
{
    public static readonly string[] Types = ["text", "number", "address", "phone", "date", "url", "imageurl", "radio", "dropdown", "birthday", "zip"];
    public static readonly string[] DateFormats = ["MM/DD/YYYY", "DD/MM/YYYY"];
    public static readonly string[] BirthdayFormats = ["MM/DD", "DD/MM"];
    public const string Invalid = "Your merge fields were invalid.";
    public const string SchemaMismatch = "Data did not match any of the schemas described in anyOf.";
    public const int TextBytes = 255;

    private static readonly string[] AddressRequired = ["addr1", "city", "state", "zip"];
    private static readonly string[] AddressOptional = ["addr2", "country"];

    /// <summary>Letters, digits and underscores, at most 10 (sandbox rule from the issue; Mailchimp documents no limit).</summary>
    [GeneratedRegex("^[A-Z0-9_]{1,10}$")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^(\d{4})([-/])(\d{2})\2(\d{2})$")]
    private static partial Regex YearFirst();

    [GeneratedRegex(@"^(\d{2})-(\d{2})-(\d{4})$")]
    private static partial Regex DayMonthYearDashed();

    [GeneratedRegex(@"^(\d{2})/(\d{2})/(\d{4})$")]
    private static partial Regex SlashedWithYear();

    [GeneratedRegex(@"^(\d{2})/(\d{2})$")]
    private static partial Regex SlashedDayMonth();

    [GeneratedRegex(@"^\d{5}$")]
    private static partial Regex Zip();

    [GeneratedRegex(@"^(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}$")]
    private static partial Regex UsPhone();

    public static string? TagProblem(string tag) =>
        TagPattern().IsMatch(tag) ? null : "A merge tag has 1 to 10 characters: letters, digits or underscores.";

    public static string DuplicateTag(string tag) => $"A Merge Field with the tag \"{tag}\" already exists for this list.";

    /// <summary>The options Mailchimp shows for a field of each type when none are sent.</summary>
    public static MergeFieldOptions DefaultOptions(string type) => type switch
    {
        "text" => new MergeFieldOptions(Size: 255),
        "address" => new MergeFieldOptions(DefaultCountry: 164),
        "phone" => new MergeFieldOptions(PhoneFormat: "none"),
        "date" => new MergeFieldOptions(DateFormat: "MM/DD/YYYY"),
        "birthday" => new MergeFieldOptions(DateFormat: "MM/DD"),
        "radio" or "dropdown" => new MergeFieldOptions(Choices: []),
        _ => new MergeFieldOptions(),
    };

    /// <summary>
    /// The JSON schema of <c>merge_fields</c> values ([MF]: "a string, number, or object"); anything else (null, true,
    /// an array) is a schema error Mailchimp reports as <c>merge_fields.TAG</c>, whether or not merge validation is skipped.
    /// </summary>
    public static bool SchemaAllows(JsonNode? value) =>
        value is JsonObject || value?.GetValueKind() is JsonValueKind.String or JsonValueKind.Number;

    /// <summary>
    /// Checks one value against its field's type and returns what is stored, or the error message. "" clears any field
    /// (sandbox choice: the API shows unset fields as "").
    /// </summary>
    public static (JsonNode? Value, string? Problem) Check(MergeField field, JsonNode value)
    {
        var text = value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
        if (text == "") return (value, null);
        var isNumber = value.GetValueKind() == JsonValueKind.Number;
        return field.Type switch
        {
            // [MF] "a string, truncated to 255 bytes"; a number is taken as its text.
            "text" => text is not null ? (JsonValue.Create(Truncate(text, TextBytes)), null)
                : isNumber ? (JsonValue.Create(value.ToJsonString()), null)
                : (null, "Please enter text"),
            // [MF] "any number"; a numeric string is read as one (grouparoo's "AAAAA" got "Please enter a number").
            "number" => isNumber || (text is not null && double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                ? (value, null) : (null, "Please enter a number"),
            "date" => text is not null && IsDate(text, field.Options.DateFormat) ? (value, null) : (null, "Please enter the date"),
            "birthday" => text is not null && IsBirthday(text, field.Options.DateFormat) ? (value, null) : (null, "Please enter a month (01-12) and a day (01-31)"),
            "address" => value is JsonObject address && IsAddress(address) ? (value, null) : (null, "Please enter a complete address"),
            "zip" => text is not null && Zip().IsMatch(text) ? (value, null) : (null, "Please enter a five digit US zip code"),
            "phone" => text is not null && (!string.Equals(field.Options.PhoneFormat, "US", StringComparison.OrdinalIgnoreCase) || UsPhone().IsMatch(text.Trim()))
                ? (value, null) : (null, "Please enter a valid phone number"),
            "url" or "imageurl" => text is not null && IsAbsoluteUrl(text) ? (value, null) : (null, "Please enter a valid URL"),
            "radio" or "dropdown" => text is not null && (field.Options.Choices ?? []).Contains(text, StringComparer.Ordinal)
                ? (value, null) : (null, "Please choose one of: " + string.Join(", ", field.Options.Choices ?? [])),
            _ => (value, null),
        };
    }

    private static string Truncate(string text, int maxBytes)
    {
        if (Encoding.UTF8.GetByteCount(text) <= maxBytes) return text;
        var bytes = 0;
        var end = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (bytes + rune.Utf8SequenceLength > maxBytes) break;
            bytes += rune.Utf8SequenceLength;
            end += rune.Utf16SequenceLength;
        }
        return text[..end];
    }

    /// <summary>
    /// [MF]: YYYY-MM-DD, YYYY/MM/DD, DD-MM-YYYY or MM/DD/YYYY; the slashed form with the year last is read in the
    /// field's <c>date_format</c> (DD/MM/YYYY when the field says so). The date must exist.
    /// </summary>
    private static bool IsDate(string text, string? format)
    {
        if (YearFirst().Match(text) is { Success: true } a) return Exists(a.Groups[1].Value, a.Groups[3].Value, a.Groups[4].Value);
        if (DayMonthYearDashed().Match(text) is { Success: true } b) return Exists(b.Groups[3].Value, b.Groups[2].Value, b.Groups[1].Value);
        if (SlashedWithYear().Match(text) is not { Success: true } c) return false;
        var dayFirst = string.Equals(format, "DD/MM/YYYY", StringComparison.OrdinalIgnoreCase);
        return Exists(c.Groups[3].Value, dayFirst ? c.Groups[2].Value : c.Groups[1].Value, dayFirst ? c.Groups[1].Value : c.Groups[2].Value);
    }

    /// <summary>[MF] "MM/DD"; DD/MM when the field's <c>date_format</c> says so. 02/29 is a birthday.</summary>
    private static bool IsBirthday(string text, string? format)
    {
        if (SlashedDayMonth().Match(text) is not { Success: true } m) return false;
        var dayFirst = string.Equals(format, "DD/MM", StringComparison.OrdinalIgnoreCase);
        return Exists("2000", dayFirst ? m.Groups[2].Value : m.Groups[1].Value, dayFirst ? m.Groups[1].Value : m.Groups[2].Value);
    }

    private static bool Exists(string year, string month, string day) =>
        int.TryParse(month, CultureInfo.InvariantCulture, out var mm) && mm is >= 1 and <= 12
        && int.TryParse(day, CultureInfo.InvariantCulture, out var dd) && int.TryParse(year, CultureInfo.InvariantCulture, out var yyyy)
        && yyyy >= 1 && dd >= 1 && dd <= DateTime.DaysInMonth(yyyy, mm);

    /// <summary>[MF]: required addr1, city, state, zip and optional addr2, country, all strings; no other keys (sandbox choice).</summary>
    private static bool IsAddress(JsonObject address)
    {
        foreach (var (key, part) in address)
            if (!AddressRequired.Contains(key) && !AddressOptional.Contains(key) || part?.GetValueKind() != JsonValueKind.String) return false;
        return AddressRequired.All(key => address[key] is JsonValue part && !string.IsNullOrWhiteSpace(part.GetValue<string>()));
    }

    /// <summary>[MF] "subject to URL validation": an absolute http or https URL. imageurl's "reachable" is not checked.</summary>
    private static bool IsAbsoluteUrl(string text) =>
        Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0;
}
