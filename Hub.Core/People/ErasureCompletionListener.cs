using System.Text.Json;
using System.Text.Json.Nodes;
using Hub.Core.Jobs;
using Hub.Core.Webhooks;

namespace Hub.Core.People;

/// <summary>
/// When an erasure ends: a signed <c>person.erased</c> webhook carrying only the erasure id and the person's mark (never the
/// address, which the host knows by the erasure id), or <c>person.erasure_failed</c> with the failure reason as well.
/// </summary>
public sealed class ErasureCompletionListener(IWebhookPublisher webhooks) : IJobCompletionListener
{
    public const string PersonErased = "person.erased";
    public const string PersonErasureFailed = "person.erasure_failed";

    public async Task OnJobFinishedAsync(Job job, CancellationToken cancellationToken)
    {
        if (job.Kind != ErasureJobHandler.JobKind)
        {
            return;
        }

        var data = new JsonObject { ["erasureId"] = job.Id.ToString(), ["personHash"] = ErasureService.MarkOf(job) };
        var succeeded = job.State == JobState.Succeeded;
        if (!succeeded)
        {
            data["state"] = job.State.ToName();
            data["failureReason"] = job.FailureReason;
        }

        // Keyed by the job: telling the same job again keeps one delivery.
        await webhooks.PublishAsync(job.Tenant, succeeded ? PersonErased : PersonErasureFailed,
            JsonSerializer.SerializeToElement(data, Storage.HubJsonContext.Default.JsonObject), eventKey: job.Id.ToString(), cancellationToken);
    }
}
