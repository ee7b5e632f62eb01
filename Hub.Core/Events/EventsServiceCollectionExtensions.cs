using Hub.Core.Storage;
using Hub.Core.Tenants;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Hub.Core.Events;

public static class EventsServiceCollectionExtensions
{
    /// <summary>
    /// Events from Mailchimp back to the host: <c>Hub:Events</c> options, the list webhooks kept on managed audiences, the
    /// inbox the receiver writes to, the member event log, and the services that register webhooks and process events.
    /// </summary>
    public static IServiceCollection AddHubEvents(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<StoreLayout>();
        services.AddOptions<EventsOptions>().BindConfiguration(EventsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<AudienceHookStore>();
        services.AddSingleton<ITenantDataOwner>(sp => sp.GetRequiredService<AudienceHookStore>());
        services.AddSingleton<AudienceHooks>();
        services.AddSingleton<EventInbox>();
        services.AddSingleton<MemberEventLog>();
        services.AddSingleton<ITenantDataOwner>(sp => sp.GetRequiredService<MemberEventLog>());
        services.AddHostedService<AudienceHookService>();
        services.AddHostedService<MailchimpEventProcessor>();
        return services;
    }
}
