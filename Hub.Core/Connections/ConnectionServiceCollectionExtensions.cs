using Hub.Core.Mailchimp;
using Hub.Core.Tenants;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Hub.Core.Connections;

public static class ConnectionServiceCollectionExtensions
{
    /// <summary>Mailchimp connections (API keys, OAuth tokens, managed audiences) and what a 401 does to them; needs <c>AddHubMailchimp</c>.</summary>
    public static IServiceCollection AddHubConnections(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpClient(MailchimpAccountClient.HttpClientName, (sp, client) => client.Timeout = sp.GetRequiredService<IOptions<MailchimpOptions>>().Value.Timeout)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        services.AddSingleton<MailchimpAccountClient>();
        services.AddSingleton<ConnectionService>();
        services.AddSingleton<ITenantDataOwner>(sp => sp.GetRequiredService<ConnectionService>());
        services.AddSingleton<IMailchimpAuthFailureHandler, ConnectionAuthFailureHandler>();
        return services;
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
