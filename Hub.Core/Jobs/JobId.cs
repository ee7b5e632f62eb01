using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;
using Hub.Core.Storage;

namespace Hub.Core.Jobs;

/// <summary>A job's id: <c>job_</c> followed by 20 lowercase letters and digits (see <see cref="IStrongId{TId}"/>).</summary>
[JsonConverter(typeof(StrongIdJsonConverter<JobId>))]
public readonly record struct JobId : IStrongId<JobId>
{
    private readonly string _value;

    private JobId(string value) => _value = value;

    static string IStrongId<JobId>.Prefix => "job_";

    static string IStrongId<JobId>.Noun => "job";

    static JobId IStrongId<JobId>.Wrap(string value) => new(value);

    public static JobId New() => StrongId<JobId>.New();

    public static bool TryParse([NotNullWhen(true)] string? value, out JobId id) => StrongId<JobId>.TryParse(value, out id);

    public static JobId Parse(string value) => StrongId<JobId>.Parse(value);

    public override string ToString() => _value ?? "";
}
