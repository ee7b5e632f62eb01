using Hub.Core.Members;
using Hub.Core.Storage;
using Hub.Core.Sync;
using Hub.Core.Tenants;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Hub.Core.Jobs;

public static class JobsServiceCollectionExtensions
{
    /// <summary>
    /// Background jobs and the sync building blocks: <c>Hub:Jobs</c> options (validated on start), the job
    /// store and worker, the desired-set reader, planner and ledger. Handlers register as
    /// <see cref="IJobHandler"/>, completion hooks as <see cref="IJobCompletionListener"/>.
    /// </summary>
    public static IServiceCollection AddHubJobs(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<JobsOptions>().BindConfiguration(JobsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<JobsOptions>, JobsOptionsValidator>();
        services.AddSingleton<JobStore>();
        services.AddSingleton<ITenantDataOwner>(sp => sp.GetRequiredService<JobStore>());
        services.AddSingleton<MemberLedger>();
        services.AddSingleton<ITenantDataOwner>(sp => sp.GetRequiredService<MemberLedger>());
        services.TryAddSingleton<StoreEpoch>();
        services.AddSingleton<SyncPlanner>();
        services.AddSingleton<DesiredSetReader>();
        services.AddHostedService<JobWorker>();
        return services;
    }
}
