using Hub.Core.Jobs;
using Hub.Core.People;
using Hub.Core.Storage;
using Hub.Core.Sync;

namespace Hub.Api.Jobs;

/// <summary>What a job did with the members it was given.</summary>
/// <param name="Total">Members (and removals) the job covers.</param>
/// <param name="Added">Contacts added.</param>
/// <param name="Updated">Contacts changed.</param>
/// <param name="Removed">Contacts removed (archived, unsubscribed, untagged or deleted, per the list's removal policy).</param>
/// <param name="Unchanged">Members already as desired: nothing sent to Mailchimp.</param>
/// <param name="Failed">Members that could not be synced (see <c>errors</c>).</param>
public sealed record JobCountsResponse(long Total, long Added, long Updated, long Removed, long Unchanged, long Failed);

/// <summary>A background job: state, counts, the first per-member errors, timings and attempts.</summary>
/// <param name="Id">The job's id.</param>
/// <param name="Kind">What the job does: a list sync or batch (<c>sync</c>), or a person's erasure (<c>erasure</c>).</param>
/// <param name="ListKey">The list it works on (an erasure's is internal).</param>
/// <param name="State">Where the job stands.</param>
/// <param name="Counts">What it did so far.</param>
/// <param name="Errors">The first per-member errors (at most 100 are kept).</param>
/// <param name="ErrorTotal">How many members failed in all.</param>
/// <param name="CreatedAt">When it was queued.</param>
/// <param name="StartedAt">When it first started running.</param>
/// <param name="FinishedAt">When it ended.</param>
/// <param name="DurationSeconds">Run time, from start to end.</param>
/// <param name="Attempts">Runs so far (a job taken over after a replica stopped runs again).</param>
/// <param name="Replans">Times the job re-read the audience because it changed under it.</param>
/// <param name="FailureReason">Why it failed, when it did.</param>
/// <param name="SupersededBy">The newer sync of the same list that replaced this queued one.</param>
/// <param name="CancelRequested">Whether a cancel was asked for while it ran.</param>
/// <param name="StatusUrl">Where to read the job: an absolute URL on Hub's public base URL (<c>Hub:PublicBaseUrl</c>).</param>
public sealed record JobResponse(
    string Id, [OneOf(SyncJobHandler.JobKind, ErasureJobHandler.JobKind)] string Kind, string ListKey, [OneOf<JobState>] string State, JobCountsResponse Counts, IReadOnlyList<MemberError> Errors, long ErrorTotal,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, double? DurationSeconds, int Attempts, int Replans,
    string? FailureReason, string? SupersededBy, bool CancelRequested, string StatusUrl)
{
    public static JobResponse From(Job job, HubOptions hub) => new(
        job.Id.ToString(), job.Kind, job.ListKey, job.State.ToName(),
        new JobCountsResponse(job.Counts.Total, job.Counts.Added, job.Counts.Updated, job.Counts.Removed, job.Counts.Unchanged, job.Counts.Failed),
        job.Errors, job.ErrorTotal, job.CreatedAt, job.StartedAt, job.FinishedAt, job.Duration?.TotalSeconds, job.Attempts, job.Replans,
        job.FailureReason, job.SupersededBy?.ToString(), job.CancelRequested, JobUrls.Of(hub, job.Id));
}

/// <summary>The answer to a request that became a job (202): where to follow it.</summary>
/// <param name="JobId">The job's id.</param>
/// <param name="State">The job's state (<c>queued</c>).</param>
/// <param name="StatusUrl">Where to read the job: an absolute URL on Hub's public base URL, also the <c>Location</c> header.</param>
/// <param name="Superseded">The queued sync of the same list this one replaced, if any.</param>/// <summary>The answer to a request that became a job (202): where to follow it.</summary>
public sealed record JobAcceptedResponse(string JobId, string State, string StatusUrl, string? Superseded);
