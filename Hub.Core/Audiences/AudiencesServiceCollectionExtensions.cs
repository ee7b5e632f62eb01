using Microsoft.Extensions.DependencyInjection;

namespace Hub.Core.Audiences;

public static class AudiencesServiceCollectionExtensions
{
    /// <summary>Managed audiences: the checks in front of every facade call and the audience service.</summary>
    public static IServiceCollection AddHubAudiences(this IServiceCollection services)
    {
        services.AddSingleton<TenantMailchimp>();
        services.AddSingleton<AudienceService>();
        return services;
    }
}
