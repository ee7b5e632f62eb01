using Hub.Core.Storage;
using Hub.Core.Tenants;

namespace Hub.Core.Jobs;

/// <summary>Where a job is in its life. Stored and shown in snake_case (<see cref="JobStates"/>).</summary>
public enum JobState
{
    Queued,
    Running,
    Succeeded,
    PartiallySucceeded,
    Failed,
    Cancelled,
}

/// <summary>Where a job is read over the API: a 202's <c>statusUrl</c>, a job's own, and a webhook's <c>jobUrl</c>.</summary>
public static class JobUrls
{
    public static string Of(HubOptions hub, JobId id) => hub.PublicUrl($"/api/v1/jobs/{id}");
}

/// <summary>The wire and storage names of <see cref="JobState"/>: <c>queued</c>, <c>running</c>, <c>succeeded</c>, <c>partially_succeeded</c>, <c>failed</c>, <c>cancelled</c>.</summary>
public static class JobStates
{
    public static string ToName(this JobState state) => SnakeCase<JobState>.ToText(state);

    public static JobState Parse(string name) =>
        SnakeCase<JobState>.TryParse(name, out var state) ? state : throw new FormatException($"'{name}' is not a job state.");

    public static bool IsFinished(this JobState state) => state is not (JobState.Queued or JobState.Running);
}

/// <summary>Member counts of a job; also used as a delta when a handler reports progress.</summary>
public readonly record struct JobCounts(long Total = 0, long Added = 0, long Updated = 0, long Removed = 0, long Unchanged = 0, long Failed = 0)
{
    public long Processed => Added + Updated + Removed + Unchanged + Failed;

    public static JobCounts operator +(JobCounts a, JobCounts b) =>
        new(a.Total + b.Total, a.Added + b.Added, a.Updated + b.Updated, a.Removed + b.Removed, a.Unchanged + b.Unchanged, a.Failed + b.Failed);
}

/// <summary>
/// Why one member of a job was not synced. <paramref name="Retryable"/> tells the host whether sending it again may help;
/// <paramref name="Code"/> names a problem type of its own where there is one (e.g. <c>email_in_use</c>); <paramref name="Field"/>
/// the member's property at fault where it is one (e.g. <c>mergeFields.BIRTHDAY</c>).
/// </summary>
/// <param name="Email">The member's address.</param>
/// <param name="Reason">Why it was not synced, for people.</param>
/// <param name="Retryable">Whether sending it again may help (a transient failure), or the member must change first.</param>
/// <param name="Code">The problem code, where there is one (e.g. <c>validation</c>, <c>email_in_use</c>).</param>
/// <param name="Field">The member's property at fault, where it is one (e.g. <c>mergeFields.BIRTHDAY</c>).</param>
public sealed record MemberError(string Email, string Reason, bool Retryable, string? Code = null, string? Field = null);

/// <summary>A job as stored: identity, state, counts, the first member errors, timings and attempts.</summary>
public sealed record Job
{
    public required JobId Id { get; init; }
    public required TenantId Tenant { get; init; }
    public required string Kind { get; init; }
    public required string ListKey { get; init; }
    public required JobState State { get; init; }
    public JobCounts Counts { get; init; }

    /// <summary>The first errors (up to <see cref="JobsOptions.MaxStoredErrors"/>); empty when not requested.</summary>
    public IReadOnlyList<MemberError> Errors { get; init; } = [];

    /// <summary>How many member errors were reported in all, including those not kept.</summary>
    public long ErrorTotal { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public TimeSpan? Duration => StartedAt is { } started && FinishedAt is { } finished ? finished - started : null;

    /// <summary>How many times a worker picked the job up.</summary>
    public int Attempts { get; init; }

    public string? FailureReason { get; init; }

    /// <summary>The newer job for the same list that replaced this one while it was queued (or released).</summary>
    public JobId? SupersededBy { get; init; }

    /// <summary>The handler's last saved checkpoint; a job taken over resumes from here.</summary>
    public string? Checkpoint { get; init; }

    public bool CancelRequested { get; init; }

    /// <summary>A free-form argument the enqueuer gave the handler (e.g. a removal policy).</summary>
    public string? Argument { get; init; }

    /// <summary>The trace context (W3C traceparent) of the request that queued the job; the job's trace links to it.</summary>
    public string? QueuedBy { get; init; }

    /// <summary>How many times the job was planned again from the start because its counts did not add up.</summary>
    public int Replans { get; init; }
}

/// <summary>
/// What to enqueue. <see cref="Id"/> may be chosen in advance (the desired-set staging id) so data
/// staged under it becomes the job's; initial counts and errors carry what staging already found.
/// </summary>
public sealed record JobRequest(TenantId Tenant, string Kind, string ListKey)
{
    public JobId Id { get; init; } = JobId.New();
    public string? Argument { get; init; }

    /// <summary>The trace context of what queues the job (by default the current activity's, e.g. the HTTP request's).</summary>
    public string? QueuedBy { get; init; } = System.Diagnostics.Activity.Current?.Id;
    public JobCounts InitialCounts { get; init; }
    public IReadOnlyList<MemberError> InitialErrors { get; init; } = [];

    /// <summary>Total errors found before the job existed (at least <see cref="InitialErrors"/>.Count).</summary>
    public long InitialErrorTotal { get; init; }
}

/// <summary>How a handler's run ended. A success with failed members is stored as partially succeeded.</summary>
public sealed record JobOutcome(JobState State, string? FailureReason = null)
{
    public static JobOutcome Succeeded { get; } = new(JobState.Succeeded);
    public static JobOutcome Failed(string reason) => new(JobState.Failed, reason);
}
