using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hub.Core.Storage;

/// <summary>
/// What kind of thing an <see cref="Id{TKind}"/> names: the prefix every id of the kind starts with (<c>job_</c>) and
/// what it is called in messages (<c>job</c>). A kind is an empty abstract class next to the thing it names, e.g.
/// <see cref="Jobs.JobKind"/>; the projects give each closed id a name of its own with a global alias
/// (<c>JobId</c> for <c>Id&lt;JobKind&gt;</c>, in Directory.Build.props), so code reads as if each were its own type.
/// </summary>
public interface IIdKind
{
    static abstract string Prefix { get; }

    static abstract string Noun { get; }
}

/// <summary>
/// A strongly typed public id, as Duende's libraries write them: a readonly record struct around a string of the
/// kind's prefix and 20 random lowercase letters and digits (<see cref="RandomIds"/>). Ids of different kinds are
/// different types, so a job id cannot be passed where a tenant id is expected. The default id's text is empty.
/// </summary>
[JsonConverter(typeof(IdJsonConverterFactory))]
public readonly record struct Id<TKind> where TKind : IIdKind
{
    private readonly string _value;

    private Id(string value) => _value = value;

    public static Id<TKind> New() => new(RandomIds.New(TKind.Prefix));

    /// <summary>False (and the default id) unless <paramref name="value"/> is an id of this kind.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out Id<TKind> id)
    {
        var valid = RandomIds.IsValid(value, TKind.Prefix);
        id = valid ? new Id<TKind>(value!) : default;
        return valid;
    }

    public static Id<TKind> Parse(string value) =>
        TryParse(value, out var id) ? id : throw new FormatException($"'{value}' is not a {TKind.Noun} id.");

    public override string ToString() => _value ?? "";
}

/// <summary>Reads and writes every <see cref="Id{TKind}"/> as its string; anything else is refused.</summary>
internal sealed class IdJsonConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) =>
        typeToConvert.IsGenericType && typeToConvert.GetGenericTypeDefinition() == typeof(Id<>);

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(IdJsonConverter<>).MakeGenericType(typeToConvert.GetGenericArguments()))!;

    private sealed class IdJsonConverter<TKind> : JsonConverter<Id<TKind>> where TKind : IIdKind
    {
        public override Id<TKind> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            Id<TKind>.TryParse(reader.GetString(), out var id) ? id : throw new JsonException($"Not a {TKind.Noun} id.");

        public override void Write(Utf8JsonWriter writer, Id<TKind> value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.ToString());
    }
}
