using Hub.Core.Jobs;
using Microsoft.Extensions.DependencyInjection;

namespace Hub.Core.Sync;

public static class SyncServiceCollectionExtensions
{
    /// <summary>Full syncs and large batches as jobs: the desired-set reader, the planner, the enqueuer, the job handler and its completion webhook.</summary>
    public static IServiceCollection AddHubSync(this IServiceCollection services)
    {
        services.AddSingleton<DesiredSetReader>();
        services.AddSingleton<SyncPlanner>();
        services.AddSingleton<SyncRenames>();
        services.AddSingleton<SyncService>();
        services.AddSingleton<IJobHandler, SyncJobHandler>();
        services.AddSingleton<IJobCompletionListener, SyncCompletionListener>();
        return services;
    }
}
