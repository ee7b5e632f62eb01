using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Hub.Api.Hosting;

/// <summary>An example request body for an endpoint, shown in Swagger.</summary>
public sealed record RequestExample(JsonNode Body);

public static class RequestExamples
{
    /// <summary>Attaches <paramref name="example"/> (serialized in camelCase) as the endpoint's example request body.</summary>
    public static TBuilder WithRequestExample<TBuilder>(this TBuilder builder, object example) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequestExample(JsonSerializer.SerializeToNode(example, JsonSerializerOptions.Web)!));

    /// <summary>Copies an endpoint's <see cref="RequestExample"/> into its request body (adding a JSON body where the handler reads it raw).</summary>
    internal sealed class Filter : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            if (context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<RequestExample>().LastOrDefault() is not { } example)
            {
                return;
            }

            if (operation.RequestBody is null && context.ApiDescription.HttpMethod is "GET" or "HEAD" or "DELETE")
            {
                return;
            }

            operation.RequestBody ??= new OpenApiRequestBody { Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() } };
            foreach (var media in operation.RequestBody.Content?.Values ?? [])
            {
                media.Example = example.Body.DeepClone();
            }
        }
    }
}
