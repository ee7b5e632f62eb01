using Hub.Core.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Logs;

namespace Hub.Api.Hosting;

/// <summary>
/// Adds the running job's tenant, id and kind (<see cref="JobLogContext"/>) to each log record written during its run,
/// before the record is exported. The export leaves log scopes out (ASP.NET Core's request scope holds the request path,
/// which can name an email address), so a job's scope alone would not reach OTLP; a record written outside a job is left
/// as it is.
/// </summary>
public sealed class JobLogAttributes : BaseProcessor<LogRecord>
{
    public override void OnEnd(LogRecord data)
    {
        if (JobLogContext.Current is not { } job)
        {
            return;
        }

        data.Attributes = data.Attributes is { Count: > 0 } attributes ? [.. attributes, .. job.Attributes] : job.Attributes;
    }
}
