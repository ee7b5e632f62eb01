using Hub.Core.Tenants;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Hub.Core.Security;

public static class SecurityServiceCollectionExtensions
{
    /// <summary>Secret encryption, the admin key, tenants and tenant API keys.</summary>
    public static IServiceCollection AddHubTenants(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<DevelopmentKeys>();
        services.AddSingleton<IPostConfigureOptions<EncryptionOptions>>(sp => sp.GetRequiredService<DevelopmentKeys>());
        services.AddSingleton<IPostConfigureOptions<AdminOptions>>(sp => sp.GetRequiredService<DevelopmentKeys>());
        services.AddOptions<EncryptionOptions>().BindConfiguration(EncryptionOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<EncryptionOptions>, EncryptionOptionsValidator>();
        services.AddOptions<AdminOptions>().BindConfiguration(AdminOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AdminOptions>, AdminOptionsValidator>();
        services.AddSingleton<SecretProtector>();
        services.AddSingleton<TenantSecrets>();
        services.AddOptions<TenantKeyOptions>().BindConfiguration(TenantKeyOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<TenantKeyCache>();
        services.AddSingleton<TenantStore>();
        return services;
    }
}
