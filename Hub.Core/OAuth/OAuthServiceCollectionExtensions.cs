using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Hub.Core.OAuth;

public static class OAuthServiceCollectionExtensions
{
    /// <summary>The Mailchimp OAuth consent: <c>Hub:OAuth</c> options, consent sessions, the token client and the handshake.</summary>
    public static IServiceCollection AddHubOAuth(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<OAuthOptions>().BindConfiguration(OAuthOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ConsentStore>();
        services.AddSingleton<MailchimpOAuthClient>();
        services.AddSingleton<ConsentHandshake>();
        return services;
    }
}
