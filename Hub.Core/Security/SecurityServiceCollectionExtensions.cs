using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Hub.Core.Security;

public static class SecurityServiceCollectionExtensions
{
    /// <summary>Secret encryption (keys, the protector, tenants' encrypted secrets) and the admin key.</summary>
    public static IServiceCollection AddHubSecurity(this IServiceCollection services)
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
        return services;
    }
}
