using Hub.Core.Audiences;
using Hub.Core.Jobs;
using Hub.Core.Mailchimp;
using Hub.Core.Members;
using Hub.Core.Tenants;
using Microsoft.Extensions.Logging;

namespace Hub.Core.People;

/// <summary>
/// Runs erasures. First, in every audience Hub manages for the tenant (as when the erasure began), Mailchimp's permanent
/// delete of the contact (<see cref="MailchimpClient.DeleteMemberPermanentlyAsync"/>); a contact Mailchimp does not have
/// there counts as done. Then Hub forgets the person in every record it keeps for the tenant (<see cref="PersonRecords"/>).
/// Each step is saved in the checkpoint (<see cref="ErasureProgress"/>) and safe to repeat, so a replica that dies or a
/// Redis restart costs a repeated step at most. Mailchimp being unavailable pauses the job and tries the audience again
/// (<see cref="JobOutageException"/>); a refusal fails that audience, and the job then ends failed, never succeeded: it
/// succeeds only when every audience is deleted or proven free of the contact. Its counts: one per audience, removed when
/// deleted, unchanged when it was not there, failed when Mailchimp refused.
/// </summary>
public sealed partial class ErasureJobHandler(
    ErasureService erasures,
    ErasedPeople erased,
    PersonRecords records,
    TenantStore tenants,
    TenantMailchimp tenantMailchimp,
    MailchimpClient mailchimp,
    ILogger<ErasureJobHandler> logger) : IJobHandler
{
    public const string JobKind = "erasure";

    /// <summary>The failure reason of an erasure that some audience refused (see its progress).</summary>
    public const string AudiencesFailed = "audiences_failed";

    public string Kind => JobKind;

    public async Task<JobOutcome> RunAsync(JobContext context, CancellationToken cancellationToken)
    {
        var job = context.Job;
        if (await erasures.PersonOfAsync(job) is not { } person)
        {
            return JobOutcome.Failed("erasure_input_missing");
        }

        if (await tenants.GetAsync(job.Tenant, cancellationToken) is not { } tenant)
        {
            return JobOutcome.Failed("tenant_not_found");
        }

        // Again here, in case the request that queued the job failed before it remembered the person.
        await erased.RememberAsync(tenant.Id, ErasureService.MarkOf(job), job.Id);

        var progress = ErasureProgress.Parse(context.Checkpoint);
        if (progress is null)
        {
            var audiences = await tenantMailchimp.ManagedAsync(tenant.Id, cancellationToken);
            progress = new ErasureProgress([.. audiences.Order(StringComparer.Ordinal).Select(audience => new ErasureAudience(audience, ErasureAudienceStates.Pending))]);
            await context.SaveCheckpointAsync(progress.ToJson(), cancellationToken);
        }

        if (!progress.RecordsForgotten)
        {
            progress = await EraseInMailchimpAsync(context, tenant, person, progress, cancellationToken);
            var removed = await records.ForgetAsync(tenant.Id, person, cancellationToken);
            LogForgotten(logger, job.Id, removed);
            progress = progress with { RecordsForgotten = true };
            await context.SaveCheckpointAsync(progress.ToJson(), cancellationToken);
        }

        await CountAsync(context, progress, cancellationToken);
        return progress.Audiences.All(audience => ErasureAudienceStates.IsDone(audience.State)) ? JobOutcome.Succeeded : JobOutcome.Failed(AudiencesFailed);
    }

    /// <summary>
    /// Deletes the contact in every audience not done yet, all at once (the client keeps to the account's cap), and saves
    /// what each answered. When Mailchimp was unavailable for one, throws <see cref="JobOutageException"/> after saving: the
    /// worker runs the job again from here after a pause, and fails it only when Mailchimp stays away too long.
    /// </summary>
    private async Task<ErasureProgress> EraseInMailchimpAsync(JobContext context, Tenant tenant, Person person, ErasureProgress progress, CancellationToken cancellationToken)
    {
        var open = progress.Audiences.Where(audience => audience.State is ErasureAudienceStates.Pending or ErasureAudienceStates.Retrying).ToList();
        if (open.Count == 0)
        {
            return progress;
        }

        var (credential, notConnected) = await tenantMailchimp.CredentialAsync(tenant, cancellationToken);
        var hash = SubscriberHash.Parse(person.SubscriberHash);
        var answers = await Task.WhenAll(open.Select(async audience =>
        {
            var error = credential is null ? notConnected : (await mailchimp.DeleteMemberPermanentlyAsync(credential, audience.AudienceId, hash, cancellationToken)).Error;
            var attempts = audience.Attempts + 1;
            return error switch
            {
                null => new ErasureAudience(audience.AudienceId, ErasureAudienceStates.Deleted, attempts),
                { Code: MailchimpErrorCodes.NotFound } => new ErasureAudience(audience.AudienceId, ErasureAudienceStates.NotInAudience, attempts),
                { Code: MailchimpErrorCodes.MailchimpUnavailable } => new ErasureAudience(audience.AudienceId, ErasureAudienceStates.Retrying, attempts, error.Code, person.Redact(error.Detail)),
                _ => new ErasureAudience(audience.AudienceId, ErasureAudienceStates.Failed, attempts, error!.Code, person.Redact(error.Detail)),
            };
        }));

        progress = answers.Aggregate(progress, (current, answer) => current.With(answer));
        await context.SaveCheckpointAsync(progress.ToJson(), cancellationToken);
        if (answers.FirstOrDefault(answer => answer.State == ErasureAudienceStates.Retrying) is { } retrying)
        {
            throw new JobOutageException(MailchimpErrorCodes.MailchimpUnavailable, $"Mailchimp is unavailable for audience {retrying.AudienceId}: {retrying.Detail}");
        }

        return progress;
    }

    /// <summary>Brings the job's counts to one per audience (what earlier runs counted is subtracted, so a repeated end counts once).</summary>
    private static Task CountAsync(JobContext context, ErasureProgress progress, CancellationToken cancellationToken)
    {
        long Count(string state) => progress.Audiences.Count(audience => audience.State == state);
        var target = new JobCounts(Total: progress.Audiences.Count, Removed: Count(ErasureAudienceStates.Deleted),
            Unchanged: Count(ErasureAudienceStates.NotInAudience), Failed: Count(ErasureAudienceStates.Failed));
        var counted = context.Job.Counts;
        var delta = new JobCounts(target.Total - counted.Total, target.Added - counted.Added, target.Updated - counted.Updated,
            target.Removed - counted.Removed, target.Unchanged - counted.Unchanged, target.Failed - counted.Failed);
        return delta == default ? Task.CompletedTask : context.AddCountsAsync(delta, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Erasure {JobId}: Hub's records of the person forgotten ({Removed} entries).")]
    private static partial void LogForgotten(ILogger logger, JobId jobId, long removed);
}
