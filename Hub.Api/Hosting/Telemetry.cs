using Hub.Core.Diagnostics;
using Hub.Core.Events;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Hub.Api.Hosting;

public static class Telemetry
{
    /// <summary>
    /// Traces, metrics and logs for ASP.NET Core, HttpClient, Redis and Hub's own sources, exported
    /// over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the standard OTEL_* variables apply).
    /// </summary>
    public static IHostApplicationBuilder AddHubTelemetry(this IHostApplicationBuilder builder)
    {
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(HubTelemetry.ServiceName))
            .WithTracing(tracing => tracing
                .AddSource(HubTelemetry.SourceName)
                .AddAspNetCoreInstrumentation(options =>
                {
                    options.Filter = context => !context.Request.Path.StartsWithSegments("/health");
                    // Paths that hold a secret or an address: traces keep the route, not the secret or the address.
                    options.EnrichWithHttpRequest = (activity, request) =>
                    {
                        if (RedactedPaths.RouteOf(request.Path) is { } route)
                        {
                            activity.SetTag("url.path", route);
                        }
                    };
                })
                .AddHttpClientInstrumentation(options => options.EnrichWithHttpRequestMessage = (activity, request) =>
                {
                    // The embedded sandbox (Development) calls the receiver as Mailchimp does.
                    if (request.RequestUri?.AbsolutePath.StartsWith(AudienceHooks.ReceiverPath + "/", StringComparison.Ordinal) == true)
                    {
                        activity.SetTag("url.full", new UriBuilder(request.RequestUri) { Path = AudienceHooks.ReceiverRoute, Query = "" }.Uri.ToString());
                    }
                }))
            .WithMetrics(metrics => metrics
                .AddMeter(HubTelemetry.MeterName, HubTelemetry.RedisClientMeterName)
                // The per-tenant instruments (hub.tenant.id): at most this many series each per replica; past it, new
                // series fold into one with otel.metric.overflow=true (a fleet larger than this is watched in aggregate).
                .AddView("hub.jobs.*", new MetricStreamConfiguration { CardinalityLimit = HubTelemetry.MaxTenantSeries })
                .AddView("hub.webhooks.deliveries", new MetricStreamConfiguration { CardinalityLimit = HubTelemetry.MaxTenantSeries })
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation())
            // Log scopes are not exported: ASP.NET Core's request scope holds the path, which can name an email address. A
            // job's tenant, id and kind are added to its records as attributes instead.
            .WithLogging(logging => logging.AddProcessor(new JobLogAttributes()));

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry.UseOtlpExporter();
        }

        return builder;
    }
}
