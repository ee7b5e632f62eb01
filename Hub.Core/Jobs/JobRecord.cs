using System.Text.Json;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using StackExchange.Redis;

namespace Hub.Core.Jobs;

/// <summary>
/// The job record: the hash <c>job:{id}</c> (<see cref="RedisKeys.Job"/>) that Jobs owns, beside the job's kept member
/// errors (<see cref="RedisKeys.JobErrors"/>) and its input (<see cref="RedisKeys.JobInput"/>). These are its field
/// names for C#. The Lua scripts spell the same names; <c>Jobs/Lua/job_record.lua</c> lists them with their meaning and
/// holds the steps every lease-checked write shares (lease check, checkpoint, counts, errors), also used by the sync
/// ledger. A test keeps the two lists equal.
/// </summary>
internal static class JobRecord
{
    public const string Id = "id";
    public const string Tenant = "tenant";
    public const string Kind = "kind";

    /// <summary>The list key the job works on: one queued and one running job per list.</summary>
    public const string List = "list";

    /// <summary>The <see cref="JobState"/> in snake_case.</summary>
    public const string State = "state";

    /// <summary>Unix ms.</summary>
    public const string Created = "created";

    /// <summary>Unix ms of the first claim.</summary>
    public const string Started = "started";

    /// <summary>Unix ms.</summary>
    public const string Finished = "finished";

    /// <summary>How often a worker picked the job up (claims and take-overs).</summary>
    public const string Attempts = "attempts";

    /// <summary>How many of those pick-ups ended in a graceful release (not counted as lost leases).</summary>
    public const string Releases = "releases";

    public const string Failure = "failure";
    public const string SupersededBy = "supersededBy";
    public const string Checkpoint = "checkpoint";
    public const string LeaseToken = "leaseToken";

    /// <summary>Unix ms.</summary>
    public const string LeaseExpires = "leaseExpires";

    /// <summary><c>1</c> once a cancel was requested.</summary>
    public const string Cancel = "cancel";

    public const string Total = "total";
    public const string Added = "added";
    public const string Updated = "updated";
    public const string Removed = "removed";
    public const string Unchanged = "unchanged";
    public const string Failed = "failed";

    /// <summary>Member errors reported in all; the first ones are kept in the errors list.</summary>
    public const string ErrorTotal = "errorTotal";

    public const string Argument = "argument";

    /// <summary>What the job was queued with, for a replan: total added updated removed unchanged failed errorTotal errorsKept.</summary>
    public const string Initial = "initial";

    public const string Replans = "replans";

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
            Replans = (int)Number(Replans),
        };
    }
}
