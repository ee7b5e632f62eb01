using System.Text.Json;
using System.Text.Json.Serialization;
using Hub.Core.Jobs;
using Hub.Core.Storage;

namespace Hub.Core.People;

/// <summary>Where an erasure stands in one managed audience.</summary>
public static class ErasureAudienceStates
{
    /// <summary>Not tried yet.</summary>
    public const string Pending = "pending";

    /// <summary>Mailchimp did not answer usefully (after the client's own retries); the job pauses and tries again.</summary>
    public const string Retrying = "retrying";

    /// <summary>Mailchimp deleted the contact permanently.</summary>
    public const string Deleted = "deleted";

    /// <summary>Mailchimp had no such contact (never there, or deleted before): nothing to do, done.</summary>
    public const string NotInAudience = "not_in_audience";

    /// <summary>Mailchimp refused (see the code and detail), e.g. the credential no longer works: the erasure fails.</summary>
    public const string Failed = "failed";

    public static bool IsDone(string state) => state is Deleted or NotInAudience;
}

/// <summary>One managed audience of an erasure: its state, the tries so far and, after a failure, Mailchimp's code and detail (never the address).</summary>
/// <param name="AudienceId">The managed audience.</param>
/// <param name="State">Where the erasure stands there.</param>
/// <param name="Attempts">Tries so far.</param>
/// <param name="Code">After a failure: Mailchimp's problem code.</param>
/// <param name="Detail">After a failure: Mailchimp's detail (never the address).</param>
public sealed record ErasureAudience(
    string AudienceId,
    [OneOf(ErasureAudienceStates.Pending, ErasureAudienceStates.Retrying, ErasureAudienceStates.Deleted, ErasureAudienceStates.NotInAudience, ErasureAudienceStates.Failed)] string State, int Attempts = 0, string? Code = null, string? Detail = null);

/// <summary>
/// An erasure job's checkpoint: the tenant's managed audiences when it began, each with its state, and whether Hub's own
/// records were forgotten. Saved after every step, so a job taken over by another replica or resumed after a Redis restart
/// goes on where it was and shows the same progress.
/// </summary>
public sealed record ErasureProgress(IReadOnlyList<ErasureAudience> Audiences, bool RecordsForgotten = false)
{
    public string ToJson() => JsonSerializer.Serialize(this, PeopleJsonContext.Default.ErasureProgress);

    public static ErasureProgress? Parse(string? checkpoint) =>
        string.IsNullOrEmpty(checkpoint) ? null : JsonSerializer.Deserialize(checkpoint, PeopleJsonContext.Default.ErasureProgress);

    /// <summary>The progress with <paramref name="audience"/> in place of the entry for the same audience.</summary>
    public ErasureProgress With(ErasureAudience audience) =>
        this with { Audiences = [.. Audiences.Select(entry => entry.AudienceId == audience.AudienceId ? audience : entry)] };
}

/// <summary>An erasure as the tenant reads it: its job, the person's mark (never the address), and its progress.</summary>
public sealed record Erasure(Job Job, string PersonHash, ErasureProgress? Progress)
{
    /// <summary>The reason the host gave, if any.</summary>
    public string? Reason => Job.Argument;
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ErasureProgress))]
internal sealed partial class PeopleJsonContext : JsonSerializerContext;
