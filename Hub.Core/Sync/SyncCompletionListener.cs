using System.Text.Json;
using System.Text.Json.Nodes;
using Hub.Core.Jobs;
using Hub.Core.Lists;
using Hub.Core.Storage;
using Hub.Core.Webhooks;
using Microsoft.Extensions.Options;

namespace Hub.Core.Sync;

/// <summary>When a sync job ends: the list's last-sync status, and a signed <c>sync.completed</c> or <c>sync.failed</c> webhook with the counts and the job URL.</summary>
public sealed class SyncCompletionListener(ListStore lists, IWebhookPublisher webhooks, IOptions<HubOptions> options) : IJobCompletionListener
{
    public async Task OnJobFinishedAsync(Job job, CancellationToken cancellationToken)
    {
        // A job replaced by a newer request for the same list never ran: the newer job reports.
        if (job.Kind != SyncJobHandler.JobKind || job.SupersededBy is not null)
        {
            return;
        }

        var state = job.State.ToName();
        if (ListKey.TryParse(job.ListKey, out var key))
        {
            await lists.UpdateAsync(job.Tenant, key, list => list with { LastSync = new ListSyncStatus(job.Id.ToString(), state, job.FinishedAt) }, cancellationToken);
        }

        var succeeded = job.State is JobState.Succeeded or JobState.PartiallySucceeded;
        var data = new JsonObject
        {
            ["jobId"] = job.Id.ToString(),
            ["jobUrl"] = JobUrls.Of(options.Value, job.Id),
            ["listKey"] = job.ListKey,
            ["state"] = state,
            ["counts"] = new JsonObject
            {
                ["total"] = job.Counts.Total,
                ["added"] = job.Counts.Added,
                ["updated"] = job.Counts.Updated,
                ["removed"] = job.Counts.Removed,
                ["unchanged"] = job.Counts.Unchanged,
                ["failed"] = job.Counts.Failed,
            },
            ["failureReason"] = job.FailureReason,
            ["finishedAt"] = job.FinishedAt,
        };
        // Keyed by the job: telling the same job again (after a failure, see JobStore.NotifyOverdueAsync) keeps one delivery id.
        await webhooks.PublishAsync(job.Tenant, succeeded ? WebhookEvents.SyncCompleted : WebhookEvents.SyncFailed,
            JsonSerializer.SerializeToElement(data, HubJsonContext.Default.JsonObject), eventKey: job.Id.ToString(), cancellationToken);
    }
}
