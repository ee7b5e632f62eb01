using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hub.Core.Storage;

/// <summary>
/// A strongly typed public id, as Duende's libraries write them: a readonly record struct around a string of a
/// <see cref="Prefix"/> and 20 random lowercase letters and digits (<see cref="RandomIds"/>). The id type names its
/// prefix and noun and wraps a value already checked; <see cref="StrongId{TId}"/> does the rest once for every id
/// (new, parse, try-parse) and <see cref="StrongIdJsonConverter{TId}"/> writes it as its string.
/// </summary>
internal interface IStrongId<TId> where TId : struct, IStrongId<TId>
{
    /// <summary>What every id of the type starts with, e.g. <c>job_</c>.</summary>
    static abstract string Prefix { get; }

    /// <summary>What an id of the type is called in messages, e.g. <c>job</c>.</summary>
    static abstract string Noun { get; }

    /// <summary>Wraps a value <see cref="StrongId{TId}"/> made or checked.</summary>
    static abstract TId Wrap(string value);
}

/// <summary>New, parse and try-parse for every <see cref="IStrongId{TId}"/>.</summary>
internal static class StrongId<TId> where TId : struct, IStrongId<TId>
{
    public static TId New() => TId.Wrap(RandomIds.New(TId.Prefix));

    /// <summary>False (and the default id, whose text is empty) unless <paramref name="value"/> is an id of this type.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out TId id)
    {
        var valid = RandomIds.IsValid(value, TId.Prefix);
        id = valid ? TId.Wrap(value!) : default;
        return valid;
    }

    public static TId Parse(string value) =>
        TryParse(value, out var id) ? id : throw new FormatException($"'{value}' is not a {TId.Noun} id.");
}

/// <summary>Reads and writes a <see cref="IStrongId{TId}"/> as its string; anything else is refused.</summary>
internal sealed class StrongIdJsonConverter<TId> : JsonConverter<TId> where TId : struct, IStrongId<TId>
{
    public override TId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        StrongId<TId>.TryParse(reader.GetString(), out var id) ? id : throw new JsonException($"Not a {TId.Noun} id.");

    public override void Write(Utf8JsonWriter writer, TId value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
