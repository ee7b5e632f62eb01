using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.OpenApi;
using StackExchange.Redis;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Hub.Api.Hosting;

public static class Health
{
    private const string ReadyTag = "ready";
    private const string LivePath = "/health/live";
    private const string ReadyPath = "/health/ready";

    public static IServiceCollection AddHubHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", tags: [ReadyTag]);
        return services;
    }

    /// <summary><c>/health/live</c>: the process answers. <c>/health/ready</c>: Redis answers a PING and the store has the current key layout (never Mailchimp).</summary>
    public static IEndpointRouteBuilder MapHubHealthChecks(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks(LivePath, new() { Predicate = _ => false });
        app.MapHealthChecks(ReadyPath, new() { Predicate = check => check.Tags.Contains(ReadyTag) });
        return app;
    }

    /// <summary>
    /// The probes in the OpenAPI document: health check endpoints are not handlers the API explorer sees, so they are
    /// described here. Both answer <c>text/plain</c>, not JSON, as probes expect.
    /// </summary>
    internal sealed class DocumentFilter : IDocumentFilter
    {
        public void Apply(OpenApiDocument document, DocumentFilterContext context)
        {
            document.Paths ??= [];
            document.Paths[LivePath] = Probe(
                "Liveness: the process answers.",
                "Always `Healthy` while the process serves requests; checks nothing else. For a liveness probe: a failure means restart the process.",
                ("200", "The process answers.", "Healthy"));
            document.Paths[ReadyPath] = Probe(
                "Readiness: Redis answers a PING.",
                "`Healthy` when Redis answers a PING within 2 s and the store has the current key layout; `Unhealthy` (503) otherwise. Never calls Mailchimp, so a Mailchimp outage " +
                "does not take replicas out of service. For a readiness probe: a failure means send no traffic.",
                ("200", "Redis answers.", "Healthy"),
                ("503", "Redis does not answer, or the store's key layout is not known yet (at start-up, or while a replica moves an older store).", "Unhealthy"));
        }

        private static OpenApiPathItem Probe(string summary, string description, params (string Status, string Description, string Body)[] responses)
        {
            var operation = new OpenApiOperation
            {
                Summary = summary,
                Description = description,
                Tags = new HashSet<OpenApiTagReference> { new("Health") },
                Responses = [],
            };
            foreach (var (status, text, body) in responses)
            {
                operation.Responses[status] = new OpenApiResponse
                {
                    Description = text,
                    Content = new Dictionary<string, OpenApiMediaType>
                    {
                        ["text/plain"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String }, Example = body },
                    },
                };
            }

            return new OpenApiPathItem { Operations = new Dictionary<HttpMethod, OpenApiOperation> { [HttpMethod.Get] = operation } };
        }
    }

    private sealed class RedisHealthCheck(IConnectionMultiplexer redis, Hub.Core.Storage.StoreLayout layout) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (!layout.IsCurrent)
            {
                return HealthCheckResult.Unhealthy("The store's key layout is not known yet.");
            }

            try
            {
                var latency = await redis.GetDatabase().PingAsync().WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
                return HealthCheckResult.Healthy($"Redis answered in {latency.TotalMilliseconds:F1} ms.");
            }
            catch (Exception exception) when (exception is RedisException or TimeoutException)
            {
                return HealthCheckResult.Unhealthy("Redis does not answer.", exception);
            }
        }
    }
}
