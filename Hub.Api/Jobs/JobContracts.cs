using Hub.Core.Jobs;

namespace Hub.Api.Jobs;

public sealed record JobCountsResponse(long Total, long Added, long Updated, long Removed, long Unchanged, long Failed);

/// <summary>A background job: state, counts, the first per-member errors, timings and attempts.</summary>
public sealed record JobResponse(
    string Id, string Kind, string ListKey, string State, JobCountsResponse Counts, IReadOnlyList<MemberError> Errors, long ErrorTotal,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, double? DurationSeconds, int Attempts, int Replans,
    string? FailureReason, string? SupersededBy, bool CancelRequested, string StatusUrl)
{
    public static JobResponse From(Job job) => new(
        job.Id.ToString(), job.Kind, job.ListKey, job.State.ToName(),
        new JobCountsResponse(job.Counts.Total, job.Counts.Added, job.Counts.Updated, job.Counts.Removed, job.Counts.Unchanged, job.Counts.Failed),
        job.Errors, job.ErrorTotal, job.CreatedAt, job.StartedAt, job.FinishedAt, job.Duration?.TotalSeconds, job.Attempts, job.Replans,
        job.FailureReason, job.SupersededBy?.ToString(), job.CancelRequested, $"/api/v1/jobs/{job.Id}");
}

/// <summary>The answer to a request that became a job (202): where to follow it.</summary>
public sealed record JobAcceptedResponse(string JobId, string State, string StatusUrl, string? Superseded);
