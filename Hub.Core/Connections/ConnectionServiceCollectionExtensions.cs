using Hub.Core.Mailchimp;
using Hub.Core.OAuth;
using Hub.Core.Tenants;
using Hub.Core.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Hub.Core.Connections;

public static class ConnectionServiceCollectionExtensions
{
    /// <summary>Mailchimp connections (OAuth consent and API keys), managed audiences and signed webhooks.</summary>
    public static IServiceCollection AddHubConnections(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<OAuthOptions>().BindConfiguration(OAuthOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IPostConfigureOptions<WebhookOptions>, WebhookDefaults>();

        services.AddHttpClient(MailchimpAccountClient.HttpClientName, (sp, client) => client.Timeout = sp.GetRequiredService<IOptions<MailchimpOptions>>().Value.Timeout)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
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

        services.AddMailchimpClient();
        services.AddSingleton<MailchimpAccountClient>();
        services.AddSingleton<ConnectionService>();
        services.AddSingleton<ITenantDataOwner>(sp => sp.GetRequiredService<ConnectionService>());
        services.AddSingleton<ConsentStore>();
        services.AddSingleton<MailchimpOAuthClient>();
        services.AddSingleton<ConsentHandshake>();
        services.AddSingleton<IMailchimpAuthFailureHandler, ConnectionAuthFailureHandler>();

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

/// <summary>A Mailchimp 401 on a tenant's credential flips its connection to <c>reauthorization_required</c> (and sends <c>connection.revoked</c> once).</summary>
internal sealed class ConnectionAuthFailureHandler(IServiceProvider services) : IMailchimpAuthFailureHandler
{
    // Resolved lazily: ConnectionService itself depends on the Mailchimp client's neighbours.
    public Task OnUnauthorizedAsync(MailchimpCredential credential, CancellationToken cancellationToken) =>
        credential.Tenant is { } tenant
            ? services.GetRequiredService<ConnectionService>().MarkReauthorizationRequiredAsync(tenant, cancellationToken)
            : Task.CompletedTask;
}
