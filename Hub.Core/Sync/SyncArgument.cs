using System.Text.Json;
using System.Text.Json.Serialization;
using Hub.Core.Members;
using Hub.Core.Storage;

namespace Hub.Core.Sync;

/// <summary>What the enqueuer asks of a sync job, stored as the job's argument.</summary>
public sealed record SyncArgument(bool Reconcile = false, bool AddOnly = false, IReadOnlyList<string>? Remove = null, string? RemoveMode = null)
{
    public string ToJson() => JsonSerializer.Serialize(this, SyncJsonContext.Default.SyncArgument);

    public static SyncArgument Parse(string? json) =>
        string.IsNullOrEmpty(json) ? new SyncArgument() : JsonSerializer.Deserialize(json, SyncJsonContext.Default.SyncArgument) ?? new SyncArgument();

    /// <summary>How the members in <see cref="Remove"/> are removed (archive unless asked otherwise).</summary>
    [JsonIgnore]
    public RemovalMode Mode => SnakeCase<RemovalMode>.TryParse(RemoveMode, out var mode) ? mode : RemovalMode.Archive;
}

/// <summary>Source-generated JSON for what Sync stores (the same options as Storage's HubJsonContext, so stored arguments read back unchanged).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true)]
[JsonSerializable(typeof(SyncArgument))]
internal sealed partial class SyncJsonContext : JsonSerializerContext;
