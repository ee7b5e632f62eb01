using System.Text.Json;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using StackExchange.Redis;

namespace Hub.Core.Jobs;

/// <summary>
/// The job record: the hash <c>job:{id}</c> (<see cref="RedisKeys.Job(int, JobId)"/>) that Jobs owns, beside the job's kept member
/// errors (<see cref="RedisKeys.JobErrors(int, JobId)"/>) and its input (<see cref="RedisKeys.JobInput(int, JobId)"/>). These are its field
/// names for C#. The Lua scripts spell the same names; <c>Jobs/Lua/job_record.lua</c> lists them with their meaning and
/// holds the steps every lease-checked write shares (lease check, checkpoint, counts, errors), also used by the sync
/// ledger. A test keeps the two lists equal.
/// </summary>
internal static class JobRecord
{
    // Who and what: the job, its tenant, its handler's kind and the list key it works on (one queued and one running
    // job per list), and the free-form argument it was queued with.
    public const string Id = "id", Tenant = "tenant", Kind = "kind", List = "list", Argument = "argument";

    // Where it stands: its JobState in snake_case; when it was queued, first claimed and ended (unix ms); why it failed;
    // the newer job that cancelled it while it was queued.
    public const string State = "state", Created = "created", Started = "started", Finished = "finished", Failure = "failure", SupersededBy = "supersededBy";

    // Who runs it: the lease token of its worker and when that lease runs out (unix ms); pick-ups (claims and take-overs)
    // and the graceful releases among them (not counted as lost leases); '1' once a cancel was requested.
    public const string LeaseToken = "leaseToken", LeaseExpires = "leaseExpires", Attempts = "attempts", Releases = "releases", Cancel = "cancel";

    // How far it got: the handler's last checkpoint and the member counts.
    public const string Checkpoint = "checkpoint", Total = "total", Added = "added", Updated = "updated", Removed = "removed", Unchanged = "unchanged", Failed = "failed";

    // Errors and replans: member errors reported in all (the first ones are kept in the errors list); what it was
    // queued with, for a replan (total added updated removed unchanged failed errorTotal errorsKept); how often it was
    // planned again.
    public const string ErrorTotal = "errorTotal", Initial = "initial", Replans = "replans";

    /// <summary>The W3C trace context (traceparent) of what queued the job, for the link from the job's own trace.</summary>
    public const string QueuedBy = "queuedBy";

    /// <summary>The fields of a new record as name, value pairs (for <c>enqueue.lua</c>).</summary>
    public static RedisValue[] NewFields(JobRequest request, DateTimeOffset now, int maxStoredErrors)
    {
        var counts = request.InitialCounts;
        var errorTotal = Math.Max(request.InitialErrorTotal, request.InitialErrors.Count);
        return
        [
            Id, request.Id.ToString(), Tenant, request.Tenant.ToString(), Kind, request.Kind,
            List, request.ListKey, State, JobState.Queued.ToName(), Created, now.ToUnixTimeMilliseconds(),
            Attempts, 0, Releases, 0,
            Total, counts.Total, Added, counts.Added, Updated, counts.Updated,
            Removed, counts.Removed, Unchanged, counts.Unchanged, Failed, counts.Failed,
            ErrorTotal, errorTotal,
            Argument, request.Argument ?? "",
            QueuedBy, request.QueuedBy ?? "",
            Initial, string.Join(' ', counts.Total, counts.Added, counts.Updated, counts.Removed, counts.Unchanged, counts.Failed,
                errorTotal, Math.Min(request.InitialErrors.Count, maxStoredErrors)),
        ];
    }

    /// <summary>A record as a <see cref="Job"/> with the given kept errors; null when the hash is gone or holds no job.</summary>
    public static Job? Read(HashEntry[] entries, RedisValue[] errors)
    {
        if (entries.Length == 0)
        {
            return null;
        }

        var map = entries.ToDictionary(entry => entry.Name.ToString(), entry => entry.Value, StringComparer.Ordinal);
        if (!map.ContainsKey(Id))
        {
            return null;
        }

        long Number(string field) => map.TryGetValue(field, out var value) && value.TryParse(out long number) ? number : 0;
        string? Text(string field) => map.TryGetValue(field, out var value) && !value.IsNullOrEmpty ? value.ToString() : null;
        DateTimeOffset? Time(string field) => map.ContainsKey(field) ? DateTimeOffset.FromUnixTimeMilliseconds(Number(field)) : null;

        return new Job
        {
            Id = JobId.Parse(map[Id].ToString()),
            Tenant = TenantId.Parse(map[Tenant].ToString()),
            Kind = map[Kind].ToString(),
            ListKey = map[List].ToString(),
            State = JobStates.Parse(map[State].ToString()),
            Counts = new JobCounts(Number(Total), Number(Added), Number(Updated), Number(Removed), Number(Unchanged), Number(Failed)),
            Errors = errors.Select(error => JsonSerializer.Deserialize(error.ToString(), HubJsonContext.Default.MemberError)!).ToList(),
            ErrorTotal = Number(ErrorTotal),
            CreatedAt = Time(Created)!.Value,
            StartedAt = Time(Started),
            FinishedAt = Time(Finished),
            Attempts = (int)Number(Attempts),
            FailureReason = Text(Failure),
            SupersededBy = JobId.TryParse(Text(SupersededBy), out var by) ? by : null,
            Checkpoint = Text(Checkpoint),
            CancelRequested = Text(Cancel) == "1",
            Argument = Text(Argument),
            QueuedBy = Text(QueuedBy),
            Replans = (int)Number(Replans),
        };
    }
}
