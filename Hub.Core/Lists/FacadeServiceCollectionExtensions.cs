using Hub.Core.Audiences;
using Hub.Core.Mailchimp;
using Hub.Core.Members;
using Hub.Core.Tenants;
using Microsoft.Extensions.DependencyInjection;

namespace Hub.Core.Lists;

public static class FacadeServiceCollectionExtensions
{
    /// <summary>Audiences, lists, members and the passthrough rules on top of the Mailchimp client and the connections.</summary>
    public static IServiceCollection AddHubFacade(this IServiceCollection services)
    {
        services.AddSingleton<TenantMailchimp>();
        services.AddSingleton<AudienceService>();
        services.AddSingleton<ListStore>();
        services.AddSingleton<ITenantDataOwner>(sp => sp.GetRequiredService<ListStore>());
        services.AddSingleton<ListService>();
        services.AddSingleton<MemberService>();
        services.AddSingleton<PassthroughRules>();
        services.AddSingleton<Sync.SyncService>();
        services.AddSingleton<Jobs.IJobHandler, Sync.MailchimpSyncHandler>();
        services.AddSingleton<Jobs.IJobCompletionListener, Sync.SyncCompletionListener>();
        return services;
    }
}
