using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace Hub.Api.Hosting;

/// <summary>
/// The reverse proxies whose <c>X-Forwarded-Proto</c> and <c>X-Forwarded-For</c> Hub believes. Bound from
/// <c>Hub:ForwardedHeaders</c>. With neither list set, ASP.NET Core's default applies: only a proxy on
/// loopback (127.0.0.0/8, ::1) is believed. Setting either list replaces that default, so exactly the
/// listed proxies are believed (list loopback too if a proxy runs beside Hub).
/// </summary>
public sealed class ForwardedHeadersSettings
{
    public const string SectionName = "Hub:ForwardedHeaders";

    /// <summary>Addresses of trusted proxies, e.g. <c>10.0.0.5</c>.</summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>Address ranges of trusted proxies in CIDR notation, e.g. <c>10.0.0.0/8</c>.</summary>
    public List<string> KnownNetworks { get; set; } = [];
}

public static class ForwardedHeadersSetup
{
    /// <summary>
    /// Behind a TLS-terminating proxy the request reaches Hub over http; a trusted proxy's
    /// <c>X-Forwarded-Proto: https</c> makes Hub see https again (so the consent cookie is <c>Secure</c>)
    /// and its <c>X-Forwarded-For</c> names the client. Headers from anyone else are ignored.
    /// </summary>
    public static IServiceCollection AddHubForwardedHeaders(this IServiceCollection services)
    {
        services.AddOptions<ForwardedHeadersSettings>()
            .BindConfiguration(ForwardedHeadersSettings.SectionName)
            .Validate(settings => settings.KnownProxies.All(proxy => IPAddress.TryParse(proxy, out _)),
                "Hub:ForwardedHeaders:KnownProxies must list IP addresses, e.g. 10.0.0.5.")
            .Validate(settings => settings.KnownNetworks.All(network => System.Net.IPNetwork.TryParse(network, out _)),
                "Hub:ForwardedHeaders:KnownNetworks must list address ranges in CIDR notation, e.g. 10.0.0.0/8.")
            .ValidateOnStart();

        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<ForwardedHeadersSettings>>((options, settings) =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            var trusted = settings.Value;
            if (trusted.KnownProxies.Count == 0 && trusted.KnownNetworks.Count == 0)
            {
                return;
            }

            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
            foreach (var proxy in trusted.KnownProxies)
            {
                options.KnownProxies.Add(IPAddress.Parse(proxy));
            }

            foreach (var network in trusted.KnownNetworks)
            {
                options.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            }
        });
        return services;
    }
}
