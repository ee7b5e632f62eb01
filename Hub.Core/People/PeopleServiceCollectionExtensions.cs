using Hub.Core.Jobs;
using Microsoft.Extensions.DependencyInjection;

namespace Hub.Core.People;

public static class PeopleServiceCollectionExtensions
{
    /// <summary>A person's rights: finding everything held about an address, and erasing it as a job with its completion webhook.</summary>
    public static IServiceCollection AddHubPeople(this IServiceCollection services)
    {
        services.AddSingleton<PersonRecords>();
        services.AddSingleton<PersonFinder>();
        services.AddSingleton<ErasureService>();
        services.AddSingleton<IJobHandler, ErasureJobHandler>();
        services.AddSingleton<IJobCompletionListener, ErasureCompletionListener>();
        return services;
    }
}
