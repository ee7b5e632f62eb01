using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Hub.Sandbox;

public static class SandboxServiceCollectionExtensions
{
    /// <summary>Registers the sandbox state (a singleton) and its options.</summary>
    public static IServiceCollection AddMailchimpSandbox(this IServiceCollection services, Action<SandboxOptions>? configure = null)
    {
        var options = services.AddOptions<SandboxOptions>();
        if (configure is not null) options.Configure(configure);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SandboxState>();
        return services;
    }
}

public static class SandboxEndpoints
{
    /// <summary>
    /// Maps OAuth (<c>/oauth2/*</c>), the marketing API (<c>/{dc}/3.0/*</c>) and the control API
    /// (<c>/_control/*</c>) under <paramref name="prefix"/>, e.g. "/sandbox" inside Hub.Api or "" standalone.
    /// </summary>
    public static IEndpointRouteBuilder MapMailchimpSandbox(this IEndpointRouteBuilder app, string prefix = "")
    {
        prefix = prefix.TrimEnd('/');
        var sandbox = app.MapGroup(prefix).ExcludeFromDescription().WithMetadata(SandboxEndpoint.Instance);
        sandbox.MapSandboxOAuth(prefix);
        sandbox.MapMarketingApi();
        sandbox.MapSandboxControl();
        sandbox.MapUnmatched();
        return app;
    }

    /// <summary>
    /// A catch-all under <paramref name="group"/> that answers like Mailchimp: 405 "Method Not Allowed" (with
    /// <c>Allow</c>) when another method of a sandbox route matches the path, else 404 "Resource Not Found".
    /// Without it the host's own 404/405 would answer (inside Hub.Api, with a Hub problem type).
    /// </summary>
    internal static void MapUnmatched(this IEndpointRouteBuilder group) =>
        group.Map("/{**unmatched}", Unmatched).WithMetadata(UnmatchedRoute.Instance);

    private static IResult Unmatched(HttpContext http)
    {
        var endpoints = http.RequestServices.GetRequiredService<EndpointDataSource>().Endpoints;
        var allowed = endpoints.OfType<RouteEndpoint>()
            .Where(endpoint => endpoint.Metadata.GetMetadata<SandboxEndpoint>() is not null && endpoint.Metadata.GetMetadata<UnmatchedRoute>() is null)
            .Where(endpoint => new TemplateMatcher(new RouteTemplate(endpoint.RoutePattern), []).TryMatch(http.Request.Path, []))
            .SelectMany(endpoint => endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [])
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();
        if (allowed.Count == 0) return SandboxJson.NotFound();
        http.Response.Headers.Allow = string.Join(", ", allowed);
        return SandboxJson.Problem(405, "Method Not Allowed", "The requested method and resource are not compatible. See the Allow header for this resource's available methods.");
    }

    /// <summary>Marks every endpoint the sandbox maps, so the catch-all looks only at the sandbox's own routes.</summary>
    private sealed class SandboxEndpoint
    {
        public static readonly SandboxEndpoint Instance = new();
    }

    private sealed class UnmatchedRoute
    {
        public static readonly UnmatchedRoute Instance = new();
    }
}
