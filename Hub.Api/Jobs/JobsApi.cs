using Hub.Api.Hosting;
using Hub.Core.Jobs;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Hub.Api.Jobs;

/// <summary>The tenant's background jobs: read one, list recent, cancel.</summary>
public static class JobsApi
{
    public static RouteGroupBuilder MapJobsApi(this RouteGroupBuilder v1)
    {
        var jobs = v1.MapGroup("/jobs").WithTags("Jobs");
        jobs.MapGet("/", ListJobs).Produces<Page<JobResponse>>().ProducesValidationProblem();
        jobs.MapGet("/{jobId}", GetJob).Produces<JobResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        jobs.MapPost("/{jobId}/cancel", CancelJob).Produces<JobResponse>(StatusCodes.Status202Accepted).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return v1;
    }

    /// <summary>List the tenant's most recent jobs, newest first.</summary>
    /// <remarks>
    /// Sync, batch and erasure jobs, kept for a while after they finish: a page without <c>total</c>, read on with <c>nextCursor</c>.
    /// Jobs queued meanwhile never shift a page (they come before the first). A page can hold fewer than <c>limit</c> when jobs expired.
    /// </remarks>
    /// <param name="cursor">The <c>nextCursor</c> of the previous page; absent: the newest jobs.</param>
    /// <param name="limit">Page size, 1 to 100.</param>
    public static async Task<Results<Ok<Page<JobResponse>>, ValidationProblem>> ListJobs(
        Tenant tenant, JobStore jobs, IOptions<HubOptions> hub, CancellationToken cancellationToken, string? cursor = null, int limit = 20)
    {
        if (Paging.Check(cursor, limit, 100, out var after) is { } invalid)
        {
            return Problems.Paging(invalid);
        }

        var page = await jobs.ListRecentAsync(tenant.Id, after, limit, cancellationToken);
        return TypedResults.Ok(page.Map(job => JobResponse.From(job, hub.Value)));
    }

    /// <summary>Read a job.</summary>
    /// <remarks>
    /// Its state (<c>queued</c>, <c>running</c>, then <c>succeeded</c>, <c>partially_succeeded</c>, <c>failed</c> or <c>cancelled</c>),
    /// counts, the first per-member errors, timings and attempts. Poll it (the <c>statusUrl</c> of a 202), or wait for the
    /// <c>sync.completed</c> / <c>sync.failed</c> webhook.
    /// </remarks>
    /// <param name="jobId">The job's id (<c>job_</c> and 20 letters and digits).</param>
    public static async Task<Results<Ok<JobResponse>, ProblemHttpResult>> GetJob(
        string jobId, Tenant tenant, JobStore jobs, IOptions<HubOptions> hub, CancellationToken cancellationToken) =>
        JobId.TryParse(jobId, out var id) && await jobs.GetAsync(tenant.Id, id, cancellationToken) is { } job
            ? TypedResults.Ok(JobResponse.From(job, hub.Value))
            : JobNotFound(jobId);

    /// <summary>Cancel a job.</summary>
    /// <remarks>A queued job is cancelled at once; a running one stops at its next checkpoint (members already written stay written). 409 <c>job_finished</c> for a job that has ended.</remarks>
    /// <param name="jobId">The job's id.</param>
    public static async Task<Results<Accepted<JobResponse>, ProblemHttpResult>> CancelJob(
        string jobId, Tenant tenant, JobStore jobs, IOptions<HubOptions> hub, CancellationToken cancellationToken)
    {
        if (!JobId.TryParse(jobId, out var id))
        {
            return JobNotFound(jobId);
        }

        return await jobs.CancelAsync(tenant.Id, id, cancellationToken) switch
        {
            CancelResult.NotFound => JobNotFound(jobId),
            CancelResult.Cancelled or CancelResult.CancelRequested => TypedResults.Accepted(
                JobUrls.Of(hub.Value, id), JobResponse.From((await jobs.GetAsync(tenant.Id, id, cancellationToken))!, hub.Value)),
            _ => Problems.Conflict("job_finished", $"Job {id} has already finished."),
        };
    }

    private static ProblemHttpResult JobNotFound(string jobId) => Problems.NotFound("job_not_found", $"This tenant has no job '{jobId}'.");
}
