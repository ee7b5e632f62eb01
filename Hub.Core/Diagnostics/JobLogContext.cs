namespace Hub.Core.Diagnostics;

/// <summary>
/// The job a piece of code runs for: set by the job worker for a job's whole run and carried along its async calls.
/// Every log line written meanwhile is exported with its <see cref="Attributes"/> (<c>hub.tenant.id</c>, <c>hub.job.id</c>,
/// <c>hub.job.kind</c>), which log scopes cannot do: the OTLP export leaves scopes out, since ASP.NET Core's request scope
/// holds the request path, which can name an email address.
/// </summary>
public sealed class JobLogContext
{
    private static readonly AsyncLocal<JobLogContext?> CurrentJob = new();

    private JobLogContext(string tenantId, string jobId, string kind) =>
        Attributes =
        [
            new(HubTelemetry.Tags.TenantId, tenantId),
            new(HubTelemetry.Jobs.JobIdTag, jobId),
            new(HubTelemetry.Jobs.KindTag, kind),
        ];

    /// <summary>The job whose run this is, or null outside a job.</summary>
    public static JobLogContext? Current => CurrentJob.Value;

    /// <summary>The tenant, the job's id and its kind, as log attributes (and scope values).</summary>
    public IReadOnlyList<KeyValuePair<string, object?>> Attributes { get; }

    /// <summary>Makes the job current for this async flow until the returned scope is disposed.</summary>
    public static Scope Enter(string tenantId, string jobId, string kind)
    {
        var scope = new Scope(new JobLogContext(tenantId, jobId, kind), CurrentJob.Value);
        CurrentJob.Value = scope.Job;
        return scope;
    }

    /// <summary>Puts back the job (or none) that was current before <see cref="Enter"/>.</summary>
    public readonly struct Scope(JobLogContext job, JobLogContext? previous) : IDisposable
    {
        /// <summary>The job made current.</summary>
        public JobLogContext Job { get; } = job;

        public void Dispose() => CurrentJob.Value = previous;
    }
}
