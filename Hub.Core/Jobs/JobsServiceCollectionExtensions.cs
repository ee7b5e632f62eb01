using Hub.Core.Storage;
using Hub.Core.Tenants;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Hub.Core.Jobs;

public static class JobsServiceCollectionExtensions
{
    /// <summary>
    /// Background jobs: <c>Hub:Jobs</c> options (validated on start), the job store and the worker. Handlers register as
    /// <see cref="IJobHandler"/>, completion hooks as <see cref="IJobCompletionListener"/>.
    /// </summary>
    public static IServiceCollection AddHubJobs(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<StoreLayout>();
        services.AddOptions<JobsOptions>().BindConfiguration(JobsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<JobsOptions>, JobsOptionsValidator>();
        services.AddSingleton<JobStore>();
        services.AddSingleton<ITenantDataOwner>(sp => sp.GetRequiredService<JobStore>());
        services.TryAddSingleton<StoreEpoch>();
        services.AddHostedService<JobWorker>();
        return services;
    }
}
