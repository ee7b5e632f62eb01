using Hub.Core.Lists;
using Hub.Core.Tenants;
using Microsoft.Extensions.DependencyInjection;

namespace Hub.Core.Members;

public static class MembersServiceCollectionExtensions
{
    /// <summary>Member writes: list targets, the ledger of what Hub wrote, the people erased, removals and the facade's member service.</summary>
    public static IServiceCollection AddHubMembers(this IServiceCollection services)
    {
        services.AddSingleton<MemberLedger>();
        services.AddSingleton<ITenantDataOwner>(sp => sp.GetRequiredService<MemberLedger>());
        services.AddSingleton<ErasedPeople>();
        services.AddSingleton<ITenantDataOwner>(sp => sp.GetRequiredService<ErasedPeople>());
        services.AddSingleton<ListTargets>();
        services.AddSingleton<MemberRemoval>();
        services.AddSingleton<MemberRenamer>();
        services.AddSingleton<MemberService>();
        services.AddSingleton<IListMembers, ListMembers>();
        return services;
    }
}
