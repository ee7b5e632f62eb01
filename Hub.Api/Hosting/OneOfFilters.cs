using System.Reflection;
using System.Text.Json.Nodes;
using Hub.Core.Storage;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Hub.Api.Hosting;

/// <summary>Lists a <see cref="OneOfAttribute"/>'s values as the <c>enum</c> of the schema or parameter that carries it.</summary>
internal static class OneOfFilters
{
    /// <summary>A property, or the positional record parameter that declared it.</summary>
    internal sealed class Schema : ISchemaFilter
    {
        public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
        {
            if (schema is OpenApiSchema concrete && context.MemberInfo is PropertyInfo property && Find(property) is { } oneOf)
            {
                concrete.Enum = Values(oneOf);
            }
        }

        private static OneOfAttribute? Find(PropertyInfo property) =>
            property.GetCustomAttribute<OneOfAttribute>()
            ?? property.DeclaringType?.GetConstructors().SelectMany(constructor => constructor.GetParameters())
                .FirstOrDefault(parameter => parameter.Name == property.Name)?.GetCustomAttribute<OneOfAttribute>();
    }

    /// <summary>A handler's query parameter.</summary>
    internal sealed class Parameter : IParameterFilter
    {
        public void Apply(IOpenApiParameter parameter, ParameterFilterContext context)
        {
            if (context.ParameterInfo?.GetCustomAttribute<OneOfAttribute>() is { } oneOf && parameter.Schema is OpenApiSchema schema)
            {
                schema.Enum = Values(oneOf);
            }
        }
    }

    private static List<JsonNode> Values(OneOfAttribute oneOf) => [.. oneOf.Values.Select(value => (JsonNode)JsonValue.Create(value))];
}
