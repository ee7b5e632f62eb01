using Microsoft.AspNetCore.Authorization;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Hub.Api.Hosting;

public static class OpenApi
{
    /// <summary>Swagger for every route, with its auth scheme and problem responses; UI at <c>/swagger</c>.</summary>
    public static IServiceCollection AddHubOpenApi(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(options =>
        {
            options.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "Hub",
                Version = "v1",
                Description = "OAuth2 proxy and integration hub between business applications and Mailchimp. " +
                    "Errors are application/problem+json with a stable `type` (urn:hub:problem:<code>).",
            });
            options.AddSecurityDefinition(HubAuth.AdminScheme, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "The operator's admin key (Hub:Admin:ApiKey), for /api/admin.",
            });
            options.AddSecurityDefinition(HubAuth.TenantScheme, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "A tenant API key (hub_...), for /api/v1. The tenant is the key's owner.",
            });
            options.OperationFilter<SecurityRequirementFilter>();
            options.OperationFilter<RequestExamples.Filter>();
            options.CustomSchemaIds(type => type.FullName?.Replace("+", ".", StringComparison.Ordinal));
        });
        return services;
    }

    /// <summary>Marks each operation with the scheme its authorization policy demands.</summary>
    private sealed class SecurityRequirementFilter : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            var policies = context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<IAuthorizeData>().Select(data => data.Policy).ToList();
            var scheme = policies.Contains(HubAuth.AdminPolicy) ? HubAuth.AdminScheme
                : policies.Contains(HubAuth.TenantPolicy) ? HubAuth.TenantScheme
                : null;
            if (scheme is null)
            {
                return;
            }

            operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(scheme, context.Document)] = [] }];
            operation.Responses ??= [];
            operation.Responses.TryAdd("401", new OpenApiResponse { Description = "Missing, unknown or revoked key (problem+json)." });
            if (scheme == HubAuth.TenantScheme)
            {
                operation.Responses.TryAdd("403", new OpenApiResponse { Description = "The tenant is disabled (problem+json)." });
                operation.Responses.TryAdd("429", new OpenApiResponse { Description = "The tenant's rate limit is exhausted; see Retry-After (problem+json)." });
            }
        }
    }
}
