using System.Text.Json;
using System.Text.Json.Nodes;
using Hub.Core.Tenants;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Hub.Api.Hosting;

public static class OpenApi
{
    /// <summary>The document's front page: what a host developer needs before any single route.</summary>
    private const string Introduction = """
        OAuth2 proxy and integration hub between business applications and Mailchimp.

        **Authentication.** Operators call `/api/admin` with the admin key (`Hub:Admin:ApiKey`); host applications call
        `/api/v1` with a tenant API key (`hub_...`), as `Authorization: Bearer <key>`. The tenant is always the key's owner.
        Browsers use `/oauth2` (no key), Mailchimp calls `/mailchimp/events/{secret}`, probes call `/health/live` and `/health/ready`.

        **Errors.** Every error is `application/problem+json` with a stable `type` that clients branch on: the prefix
        `urn:hub:problem:` followed by a code, e.g. `urn:hub:problem:list_not_found`. It also has a `title`, a human `detail`,
        the route as `instance`, a `traceId`, and for invalid input an `errors` map keyed by field. Hostile or invalid input
        never changes state and never yields a 5xx. A path with a `.` or `..` segment (also percent-encoded) is refused on
        every route with 400 `invalid_path`. Only a request that is not valid HTTP (a NUL in the path, a malformed request line or
        header) is answered by the web server itself, before Hub: a bare 400 with no body and `Connection: close`.

        **Collections.** Every collection answers one page: `{"items": [...], "nextCursor": "...", "total": 12}`. Pass `nextCursor`
        back as `cursor` for the next page (null on the last; opaque, it names the last item's position, so items added meanwhile
        shift nothing); `limit` is the page size. `total` is null where Hub cannot count exactly at no cost. A bad `cursor` or
        `limit` is a 400 `validation` naming the parameter.

        **Limits.** Request bodies are limited to 1 MiB (413 `payload_too_large`), except the full mirror
        `PUT /api/v1/lists/{key}/members`, which streams any size. Each tenant has a request rate on `/api/v1` (429 `rate_limited`
        with `Retry-After`). While Redis cannot serve, routes answer 503 `store_unavailable` with `Retry-After`.
        """;

    /// <summary>Swagger for every route, with its auth scheme and problem responses; UI at <c>/swagger</c>.</summary>
    public static IServiceCollection AddHubOpenApi(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(options =>
        {
            options.SwaggerDoc("v1", new OpenApiInfo { Title = "Hub", Version = "v1", Description = Introduction });
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

            // The contracts' and handlers' XML comments: summaries, remarks and parameters (Hub.Api), the records Core answers (Hub.Core).
            options.IncludeXmlComments(typeof(OpenApi).Assembly);
            options.IncludeXmlComments(typeof(TenantStore).Assembly);
            options.UseAllOfToExtendReferenceSchemas();
            options.SupportNonNullableReferenceTypes();
            options.CustomSchemaIds(SchemaId);
            options.MapType<JsonNode>(() => new OpenApiSchema { Description = "Any JSON value." });
            options.MapType<JsonElement>(() => new OpenApiSchema { Description = "Any JSON value." });
            options.MapType<IFormCollection>(() => new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Description = "Form fields as Mailchimp posts them: `type`, `fired_at` and `data[...]`.",
                AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.String },
            });
            options.SchemaFilter<OneOfFilters.Schema>();
            options.SchemaFilter<ProblemSchemas>();
            options.ParameterFilter<OneOfFilters.Parameter>();
            options.OperationFilter<SecurityRequirementFilter>();
            options.OperationFilter<RequestExamples.Filter>();
            options.OperationFilter<ErrorResponses>();
            options.OperationFilter<ResponseExamples.Filter>();
            options.DocumentFilter<Health.DocumentFilter>();
        });
        return services;
    }

    /// <summary>A type's short name (<c>ListResponse</c>, not <c>Hub.Api.Lists.ListResponse</c>); a generic one adds its arguments' (<c>ListResponsePage</c>).</summary>
    private static string SchemaId(Type type) => type switch
    {
        _ when type == typeof(ProblemDetails) => "Problem",
        _ when type == typeof(HttpValidationProblemDetails) => "ValidationProblem",
        // The one page whose items are stored JSON rather than a contract: the member events.
        _ when type == typeof(Hub.Core.Storage.Page<JsonElement>) => "MemberEventPage",
        { IsGenericType: true } => string.Concat(type.GetGenericArguments().Select(SchemaId)) + type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)],
        _ => type.Name,
    };

    /// <summary>The scheme an operation's authorization policy demands, or null for an open route.</summary>
    private static string? SchemeOf(OperationFilterContext context)
    {
        var policies = context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<IAuthorizeData>().Select(data => data.Policy).ToList();
        return policies.Contains(HubAuth.AdminPolicy) ? HubAuth.AdminScheme
            : policies.Contains(HubAuth.TenantPolicy) ? HubAuth.TenantScheme
            : null;
    }

    /// <summary>Marks each operation with the scheme its authorization policy demands.</summary>
    private sealed class SecurityRequirementFilter : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            if (SchemeOf(context) is { } scheme)
            {
                operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(scheme, context.Document)] = [] }];
            }
        }
    }

    /// <summary>
    /// The error statuses every route of a kind can give, whatever its handler declares (authentication, rate limit, body
    /// limit, store outage, a resource named in the path), and on every error response the problem schema and what it means.
    /// </summary>
    private sealed class ErrorResponses : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            operation.Responses ??= [];
            var scheme = SchemeOf(context);
            var browser = context.ApiDescription.RelativePath?.StartsWith("oauth2/", StringComparison.Ordinal) == true;
            var parameters = context.ApiDescription.ParameterDescriptions;
            var expected = new List<int> { StatusCodes.Status503ServiceUnavailable };
            if (scheme is not null)
            {
                expected.Add(StatusCodes.Status401Unauthorized);
            }

            if (scheme == HubAuth.TenantScheme)
            {
                expected.AddRange([StatusCodes.Status403Forbidden, StatusCodes.Status429TooManyRequests]);
            }

            if (operation.RequestBody is not null)
            {
                expected.AddRange([StatusCodes.Status400BadRequest, StatusCodes.Status413PayloadTooLarge]);
            }

            if (parameters.Any(parameter => parameter.Source.Id == "Query"))
            {
                expected.Add(StatusCodes.Status400BadRequest);
            }

            if (parameters.Any(parameter => parameter.Source.Id == "Path" && (parameter.Name == "key" || parameter.Name.EndsWith("Id", StringComparison.Ordinal))))
            {
                expected.Add(StatusCodes.Status404NotFound);
            }

            foreach (var status in expected)
            {
                operation.Responses.TryAdd(status.ToString(System.Globalization.CultureInfo.InvariantCulture), new OpenApiResponse());
            }

            foreach (var (code, response) in operation.Responses)
            {
                if (response is not OpenApiResponse concrete || !int.TryParse(code, out var status) || status < 400)
                {
                    continue;
                }

                if (string.IsNullOrEmpty(concrete.Description) || concrete.Description == ReasonPhrases.GetReasonPhrase(status))
                {
                    concrete.Description = Describe(status, scheme);
                }

                if (browser && status != StatusCodes.Status503ServiceUnavailable)
                {
                    concrete.Content = new Dictionary<string, OpenApiMediaType> { ["text/html"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String } } };
                    continue;
                }

                var problem = context.SchemaGenerator.GenerateSchema(
                    status == StatusCodes.Status400BadRequest ? typeof(HttpValidationProblemDetails) : typeof(ProblemDetails), context.SchemaRepository);
                concrete.Content ??= new Dictionary<string, OpenApiMediaType>();
                concrete.Content.Remove("application/json");
                concrete.Content["application/problem+json"] = new OpenApiMediaType { Schema = problem };
                if (browser)
                {
                    concrete.Content["text/html"] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String } };
                }
            }
        }

        private static string Describe(int status, string? scheme) => status switch
        {
            400 => "Invalid request (`validation`, with `errors` keyed by field, or a more specific code); nothing changed.",
            401 when scheme == HubAuth.AdminScheme => "The admin key is missing or wrong (`unauthorized`).",
            401 => "The key is missing, unknown or revoked (`unauthorized`).",
            403 => "Refused: the tenant is disabled (`tenant_disabled`), or the target is not the tenant's to change " +
                "(e.g. `audience_not_managed`, `audience_not_created_by_hub`, `passthrough_write_not_allowed`).",
            404 => "What the path names does not exist for this caller (e.g. `tenant_not_found`, `list_not_found`, `job_not_found`).",
            409 => "Conflicts with the current state (e.g. `not_connected`, `reauthorization_required`, `list_exists`, `job_finished`).",
            413 => "The body is over the endpoint's limit, 1 MiB unless stated (`payload_too_large`); the connection closes.",
            415 => "The body's media type is not one the route reads (`unsupported_media_type`).",
            422 => "Mailchimp refused the request; its detail is kept.",
            429 => "The tenant's request rate is spent (`rate_limited`); retry after `Retry-After` seconds.",
            503 => "Hub's store or Mailchimp cannot be reached (`store_unavailable`, `mailchimp_unavailable`); retry after `Retry-After` seconds.",
            _ => "An error (problem+json).",
        };
    }

    /// <summary>Descriptions for the framework's problem records, and the members Hub adds to every problem.</summary>
    private sealed class ProblemSchemas : ISchemaFilter
    {
        public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
        {
            if (!typeof(ProblemDetails).IsAssignableFrom(context.Type) || schema is not OpenApiSchema concrete || concrete.Properties is null)
            {
                return;
            }

            concrete.Description = context.Type == typeof(ProblemDetails)
                ? "An error (RFC 9457 problem details). Branch on `type`; `title` and `detail` are for people."
                : "Invalid input: a problem whose `errors` names each field at fault.";
            Describe(concrete, "type", "Stable problem type: `urn:hub:problem:` followed by a code, e.g. `urn:hub:problem:validation`.");
            Describe(concrete, "title", "Short summary of the problem type.");
            Describe(concrete, "status", "The HTTP status code.");
            Describe(concrete, "detail", "What went wrong in this occurrence, for people.");
            Describe(concrete, "instance", "The route of the request (with a secret or an address in the path, the route's pattern).");
            Describe(concrete, "errors", "Field (JSON path, e.g. `email` or `add[2].mergeFields.BIRTHDAY`) to its messages.");
            concrete.Properties["traceId"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The request's trace id, to find it in Hub's logs and traces." };
            if (context.Type == typeof(ProblemDetails))
            {
                concrete.Properties["mailchimpStatus"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.Integer | JsonSchemaType.Null,
                    Description = "The status Mailchimp answered, when the problem is Mailchimp's refusal.",
                };
            }
        }

        private static void Describe(OpenApiSchema schema, string property, string description)
        {
            if (schema.Properties!.TryGetValue(property, out var member) && member is OpenApiSchema concrete)
            {
                concrete.Description = description;
            }
        }
    }
}
