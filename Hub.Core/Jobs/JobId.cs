using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using Hub.Core.Storage;

namespace Hub.Core.Jobs;

/// <summary>A job's id: <c>job_</c> followed by 20 lowercase letters and digits.</summary>
[JsonConverter(typeof(JobIdJsonConverter))]
public readonly record struct JobId
{
    private const string Prefix = "job_";

    private readonly string _value;

    private JobId(string value) => _value = value;

    public static JobId New() => new(RandomIds.New(Prefix));

    public static bool TryParse([NotNullWhen(true)] string? value, out JobId id)
    {
        id = RandomIds.IsValid(value, Prefix) ? new JobId(value!) : default;
        return id._value is not null;
    }

    public static JobId Parse(string value) =>
        TryParse(value, out var id) ? id : throw new FormatException($"'{value}' is not a job id.");

    public override string ToString() => _value ?? "";
}

internal sealed class JobIdJsonConverter : JsonConverter<JobId>
{
    public override JobId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        JobId.TryParse(reader.GetString(), out var id) ? id : throw new JsonException("Not a job id.");

    public override void Write(Utf8JsonWriter writer, JobId value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
