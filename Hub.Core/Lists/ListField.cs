using Hub.Core.Storage;

namespace Hub.Core.Lists;

/// <summary>
/// A contact field a host list declares, as provisioned on its audience: the Mailchimp merge field with
/// <see cref="Tag"/>, its merge id, and the options Mailchimp holds for it (which member values are checked against).
/// </summary>
public sealed record ListField
{
    /// <summary>The merge tag, upper-case: the key of the value in a member's <c>mergeFields</c>.</summary>
    public required string Tag { get; init; }

    /// <summary>The field's name in Mailchimp.</summary>
    public required string Name { get; init; }

    /// <summary>One of <see cref="ListFieldTypes.All"/>.</summary>
    [OneOfFieldTypes]
    public required string Type { get; init; }

    /// <summary>Whether Mailchimp requires a value for every contact.</summary>
    public bool Required { get; init; }

    /// <summary>Radio and dropdown: the choices the audience's field offers (a value must be one of them).</summary>
    public IReadOnlyList<string>? Choices { get; init; }

    /// <summary>Date (<c>MM/DD/YYYY</c>, <c>DD/MM/YYYY</c>) and birthday (<c>MM/DD</c>, <c>DD/MM</c>): the audience field's format.</summary>
    public string? DateFormat { get; init; }

    /// <summary>Phone: <c>US</c> (values must be US numbers) or none (any text).</summary>
    public string? PhoneFormat { get; init; }

    /// <summary>The field's id in the audience (Mailchimp's <c>merge_id</c>).</summary>
    public long MergeId { get; init; }

    /// <summary>Whether Hub created the field in the audience (then it keeps the name, required and choices in line with the declaration).</summary>
    public bool CreatedByHub { get; init; }
}

/// <summary>A list's field as the host declares it (POST/PATCH /api/v1/lists, <c>fields</c>), before it is checked.</summary>
/// <param name="Tag">The merge tag: 1 to 10 letters, digits or <c>_</c>, upper-cased; not <c>EMAIL</c>.</param>
/// <param name="Name">The field's name in Mailchimp, 1 to 100 characters.</param>
/// <param name="Type">The field's type.</param>
/// <param name="Required">Whether every contact must have a value; default false.</param>
/// <param name="Choices">Dropdown and radio: the choices (1 to 100, each once).</param>
/// <param name="DateFormat">Date (<c>MM/DD/YYYY</c>, <c>DD/MM/YYYY</c>) and birthday (<c>MM/DD</c>, <c>DD/MM</c>): the format.</param>
public sealed record ListFieldDeclaration(
    string? Tag, string? Name,
    [OneOfFieldTypes] string? Type, bool? Required, IReadOnlyList<string>? Choices, string? DateFormat);

/// <summary>Documents a property as one of <see cref="ListFieldTypes.All"/>.</summary>
public sealed class OneOfFieldTypesAttribute() : OneOfAttribute
{
    public override IReadOnlyList<string> Values => ListFieldTypes.All;
}

/// <summary>The merge field types a list may declare (Mailchimp's, without imageurl and zip).</summary>
public static class ListFieldTypes
{
    public const string Text = "text", Number = "number", Date = "date", Birthday = "birthday", Address = "address",
        Phone = "phone", Url = "url", Dropdown = "dropdown", Radio = "radio";

    public static readonly IReadOnlyList<string> All = [Text, Number, Date, Birthday, Address, Phone, Url, Dropdown, Radio];

    public static bool HasChoices(string type) => type is Dropdown or Radio;

    /// <summary>The formats Mailchimp offers for a date or birthday field (spec <c>options.date_format</c>; merge-field guide), the default first.</summary>
    public static IReadOnlyList<string> DateFormats(string type) => type switch
    {
        Date => ["MM/DD/YYYY", "DD/MM/YYYY"],
        Birthday => ["MM/DD", "DD/MM"],
        _ => [],
    };
}
