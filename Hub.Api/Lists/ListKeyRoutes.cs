using System.Reflection;
using Hub.Api.Hosting;
using Hub.Core.Lists;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Hub.Api.Lists;

/// <summary>
/// The <c>{key}</c> of a list route binds as a <see cref="ListKey"/>. Minimal APIs answer a value that
/// <see cref="ListKey.TryParse(string?, out ListKey)"/> refuses with a generic binding failure; these routes
/// answer it as a list key has always been refused: 400 validation, <c>errors.key</c> = <see cref="ListKey.Rule"/>.
/// </summary>
internal static class ListKeyRoutes
{
    /// <summary>Applies to every endpoint (of the group) whose pattern has a <c>{key}</c>; its handler takes <c>ListKey key</c> first.</summary>
    public static TBuilder WithListKeyRoutes<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(endpoint =>
        {
            if (endpoint is not RouteEndpointBuilder { RoutePattern: var pattern } || pattern.GetParameter("key") is null)
            {
                return;
            }

            // The key is bound before any other parameter is checked (only the request body is read before it),
            // so a plain binding failure while the key is invalid is the key's own.
            var handler = endpoint.Metadata.OfType<MethodInfo>().FirstOrDefault();
            if (handler?.GetParameters() is not [{ Name: "key" } first, ..] || first.ParameterType != typeof(ListKey))
            {
                throw new InvalidOperationException($"{endpoint.DisplayName}: a list route's handler takes 'ListKey key' as its first parameter.");
            }

            var next = endpoint.RequestDelegate!;
            endpoint.RequestDelegate = async context =>
            {
                try
                {
                    await next(context);
                }
                catch (BadHttpRequestException exception) when (IsKeyBindingFailure(exception, context))
                {
                    await InvalidKey().ExecuteAsync(context);
                }
            };
        });
        return builder;
    }

    public static ValidationProblem InvalidKey() => Problems.Validation(new Dictionary<string, string[]> { ["key"] = [ListKey.Rule] });

    /// <summary>
    /// The binder's own exception (Kestrel's subclass is a malformed request), 400 with no inner exception (a
    /// malformed JSON body carries its JsonException), while the route's key is one ListKey refuses.
    /// </summary>
    private static bool IsKeyBindingFailure(BadHttpRequestException exception, HttpContext context) =>
        exception.GetType() == typeof(BadHttpRequestException)
        && exception is { StatusCode: StatusCodes.Status400BadRequest, InnerException: null }
        && !context.Response.HasStarted
        && !ListKey.TryParse(context.Request.RouteValues["key"] as string, out _);
}
