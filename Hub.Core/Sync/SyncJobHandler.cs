using Hub.Core.Jobs;
using Hub.Core.Lists;
using Hub.Core.Mailchimp;
using Hub.Core.Members;
using Hub.Core.Tenants;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hub.Core.Sync;

/// <summary>
/// Runs sync jobs: makes a Mailchimp audience (or tag) match a staged desired set. Optionally first reads the audience
/// (pages of 1000) to record drift: people who unsubscribed or were cleaned in Mailchimp are remembered as refused and
/// never sent again until their data changes. Then new and changed members go out in batch subscribe calls of at most 500,
/// several in flight up to the account's concurrency cap, recorded in plan order so a crash resumes at the last checkpoint;
/// repeating a batch changes nothing. Members that left are removed per the list's policy, only if Hub added them.
/// The member writes themselves are Members' (<see cref="MemberBatchWriter"/>, <see cref="MemberRemoval"/>); this handler
/// plans, paces and records them, and decides what a final Mailchimp failure means for the job (<see cref="SyncCallPolicy"/>).
/// </summary>
public sealed partial class SyncJobHandler(
    SyncPlanner planner,
    SyncRenames renames,
    MemberRenamer renamer,
    ErasedPeople erased,
    MemberLedger ledger,
    MemberRemoval removal,
    ListTargets targets,
    TenantStore tenants,
    MailchimpClient mailchimp,
    IOptions<MailchimpOptions> mailchimpOptions,
    ILogger<SyncJobHandler> logger) : IJobHandler
{
    public const string JobKind = "sync";

    public string Kind => JobKind;

    public async Task<JobOutcome> RunAsync(JobContext context, CancellationToken cancellationToken)
    {
        var job = context.Job;
        if (SyncPlanner.IsLegacy(context.Checkpoint))
        {
            throw new JobReplanException("The job's checkpoint is an HSCAN cursor of an older Hub, which does not survive a Redis restart.");
        }

        if (!ListKey.TryParse(job.ListKey, out var listKey))
        {
            return JobOutcome.Failed(Audiences.FacadeErrors.ListNotFound);
        }

        if (await tenants.GetAsync(job.Tenant, cancellationToken) is not { } tenant)
        {
            return JobOutcome.Failed("tenant_not_found");
        }

        await using var target = await targets.ResolveAsync(tenant, listKey, forWrite: true, reserveSlot: false, cancellationToken);
        if (target.Error is { } error)
        {
            return JobOutcome.Failed(error.Code);
        }

        var parallelism = mailchimpOptions.Value.MaxConcurrentCallsPerAccount;
        using var policy = new SyncCallPolicy();
        MemberCalls calls = null!;
        calls = new MemberCalls(mailchimp, target.Credential!, target.List!, policy)
        {
            Directory = new AudienceDirectory(
                async (count, offset, token) => (await calls.StatusPageAsync(MailchimpMemberStatus.Subscribed, count, offset, token)).Value!,
                async token => (await calls.AudienceAsync(token)).Value!.Stats?.MemberCount ?? int.MaxValue,
                parallelism),
        };

        try
        {
            var run = new SyncRun(context, calls, SyncArgument.Parse(job.Argument), planner, ledger, removal, parallelism) { Renames = renames, Renamer = renamer, Erased = erased };
            await run.ReconcileAsync(cancellationToken);
            await run.RenameAsync(cancellationToken);
            await run.ApplyPlanAsync(cancellationToken);
            await run.RemoveRequestedAsync(cancellationToken);
            return JobOutcome.Succeeded;
        }
        catch (SyncAbortedException aborted)
        {
            LogAborted(logger, job.Id.ToString(), aborted.Error.Code);
            return JobOutcome.Failed(aborted.Error.Code);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sync job {JobId} stopped: Mailchimp answered {Code}.")]
    private static partial void LogAborted(ILogger logger, string jobId, string code);
}
