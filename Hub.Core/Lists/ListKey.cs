using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hub.Core.Lists;

/// <summary>
/// The host application's own key for one of its mailing lists: 1 to 100 characters of letters,
/// digits and <c>. _ - :</c>, so it is safe in URLs, Redis keys and Mailchimp tag names. <c>.</c> and
/// <c>..</c> are not keys: as a path segment they name no list.
/// </summary>
[JsonConverter(typeof(ListKeyJsonConverter))]
public readonly record struct ListKey : IParsable<ListKey>
{
    public const int MaxLength = 100;
    public const string Rule = "A list key has 1 to 100 characters: letters, digits, '.', '_', '-' or ':', and is not '.' or '..'.";

    private readonly string _value;

    private ListKey(string value) => _value = value;

    public static bool TryParse([NotNullWhen(true)] string? value, out ListKey key)
    {
        key = default;
        return value is not ("." or "..") && TryParseStored(value, out key);
    }

    public static ListKey Parse(string value) =>
        TryParse(value, out var key) ? key : throw new FormatException(Rule);

    /// <summary>The same rule as <see cref="TryParse(string?, out ListKey)"/>; no format provider plays a part. Lets a route value bind as a key.</summary>
    public static bool TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, out ListKey result) => TryParse(s, out result);

    /// <inheritdoc cref="Parse(string)"/>
    public static ListKey Parse(string s, IFormatProvider? provider) => Parse(s);

    /// <summary>
    /// A key as stored: the character rule only. Lists keyed <c>.</c> or <c>..</c> were accepted before that
    /// was refused, and must still read, so their tenant can see them and its other lists.
    /// </summary>
    internal static bool TryParseStored([NotNullWhen(true)] string? value, out ListKey key)
    {
        key = default;
        if (string.IsNullOrEmpty(value) || value.Length > MaxLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-' or ':'))
            {
                return false;
            }
        }

        key = new ListKey(value);
        return true;
    }

    public override string ToString() => _value ?? "";
}

internal sealed class ListKeyJsonConverter : JsonConverter<ListKey>
{
    public override ListKey Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        ListKey.TryParseStored(reader.GetString(), out var key) ? key : throw new JsonException(ListKey.Rule);

    public override void Write(Utf8JsonWriter writer, ListKey value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
