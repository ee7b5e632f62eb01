using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Hub.Core.Mailchimp;

namespace Hub.Core.Lists;

/// <summary>
/// What a list may declare as its fields, and which member values suit them. The value rules are Mailchimp's, from its
/// merge-field guide (mailchimp.com/developer/marketing/docs/merge-fields; FACTS.md §3): text at most 255 bytes, a number,
/// a date in the field's format (or year first), a birthday as month and day in the field's format, an address object with
/// addr1, city, state and zip, a URL, and for radio and dropdown one of the field's choices. Hub checks them before it sends
/// anything, so a bad value is that member's error instead of a refusal of the member by Mailchimp.
/// </summary>
public static partial class ListFieldRules
{
    public const int MaxFields = 50;
    public const int MaxNameLength = 100;
    public const int MaxChoices = 100;
    public const int MaxChoiceLength = 100;
    public const int TextBytes = 255;

    private static readonly string[] AddressRequired = ["addr1", "city", "state", "zip"];
    private static readonly string[] AddressOptional = ["addr2", "country"];

    [GeneratedRegex("^[A-Za-z0-9_]{1,10}$")]
    private static partial Regex Tag();

    [GeneratedRegex(@"^(\d{4})([-/])(\d{2})\2(\d{2})$")]
    private static partial Regex YearFirst();

    [GeneratedRegex(@"^(\d{2})-(\d{2})-(\d{4})$")]
    private static partial Regex DayMonthYearDashed();

    [GeneratedRegex(@"^(\d{2})/(\d{2})/(\d{4})$")]
    private static partial Regex SlashedWithYear();

    [GeneratedRegex(@"^(\d{2})/(\d{2})$")]
    private static partial Regex MonthAndDay();

    [GeneratedRegex(@"^(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}$")]
    private static partial Regex UsPhone();

    /// <summary>
    /// Checks a list's declared fields; null when <paramref name="declared"/> is null (nothing declared). Tags are upper-cased;
    /// errors name the entry, e.g. <c>fields[2].type</c>.
    /// </summary>
    public static IReadOnlyList<ListFieldDeclaration>? Validate(IReadOnlyList<ListFieldDeclaration?>? declared, List<MailchimpFieldError> errors)
    {
        if (declared is null)
        {
            return null;
        }

        if (declared.Count > MaxFields)
        {
            errors.Add(new("fields", $"A list declares at most {MaxFields} fields."));
            return null;
        }

        var valid = new List<ListFieldDeclaration>();
        var tags = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < declared.Count; i++)
        {
            var at = $"fields[{i}]";
            if (declared[i] is not { } field)
            {
                errors.Add(new(at, "A field is an object: {\"tag\", \"name\", \"type\", \"required\", \"choices\", \"dateFormat\"}."));
                continue;
            }

            var before = errors.Count;
            var tag = field.Tag?.ToUpperInvariant();
            if (tag is null || !Tag().IsMatch(tag) || tag == "EMAIL")
            {
                errors.Add(new(at + ".tag", "A tag has 1 to 10 letters, digits or underscores (and is not EMAIL, which every audience has)."));
            }
            else if (!tags.Add(tag))
            {
                errors.Add(new(at + ".tag", $"Tag '{tag}' is declared twice."));
            }

            if (field.Name is null || string.IsNullOrWhiteSpace(field.Name) || field.Name.Length > MaxNameLength || field.Name.Any(char.IsControl))
            {
                errors.Add(new(at + ".name", $"A name has 1 to {MaxNameLength} characters."));
            }

            var type = field.Type;
            if (type is null || !ListFieldTypes.All.Contains(type))
            {
                errors.Add(new(at + ".type", $"The type is one of {string.Join(", ", ListFieldTypes.All)}."));
            }
            else
            {
                CheckOptions(field, type, at, errors);
            }

            if (errors.Count == before)
            {
                valid.Add(field with { Tag = tag, Name = field.Name!.Trim(), Choices = field.Choices?.Select(choice => choice.Trim()).ToList() });
            }
        }

        return valid;
    }

    private static void CheckOptions(ListFieldDeclaration field, string type, string at, List<MailchimpFieldError> errors)
    {
        if (ListFieldTypes.HasChoices(type))
        {
            var choices = field.Choices?.Select(choice => choice?.Trim()).ToList();
            if (choices is not { Count: > 0 and <= MaxChoices }
                || choices.Any(choice => choice is null || choice.Length is 0 or > MaxChoiceLength || choice.Any(char.IsControl)))
            {
                errors.Add(new(at + ".choices", $"A {type} field has 1 to {MaxChoices} choices, each 1 to {MaxChoiceLength} characters."));
            }
            else if (choices.Distinct(StringComparer.Ordinal).Count() != choices.Count)
            {
                errors.Add(new(at + ".choices", "Each choice appears once."));
            }
        }
        else if (field.Choices is not null)
        {
            errors.Add(new(at + ".choices", "Only dropdown and radio fields have choices."));
        }

        var formats = ListFieldTypes.DateFormats(type);
        if (field.DateFormat is { } format && !formats.Contains(format))
        {
            errors.Add(new(at + ".dateFormat", formats.Count == 0
                ? "Only date and birthday fields have a dateFormat."
                : $"A {type} field's dateFormat is {string.Join(" or ", formats)}."));
        }
    }

    /// <summary>
    /// The first of a member's merge <paramref name="values"/> that does not suit its declared field, as the error of
    /// <c>mergeFields.TAG</c>; null when all do. Tags the list does not declare are left to Mailchimp.
    /// </summary>
    public static MailchimpFieldError? Problem(IReadOnlyList<ListField>? fields, IReadOnlyDictionary<string, JsonElement>? values)
    {
        if (fields is not { Count: > 0 } || values is not { Count: > 0 })
        {
            return null;
        }

        foreach (var field in fields)
        {
            if (values.TryGetValue(field.Tag, out var value) && Check(field, value) is { } problem)
            {
                return new MailchimpFieldError("mergeFields." + field.Tag, problem);
            }
        }

        return null;
    }

    /// <summary>Why <paramref name="value"/> does not suit <paramref name="field"/>, or null. An empty string clears a field that is not required.</summary>
    public static string? Check(ListField field, JsonElement value)
    {
        var text = value.ValueKind == JsonValueKind.String ? value.GetString()! : null;
        if (text == "")
        {
            return field.Required ? $"{field.Tag} is required: it cannot be cleared." : null;
        }

        if (field.Type == ListFieldTypes.Address)
        {
            return value.ValueKind == JsonValueKind.Object && IsAddress(value)
                ? null
                : $"{field.Tag} is an address: an object with addr1, city, state and zip (addr2 and country optional), all strings.";
        }

        if (value.ValueKind == JsonValueKind.Number && field.Type is ListFieldTypes.Text or ListFieldTypes.Number)
        {
            return null;
        }

        if (text is null)
        {
            return $"{field.Tag} is a {field.Type} field: give a string.";
        }

        return field.Type switch
        {
            ListFieldTypes.Text => Encoding.UTF8.GetByteCount(text) <= TextBytes ? null : $"{field.Tag} holds at most {TextBytes} bytes of text.",
            ListFieldTypes.Number => double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? null : $"{field.Tag} is a number.",
            ListFieldTypes.Date => IsDate(text, field.DateFormat) ? null
                : $"{field.Tag} is a date: YYYY-MM-DD or {field.DateFormat ?? "MM/DD/YYYY"}, and the day must exist.",
            ListFieldTypes.Birthday => IsBirthday(text, field.DateFormat) ? null
                : $"{field.Tag} is a birthday: {field.DateFormat ?? "MM/DD"} (month and day), and the day must exist.",
            ListFieldTypes.Phone => Encoding.UTF8.GetByteCount(text) > TextBytes ? $"{field.Tag} holds at most {TextBytes} bytes."
                : string.Equals(field.PhoneFormat, "US", StringComparison.OrdinalIgnoreCase) && !UsPhone().IsMatch(text.Trim())
                    ? $"{field.Tag} is a US phone number such as (555) 555-1234." : null,
            ListFieldTypes.Url => Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0
                ? null : $"{field.Tag} is an absolute http or https URL.",
            ListFieldTypes.Dropdown or ListFieldTypes.Radio => (field.Choices ?? []).Contains(text, StringComparer.Ordinal)
                ? null : $"{field.Tag} is one of: {string.Join(", ", field.Choices ?? [])}.",
            _ => null,
        };
    }

    /// <summary>
    /// The merge-field guide's date forms: year first (<c>YYYY-MM-DD</c>, <c>YYYY/MM/DD</c>), <c>DD-MM-YYYY</c>, and slashed with
    /// the year last read in the field's format.
    /// </summary>
    private static bool IsDate(string text, string? format)
    {
        if (YearFirst().Match(text) is { Success: true } yearFirst)
        {
            return Exists(yearFirst.Groups[1].Value, yearFirst.Groups[3].Value, yearFirst.Groups[4].Value);
        }

        if (DayMonthYearDashed().Match(text) is { Success: true } dashed)
        {
            return Exists(dashed.Groups[3].Value, dashed.Groups[2].Value, dashed.Groups[1].Value);
        }

        if (SlashedWithYear().Match(text) is not { Success: true } slashed)
        {
            return false;
        }

        var dayFirst = format == "DD/MM/YYYY";
        return Exists(slashed.Groups[3].Value, slashed.Groups[dayFirst ? 2 : 1].Value, slashed.Groups[dayFirst ? 1 : 2].Value);
    }

    private static bool IsBirthday(string text, string? format)
    {
        if (MonthAndDay().Match(text) is not { Success: true } match)
        {
            return false;
        }

        var dayFirst = format == "DD/MM";
        return Exists("2000", match.Groups[dayFirst ? 2 : 1].Value, match.Groups[dayFirst ? 1 : 2].Value); // 2000: 02/29 is a birthday
    }

    private static bool Exists(string year, string month, string day) =>
        int.TryParse(year, CultureInfo.InvariantCulture, out var y) && y >= 1
        && int.TryParse(month, CultureInfo.InvariantCulture, out var m) && m is >= 1 and <= 12
        && int.TryParse(day, CultureInfo.InvariantCulture, out var d) && d >= 1 && d <= DateTime.DaysInMonth(y, m);

    private static bool IsAddress(JsonElement address)
    {
        foreach (var part in address.EnumerateObject())
        {
            if (!AddressRequired.Contains(part.Name) && !AddressOptional.Contains(part.Name) || part.Value.ValueKind != JsonValueKind.String)
            {
                return false;
            }
        }

        return AddressRequired.All(name => address.TryGetProperty(name, out var part) && !string.IsNullOrWhiteSpace(part.GetString()));
    }
}
