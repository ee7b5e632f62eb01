using Hub.Core.Storage;
using Hub.Core.Tenants;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Hub.Core.Webhooks;

public static class WebhooksServiceCollectionExtensions
{
    /// <summary>Signed webhooks to tenants: <c>Hub:Webhooks</c> options, the delivery queue, the publisher and the delivery service.</summary>
    public static IServiceCollection AddHubWebhooks(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<StoreLayout>();
        services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IPostConfigureOptions<WebhookOptions>, WebhookDefaults>();
        services.AddHttpClient(WebhookDeliveryService.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
            {
                // Never follow a redirect: it could lead to an address the target rules refuse.
                AllowAutoRedirect = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ConnectCallback = sp.GetRequiredService<IOptions<WebhookOptions>>().Value.AllowPrivateTargets == true
                    ? null
                    : WebhookDeliveryService.ConnectToPublicAddressAsync,
            });
        services.AddSingleton<WebhookStore>();
        services.AddSingleton<ITenantDataOwner>(sp => sp.GetRequiredService<WebhookStore>());
        services.AddSingleton<IWebhookPublisher, WebhookPublisher>();
        services.AddHostedService<WebhookDeliveryService>();
        return services;
    }

    /// <summary>Private webhook targets are allowed by default only in Development.</summary>
    private sealed class WebhookDefaults(IHostEnvironment environment) : IPostConfigureOptions<WebhookOptions>
    {
        public void PostConfigure(string? name, WebhookOptions options) => options.AllowPrivateTargets ??= environment.IsDevelopment();
    }
}
