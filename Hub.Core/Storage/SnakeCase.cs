using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Text.Json;

namespace Hub.Core.Storage;

/// <summary>
/// The text an enum member is stored and shown as when it is not the member's plain snake_case
/// (<see cref="SnakeCase{TEnum}"/>), e.g. <c>[SnakeCaseName("oauth")] OAuth</c> rather than <c>o_auth</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Field)]
public sealed class SnakeCaseNameAttribute(string text) : Attribute
{
    public string Text { get; } = text;
}

/// <summary>
/// The stored and wire text of an enum's members: each member's name in snake_case (<c>PartiallySucceeded</c> →
/// <c>partially_succeeded</c>), or the text its <see cref="SnakeCaseNameAttribute"/> gives. Both directions are built
/// once per enum type. Parsing is exact: ordinal, no numbers, no other casing.
/// </summary>
public static class SnakeCase<TEnum> where TEnum : struct, Enum
{
    private static readonly FrozenDictionary<TEnum, string> Texts = typeof(TEnum)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .ToFrozenDictionary(
            field => (TEnum)field.GetValue(null)!,
            field => field.GetCustomAttribute<SnakeCaseNameAttribute>()?.Text ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(field.Name));

    private static readonly FrozenDictionary<string, TEnum> Values = Texts.ToFrozenDictionary(pair => pair.Value, pair => pair.Key, StringComparer.Ordinal);

    /// <summary>Every member's text, in declaration order (what an API document lists as the allowed values).</summary>
    public static IReadOnlyList<string> All { get; } = [.. Enum.GetValues<TEnum>().Distinct().Select(value => Texts[value])];

    /// <summary>The text of a member; throws for a value that names no member.</summary>
    public static string ToText(TEnum value) =>
        Texts.TryGetValue(value, out var text) ? text : throw new ArgumentOutOfRangeException(nameof(value), value, $"Not a {typeof(TEnum).Name}.");

    /// <summary>The member whose text <paramref name="text"/> is exactly; false for null or any other text.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out TEnum value)
    {
        if (text is not null && Values.TryGetValue(text, out value))
        {
            return true;
        }

        value = default;
        return false;
    }
}
