using Hub.Core.Tenants;
using Microsoft.Extensions.DependencyInjection;

namespace Hub.Core.Lists;

public static class ListsServiceCollectionExtensions
{
    /// <summary>Host lists: their store and the link, update and unlink service (its members side comes from <c>AddHubMembers</c>).</summary>
    public static IServiceCollection AddHubLists(this IServiceCollection services)
    {
        services.AddSingleton<ListStore>();
        services.AddSingleton<ITenantDataOwner>(sp => sp.GetRequiredService<ListStore>());
        services.AddSingleton<ListFieldProvisioner>();
        services.AddSingleton<ListService>();
        return services;
    }
}
