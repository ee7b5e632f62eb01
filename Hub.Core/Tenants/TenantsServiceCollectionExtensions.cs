using Microsoft.Extensions.DependencyInjection;

namespace Hub.Core.Tenants;

public static class TenantsServiceCollectionExtensions
{
    /// <summary>Tenants and their API keys (with the key cache); needs <c>AddHubSecurity</c> for their secrets.</summary>
    public static IServiceCollection AddHubTenants(this IServiceCollection services)
    {
        services.AddOptions<TenantKeyOptions>().BindConfiguration(TenantKeyOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<TenantKeyCache>();
        services.AddSingleton<TenantStore>();
        return services;
    }
}
