using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using Hub.Core.Storage;

namespace Hub.Core.Tenants;

/// <summary>A tenant's id: <c>tn_</c> followed by 20 lowercase letters and digits.</summary>
[JsonConverter(typeof(TenantIdJsonConverter))]
public readonly record struct TenantId
{
    private const string Prefix = "tn_";

    private readonly string _value;

    private TenantId(string value) => _value = value;

    public static TenantId New() => new(RandomIds.New(Prefix));

    public static bool TryParse([NotNullWhen(true)] string? value, out TenantId id)
    {
        id = RandomIds.IsValid(value, Prefix) ? new TenantId(value!) : default;
        return id._value is not null;
    }

    public static TenantId Parse(string value) =>
        TryParse(value, out var id) ? id : throw new FormatException($"'{value}' is not a tenant id.");

    public override string ToString() => _value ?? "";
}

internal sealed class TenantIdJsonConverter : JsonConverter<TenantId>
{
    public override TenantId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        TenantId.TryParse(reader.GetString(), out var id) ? id : throw new JsonException("Not a tenant id.");

    public override void Write(Utf8JsonWriter writer, TenantId value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
