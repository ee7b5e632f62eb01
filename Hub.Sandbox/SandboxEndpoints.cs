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
        var sandbox = app.MapGroup(prefix).ExcludeFromDescription();
        sandbox.MapSandboxOAuth(prefix);
        sandbox.MapMarketingApi();
        sandbox.MapSandboxControl();
        return app;
    }
}
